//! Where ww keeps its state by default, by the XDG Base Directory rules: one lookup for the
//! block store, the caches and the node identity.
//!
//! A variable that is unset or empty counts as unset; an `XDG_*_HOME` that is not absolute is
//! ignored, as the specification asks. An override variable (`WW_STORE`, `WW_CACHE`, ...) names
//! the directory itself.

use std::ffi::OsString;
use std::path::PathBuf;

/// The two XDG homes ww uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Home {
    /// `$XDG_DATA_HOME`, else `$HOME/.local/share`: state worth keeping (the store, the identity).
    Data,
    /// `$XDG_CACHE_HOME`, else `$HOME/.cache`: state that can be rebuilt.
    Cache,
}

/// `$override_var` if set, else `<home>/ww/<name>` (`name` may be empty for `<home>/ww`);
/// `None` when neither the override, the XDG variable nor `HOME` is set.
pub fn ww_dir(override_var: Option<&str>, home: Home, name: &str) -> Option<PathBuf> {
    ww_dir_from(|k| std::env::var_os(k), override_var, home, name)
}

/// [`ww_dir`], reading variables through `var` (for tests).
pub fn ww_dir_from(
    var: impl Fn(&str) -> Option<OsString>,
    override_var: Option<&str>,
    home: Home,
    name: &str,
) -> Option<PathBuf> {
    let set = |k: &str| var(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = override_var.and_then(set) {
        return Some(dir);
    }
    let (xdg, fallback) = match home {
        Home::Data => ("XDG_DATA_HOME", ".local/share"),
        Home::Cache => ("XDG_CACHE_HOME", ".cache"),
    };
    let base = set(xdg)
        .filter(|d| d.is_absolute())
        .or_else(|| set("HOME").map(|h| h.join(fallback)))?;
    let ww = base.join("ww");
    Some(if name.is_empty() { ww } else { ww.join(name) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn override_then_xdg_then_home() {
        let all = [("WW_STORE", "/s"), ("XDG_DATA_HOME", "/x"), ("HOME", "/h")];
        let dir = |vars| ww_dir_from(env(vars), Some("WW_STORE"), Home::Data, "blocks");
        assert_eq!(dir(&all), Some(PathBuf::from("/s")));
        assert_eq!(
            dir(&[("WW_STORE", ""), ("XDG_DATA_HOME", "/x"), ("HOME", "/h")]),
            Some(PathBuf::from("/x/ww/blocks"))
        );
        // A relative XDG home is ignored.
        assert_eq!(
            dir(&[("XDG_DATA_HOME", "x"), ("HOME", "/h")]),
            Some(PathBuf::from("/h/.local/share/ww/blocks"))
        );
        assert_eq!(dir(&[]), None);
        assert_eq!(
            ww_dir_from(env(&[("HOME", "/h")]), None, Home::Cache, ""),
            Some(PathBuf::from("/h/.cache/ww"))
        );
    }
}
