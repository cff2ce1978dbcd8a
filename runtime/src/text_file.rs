//! Small text files ww reads from its user (head files, `wwpack.lock`, env files): read up to
//! a bound, so a file that is not what it should be (a device, a huge file) costs nothing, and
//! refused, naming the file, when longer or not UTF-8.

use std::io::Read;
use std::path::Path;

/// The text of `path`, refused when longer than `max` bytes (`what` says what the file is, for
/// the message) or not UTF-8.
pub fn read(path: &Path, max: u64, what: &str) -> Result<String, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() as u64 > max {
        return Err(format!(
            "{}: longer than {max} bytes, the most ww reads of {what}",
            path.display()
        ));
    }
    String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))
}
