//! `wwpack build`: builds the guests the selected images install, then writes each image's
//! union to `<out>/images/<image>/`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::config::Config;
use crate::error::Result;
use crate::guests::Workspace;
use crate::image;
use crate::tree::Entry;

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Images to build; all images of `wwpack.toml` when empty.
    pub images: Vec<String>,
    /// Output directory; `<project>/target/wwpack` when `None`.
    pub out_dir: Option<PathBuf>,
    /// Silence cargo's progress output.
    pub quiet: bool,
}

/// One image written by [`build`].
#[derive(Debug, Clone)]
pub struct BuiltImage {
    pub name: String,
    pub dir: PathBuf,
    pub files: usize,
    pub bytes: u64,
}

/// Builds the images of `config` selected by `opts`.
pub fn build(config: &Config, opts: &BuildOptions) -> Result<Vec<BuiltImage>> {
    let images = if opts.images.is_empty() {
        config.images.values().collect::<Vec<_>>()
    } else {
        opts.images
            .iter()
            .map(|n| config.image(n))
            .collect::<Result<_>>()?
    };

    let workspace = Workspace::load(&config.guests_workspace)?;
    let mut needed = BTreeSet::new();
    for image in &images {
        for layer in config.layers_of(image) {
            for guest in layer.install.values() {
                workspace.check(guest, &format!("layer `{}`", layer.name))?;
                needed.insert(guest.clone());
            }
        }
    }
    let target_dir = config.root.join("target").join("guests");
    let artifacts = workspace.build(&needed, &target_dir, opts.quiet)?;

    let out = opts
        .out_dir
        .clone()
        .unwrap_or_else(|| config.root.join("target").join("wwpack"));
    let mut built = Vec::new();
    for image in images {
        let union = image::union(config, image, &artifacts)?;
        image::check_pid0(&image.name, &union)?;
        let dir = out.join("images").join(&image.name);
        image::write(&union, &dir)?;
        let (mut files, mut bytes) = (0, 0);
        for (path, item) in union.iter() {
            if let Entry::File { .. } = item.entry {
                files += 1;
                bytes += std::fs::metadata(path.under(&dir)).map_or(0, |m| m.len());
            }
        }
        tracing::info!(image = %image.name, dir = %dir.display(), files, bytes, "image written");
        built.push(BuiltImage {
            name: image.name.clone(),
            dir,
            files,
            bytes,
        });
    }
    Ok(built)
}
