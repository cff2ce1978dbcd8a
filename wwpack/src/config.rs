//! `wwpack.toml`: the layers and images of a project.
//!
//! ```toml
//! [guests]
//! workspace = "guests"            # the cargo workspace of the guests (default "guests")
//!
//! [layers.base]
//! path = "layers/base"            # static files (etc/, boot/, ...)
//!
//! [layers.hello]
//! install = { "bin/main.wasm" = "hello" }   # destination path -> guest package
//!
//! [images.default]
//! layers = ["base", "hello"]      # later layers win per file
//! profile = "unixfs-v1-2025"      # CID profile (the default)
//! ```
//!
//! Every path in the file is relative to the directory that holds it. Unknown keys are errors,
//! so that a typo never silently changes an image.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use ww_content::tree::RelPath;
use ww_content::unixfs::Profile;

/// The file name `wwpack` looks for in the current directory and its ancestors.
pub const FILE_NAME: &str = "wwpack.toml";

/// A parsed, validated `wwpack.toml`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The directory that holds `wwpack.toml`; every relative path is resolved against it.
    pub root: PathBuf,
    /// The cargo workspace of the guests, absolute.
    pub guests_workspace: PathBuf,
    /// Layers by name.
    pub layers: BTreeMap<String, Layer>,
    /// Images by name.
    pub images: BTreeMap<String, Image>,
}

/// A layer: static files from a directory plus guest artifacts installed at paths in it.
#[derive(Debug, Clone)]
pub struct Layer {
    pub name: String,
    /// Static files, absolute; `None` for a layer made only of guest artifacts.
    pub path: Option<PathBuf>,
    /// Destination path inside the layer -> guest package name.
    pub install: BTreeMap<RelPath, String>,
}

/// An image: an ordered list of layer names; a later layer wins per file.
#[derive(Debug, Clone)]
pub struct Image {
    pub name: String,
    pub layers: Vec<String>,
    /// The CID profile of the image's files, layers and root.
    pub profile: Profile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    guests: RawGuests,
    #[serde(default)]
    layers: BTreeMap<String, RawLayer>,
    #[serde(default)]
    images: BTreeMap<String, RawImage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGuests {
    #[serde(default = "default_guests_workspace")]
    workspace: PathBuf,
}

impl Default for RawGuests {
    fn default() -> Self {
        RawGuests {
            workspace: default_guests_workspace(),
        }
    }
}

fn default_guests_workspace() -> PathBuf {
    PathBuf::from("guests")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayer {
    path: Option<PathBuf>,
    #[serde(default)]
    install: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImage {
    layers: Vec<String>,
    profile: Option<String>,
}

impl Config {
    /// Finds `wwpack.toml` in `start` or its nearest ancestor and loads it.
    pub fn discover(start: &Path) -> Result<Config> {
        let mut dir = Some(start);
        while let Some(d) = dir {
            let candidate = d.join(FILE_NAME);
            if candidate.is_file() {
                return Config::load(&candidate);
            }
            dir = d.parent();
        }
        Err(Error::ConfigNotFound {
            start: start.to_path_buf(),
        })
    }

    /// Loads and validates the given `wwpack.toml`.
    pub fn load(file: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(file).map_err(Error::io("read", file))?;
        let root = file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let root = if root.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            root
        };
        Config::parse(&text, file, &root)
    }

    /// Parses the text of a `wwpack.toml` that lives in `root` (named `file` in errors).
    pub fn parse(text: &str, file: &Path, root: &Path) -> Result<Config> {
        let bad = |message: String| Error::Config {
            file: file.to_path_buf(),
            message,
        };
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| bad(e.to_string().trim_end().to_string()))?;

        let mut layers = BTreeMap::new();
        for (name, raw_layer) in raw.layers {
            check_name("layer", &name).map_err(&bad)?;
            if raw_layer.path.is_none() && raw_layer.install.is_empty() {
                return Err(bad(format!(
                    "layer `{name}` is empty: give it a `path` of static files, an `install` table, or both"
                )));
            }
            let mut install = BTreeMap::new();
            for (dest, guest) in raw_layer.install {
                let rel = RelPath::new(&dest)
                    .map_err(|rule| bad(format!("layer `{name}`: install path `{dest}` {rule}")))?;
                install.insert(rel, guest);
            }
            let path = raw_layer.path.map(|p| root.join(p));
            layers.insert(
                name.clone(),
                Layer {
                    name,
                    path,
                    install,
                },
            );
        }

        let mut images = BTreeMap::new();
        for (name, raw_image) in raw.images {
            check_name("image", &name).map_err(&bad)?;
            if raw_image.layers.is_empty() {
                return Err(bad(format!("image `{name}` has no layers")));
            }
            for (i, layer) in raw_image.layers.iter().enumerate() {
                if !layers.contains_key(layer) {
                    return Err(bad(format!(
                        "image `{name}` names layer `{layer}`, which no [layers.{layer}] table declares"
                    )));
                }
                if raw_image.layers[..i].contains(layer) {
                    return Err(bad(format!("image `{name}` lists layer `{layer}` twice")));
                }
            }
            let profile = match &raw_image.profile {
                Some(p) => p.parse().map_err(|e| bad(format!("image `{name}`: {e}")))?,
                None => Profile::default(),
            };
            images.insert(
                name.clone(),
                Image {
                    name,
                    layers: raw_image.layers,
                    profile,
                },
            );
        }
        if images.is_empty() {
            return Err(bad("declares no [images.<name>] table".into()));
        }

        Ok(Config {
            root: root.to_path_buf(),
            guests_workspace: root.join(raw.guests.workspace),
            layers,
            images,
        })
    }

    /// The image called `name`, or an error listing the images there are.
    pub fn image(&self, name: &str) -> Result<&Image> {
        self.images.get(name).ok_or_else(|| Error::UnknownImage {
            name: name.to_string(),
            known: self.images.keys().cloned().collect(),
        })
    }

    /// The layers of `image`, in order.
    pub fn layers_of<'a>(&'a self, image: &Image) -> impl Iterator<Item = &'a Layer> + 'a {
        let names = image.layers.clone();
        names.into_iter().map(move |n| &self.layers[&n])
    }
}

/// Names of layers and images become directory names: keep them to a portable alphabet.
fn check_name(kind: &str, name: &str) -> std::result::Result<(), String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{kind} name `{name}` must be non-empty, use only ASCII letters, digits, `-`, `_` and `.`, and not start with `.`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(text, Path::new("wwpack.toml"), Path::new("/p"))
    }

    #[test]
    fn parses_layers_and_images_in_order() {
        let c = parse(
            r#"
            [layers.base]
            path = "layers/base"
            [layers.app]
            install = { "bin/main.wasm" = "hello" }
            [images.default]
            layers = ["base", "app"]
            "#,
        )
        .unwrap();
        assert_eq!(c.guests_workspace, Path::new("/p/guests"));
        assert_eq!(
            c.layers["base"].path.as_deref(),
            Some(Path::new("/p/layers/base"))
        );
        assert_eq!(
            c.layers["app"].install[&RelPath::new("bin/main.wasm").unwrap()],
            "hello"
        );
        assert_eq!(c.images["default"].layers, ["base", "app"]);
        assert_eq!(c.images["default"].profile, Profile::default());
    }

    #[test]
    fn rejects_unknown_layer_duplicate_layer_and_typos() {
        let unknown = parse("[images.x]\nlayers = [\"nope\"]").unwrap_err();
        assert!(unknown.to_string().contains("layer `nope`"), "{unknown}");
        let twice =
            parse("[layers.a]\npath = \"a\"\n[images.x]\nlayers = [\"a\", \"a\"]").unwrap_err();
        assert!(twice.to_string().contains("twice"), "{twice}");
        let typo = parse("[layers.a]\npaht = \"a\"\n[images.x]\nlayers = [\"a\"]").unwrap_err();
        assert!(typo.to_string().contains("paht"), "{typo}");
    }

    #[test]
    fn rejects_install_paths_that_escape_the_layer() {
        for dest in ["../x", "/bin/main.wasm", "bin/../../x", ""] {
            let text = format!(
                "[layers.a]\ninstall = {{ \"{dest}\" = \"g\" }}\n[images.x]\nlayers = [\"a\"]"
            );
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains("install path"), "{dest}: {err}");
        }
    }

    #[test]
    fn per_image_profiles() {
        let text =
            "[layers.a]\npath = \"a\"\n[images.x]\nlayers = [\"a\"]\nprofile = \"unixfs-v0-2015\"";
        assert_eq!(
            parse(text).unwrap().images["x"].profile.name,
            "unixfs-v0-2015"
        );
        let err = parse(&text.replace("unixfs-v0-2015", "v9"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown profile `v9`"), "{err}");
    }

    #[test]
    fn rejects_bad_names_and_empty_things() {
        assert!(parse("[layers.\"a/b\"]\npath = \"a\"\n[images.x]\nlayers = [\"a/b\"]").is_err());
        assert!(parse("[layers.a]\n[images.x]\nlayers = [\"a\"]").is_err());
        assert!(parse("[layers.a]\npath = \"a\"\n[images.x]\nlayers = []").is_err());
        assert!(parse("[layers.a]\npath = \"a\"").is_err());
    }
}
