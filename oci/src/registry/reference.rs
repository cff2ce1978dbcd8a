//! References to an image in a registry, `REGISTRY/REPOSITORY[:TAG][@DIGEST]`, parsed by the
//! grammar of the OCI distribution spec and of docker's `reference` package: the registry is
//! always named (no implicit `docker.io`), and the tag is `latest` when neither a tag nor a
//! digest is given.

use crate::digest::Digest;

/// The default tag, when a reference names neither a tag nor a digest.
pub const DEFAULT_TAG: &str = "latest";

/// The longest repository name taken (docker's limit for a whole name).
pub const MAX_NAME_BYTES: usize = 255;

/// An image in a registry: `REGISTRY/REPOSITORY[:TAG][@DIGEST]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// `host[:port]`, as written.
    pub registry: String,
    /// The repository: `/`-separated lowercase components.
    pub repository: String,
    /// The tag; [`DEFAULT_TAG`] when the reference names neither a tag nor a digest.
    pub tag: Option<String>,
    /// The digest of the manifest, when the reference pins one.
    pub digest: Option<Digest>,
}

/// A reference that breaks the grammar: which one, and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{reference}` is not an image reference (REGISTRY/REPOSITORY[:TAG][@DIGEST]): {rule}")]
pub struct BadReference {
    pub reference: String,
    pub rule: String,
}

impl Reference {
    /// What the registry's API calls the manifest: the digest when pinned, else the tag.
    pub fn manifest_name(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => DEFAULT_TAG.to_string(),
        }
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Reference {
    type Err = BadReference;

    fn from_str(text: &str) -> Result<Reference, BadReference> {
        let bad = |rule: String| BadReference {
            reference: ww_content::text::printable(text).into_owned(),
            rule,
        };
        let (rest, digest) = match text.split_once('@') {
            Some((rest, d)) => (
                rest,
                Some(d.parse::<Digest>().map_err(|e| bad(e.to_string()))?),
            ),
            None => (text, None),
        };
        let (registry, path) = rest.split_once('/').ok_or_else(|| {
            bad(
                "it names no repository after the registry (e.g. 127.0.0.1:5000/team/app:v1)"
                    .into(),
            )
        })?;
        if !(registry.contains('.') || registry.contains(':') || registry == "localhost") {
            return Err(bad(format!(
                "it starts with `{}`, not a registry: a registry is a host[:port] with a `.` or \
                 a `:` in it, or `localhost` (no registry is implied)",
                ww_content::text::printable(registry)
            )));
        }
        check_registry(registry).map_err(bad)?;
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repo, tag)) => (repo, Some(tag)),
            None => (path, None),
        };
        check_repository(repository).map_err(bad)?;
        if registry.len() + 1 + repository.len() > MAX_NAME_BYTES {
            return Err(bad(format!(
                "the name has more than {MAX_NAME_BYTES} bytes"
            )));
        }
        if let Some(tag) = tag {
            check_tag(tag).map_err(bad)?;
        }
        let tag = match (tag, &digest) {
            (Some(t), _) => Some(t.to_string()),
            (None, Some(_)) => None,
            (None, None) => Some(DEFAULT_TAG.to_string()),
        };
        Ok(Reference {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag,
            digest,
        })
    }
}

/// `host[:port]`: DNS labels (letters, digits, inner `-`) separated by `.`, or an IPv6 address
/// in brackets; a port of digits.
pub fn check_registry(registry: &str) -> Result<(), String> {
    let (host, port) = if let Some(v6) = registry.strip_prefix('[') {
        let (addr, after) = v6.split_once(']').ok_or_else(|| {
            format!(
                "the registry `{}` opens a `[` it does not close",
                p(registry)
            )
        })?;
        if addr.is_empty()
            || !addr
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(format!("`[{}]` is not an IPv6 address", p(addr)));
        }
        match after {
            "" => (None, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return Err(format!("the registry `{}` has text after `]`", p(registry))),
            },
        }
    } else {
        match registry.split_once(':') {
            Some((h, port)) => (Some(h), Some(port)),
            None => (Some(registry), None),
        }
    };
    if let Some(host) = host {
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if !host.split('.').all(label_ok) {
            return Err(format!(
                "the registry host `{}` is not DNS labels of letters, digits and inner `-` \
                 separated by `.`",
                p(host)
            ));
        }
    }
    if let Some(port) = port {
        if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("the registry port `{}` is not a number", p(port)));
        }
    }
    Ok(())
}

/// The repository: components of lowercase letters and digits, joined inside by `.`, `_`,
/// `__` or dashes, separated by `/`.
fn check_repository(repository: &str) -> Result<(), String> {
    if repository.is_empty() {
        return Err("the repository is empty".into());
    }
    for component in repository.split('/') {
        check_component(component).map_err(|rule| {
            format!(
                "the repository component `{}` {rule} (a component is lowercase letters and \
                 digits joined by `.`, `_`, `__` or dashes)",
                p(component)
            )
        })?;
    }
    Ok(())
}

fn check_component(component: &str) -> Result<(), &'static str> {
    let bytes = component.as_bytes();
    if bytes.is_empty() {
        return Err("is empty");
    }
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    while i < bytes.len() {
        // A run of letters and digits...
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return Err(if bytes[i].is_ascii_uppercase() {
                "has an uppercase letter"
            } else if matches!(bytes[i], b'.' | b'_' | b'-') {
                "starts with a separator or has two in a row"
            } else {
                "has a character that is not a letter, digit, `.`, `_` or `-`"
            });
        }
        if i == bytes.len() {
            return Ok(());
        }
        // ...then one separator: `.`, `_`, `__` or dashes, and more letters and digits after.
        let sep = i;
        match bytes[i] {
            b'.' => i += 1,
            b'_' => {
                i += if bytes.get(i + 1) == Some(&b'_') {
                    2
                } else {
                    1
                }
            }
            b'-' => {
                while i < bytes.len() && bytes[i] == b'-' {
                    i += 1;
                }
            }
            b if b.is_ascii_uppercase() => return Err("has an uppercase letter"),
            _ => return Err("has a character that is not a letter, digit, `.`, `_` or `-`"),
        }
        if i == bytes.len() {
            return Err("ends with a separator");
        }
        debug_assert!(i > sep);
    }
    Ok(())
}

/// A tag: a letter, digit or `_`, then up to 127 letters, digits, `_`, `.` or `-`.
fn check_tag(tag: &str) -> Result<(), String> {
    let ok_first = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let ok = |c: char| ok_first(c) || c == '.' || c == '-';
    let mut chars = tag.chars();
    let good = match chars.next() {
        Some(first) => ok_first(first) && chars.all(ok) && tag.len() <= 128,
        None => false,
    };
    if good {
        Ok(())
    } else {
        Err(format!(
            "the tag `{}` is not a letter, digit or `_` followed by at most 127 letters, digits, \
             `_`, `.` or `-`",
            p(tag)
        ))
    }
}

fn p(s: &str) -> std::borrow::Cow<'_, str> {
    ww_content::text::printable(s)
}
