//! The environment of a run's processes. pid0's is its image's `etc/environment` (what the
//! image's author sets), then `ww run --env-file FILE` (in order), then `-e NAME=VALUE` (or `-e
//! NAME`, taking ww's own value, as `docker run` does), a later value of a name winning. A
//! `svc/<name>/` service's is its own image's `svc/<name>/etc/environment`, and nothing from the
//! command line: a service's image is its own. Files have one `NAME=VALUE` per line; blank lines
//! and lines starting with `#` are skipped; no quotes or escapes are interpreted.

use std::path::Path;

use crate::root::UnionRoot;

/// An image's environment, below its root.
pub const IMAGE_ENV: &str = "etc/environment";

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
        let text = crate::text_file::read(file, MAX_ENV_FILE_BYTES, "an env file")?;
        for (name, value) in parse(&text, &file.display().to_string())? {
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

/// The environment an image in `root` sets for its pid0: the `etc/environment` of the image at
/// `image` (`""` for the union itself, `svc/<name>/` for a service), empty without one. An
/// error names the file as the union has it (`etc/environment (from layer ...)`).
pub fn of_image(root: &UnionRoot, image: &str) -> Result<Vec<(String, String)>, String> {
    let path = format!("{image}{IMAGE_ENV}");
    match root.kind_of(&path) {
        None => return Ok(Vec::new()),
        Some("file") => {}
        Some(kind) => return Err(format!("{path} is a {kind} in the union, not a file")),
    }
    let (source, origin) = root
        .source_of(&path)
        .ok_or_else(|| format!("{path} has no file in the union"))?;
    let text = crate::text_file::read(&source, MAX_ENV_FILE_BYTES, "an image's environment")
        .map_err(|e| format!("{origin}: {e}"))?;
    parse(&text, &origin)
}

/// `over` on top of `base`: a name of `over` replaces its value in `base` (at its place there),
/// other names of `over` come after.
pub fn layered(base: &[(String, String)], over: &[(String, String)]) -> Vec<(String, String)> {
    let mut env = base.to_vec();
    for (name, value) in over {
        match env.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1.clone_from(value),
            None => env.push((name.clone(), value.clone())),
        }
    }
    env
}

/// The `NAME=VALUE` lines of `text` (the file `what`), in order.
fn parse(text: &str, what: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (line_no, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let (name, value) =
            split(line, None).map_err(|e| format!("{what} line {}: {e}", line_no + 1))?;
        out.push((name, value));
    }
    Ok(out)
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

    #[test]
    fn the_command_line_is_layered_over_the_image() {
        let pair = |n: &str, v: &str| (n.to_string(), v.to_string());
        let image = vec![pair("A", "image"), pair("B", "image")];
        let flags = vec![pair("B", "flag"), pair("C", "flag")];
        assert_eq!(
            layered(&image, &flags),
            vec![pair("A", "image"), pair("B", "flag"), pair("C", "flag")]
        );
        assert_eq!(layered(&[], &flags), flags);
    }
}
