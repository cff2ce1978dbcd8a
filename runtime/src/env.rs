//! pid0's environment: `ww run -e NAME=VALUE` (or `-e NAME`, taking ww's own value, as `docker
//! run` does) and `--env-file FILE` (one `NAME=VALUE` per line; blank lines and lines starting
//! with `#` are skipped; no quotes or escapes are interpreted). Files come first, then `-e`, in
//! order; a later value of a name wins. Services get no environment from here: a service's
//! image is its own.

use std::path::Path;

/// The most bytes of an env file read.
pub const MAX_ENV_FILE_BYTES: u64 = 1 << 20;

/// The environment of `files` and then `vars`, in order, a later value of a name replacing an
/// earlier one (kept at the place the name first came).
pub fn collect(
    files: &[impl AsRef<Path>],
    vars: &[String],
) -> Result<Vec<(String, String)>, String> {
    let mut env: Vec<(String, String)> = Vec::new();
    let mut set = |name: String, value: String| match env.iter_mut().find(|(n, _)| *n == name) {
        Some(slot) => slot.1 = value,
        None => env.push((name, value)),
    };
    for file in files {
        let file = file.as_ref();
        for (line_no, line) in crate::text_file::read(file, MAX_ENV_FILE_BYTES, "an env file")?
            .lines()
            .enumerate()
        {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let (name, value) = split(line, None)
                .map_err(|e| format!("{} line {}: {e}", file.display(), line_no + 1))?;
            set(name, value);
        }
    }
    for var in vars {
        let (name, value) = split(var, Some(&|name| std::env::var_os(name)))
            .map_err(|e| format!("-e `{}`: {e}", ww_content::text::printable(var)))?;
        set(name, value);
    }
    Ok(env)
}

/// Where `-e NAME` finds ww's own value of NAME.
type Lookup<'a> = &'a dyn Fn(&str) -> Option<std::ffi::OsString>;

/// `NAME=VALUE`, or `NAME` alone when `lookup` gives its value.
fn split(text: &str, lookup: Option<Lookup<'_>>) -> Result<(String, String), String> {
    let (name, value) = match (text.split_once('='), lookup) {
        (Some((name, value)), _) => (name, value.to_string()),
        (None, Some(lookup)) => {
            check_name(text)?;
            let value = lookup(text)
                .ok_or_else(|| {
                    format!("`{text}` is not set in ww's environment (give NAME=VALUE)")
                })?
                .into_string()
                .map_err(|_| {
                    format!("ww's own value of `{text}` is not UTF-8 (give NAME=VALUE)")
                })?;
            (text, value)
        }
        (None, None) => return Err("not NAME=VALUE".to_string()),
    };
    check_name(name)?;
    if value.contains('\0') {
        return Err(format!("the value of `{name}` holds a NUL"));
    }
    Ok((name.to_string(), value))
}

/// A name is non-empty and has no `=`, NUL or whitespace.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("an empty name".to_string());
    }
    if name.chars().any(|c| c == '\0' || c.is_whitespace()) {
        return Err(format!(
            "the name `{}` holds a NUL or whitespace",
            ww_content::text::printable(name)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_then_flags_in_order_later_wins() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("env");
        std::fs::write(&file, "# comment\nA=1\n\nB= two words \nC=x=y\r\n").unwrap();
        let none: [&Path; 0] = [];
        assert_eq!(collect(&none, &[]).unwrap(), vec![]);
        let env = collect(&[&file], &["A=override".into(), "D=".into()]).unwrap();
        assert_eq!(
            env,
            vec![
                ("A".into(), "override".into()),
                ("B".into(), " two words ".into()),
                ("C".into(), "x=y".into()),
                ("D".into(), String::new()),
            ]
        );
        // `-e NAME` takes ww's own value; unset, it is an error naming it.
        let path = std::env::var("PATH").unwrap();
        assert_eq!(
            collect(&none, &["PATH".into()]).unwrap(),
            vec![("PATH".into(), path)]
        );
        let err = collect(&none, &["WW_SURELY_UNSET_VAR".into()]).unwrap_err();
        assert!(err.contains("is not set"), "{err}");
        for bad in ["=x", "A B=1"] {
            assert!(collect(&none, &[bad.into()]).is_err(), "{bad}");
        }
        std::fs::write(&file, "A=1\nnot a pair\n").unwrap();
        let err = collect(&[&file], &[]).unwrap_err();
        assert!(
            err.contains("line 2") && err.contains("not NAME=VALUE"),
            "{err}"
        );
    }
}
