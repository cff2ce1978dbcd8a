//! The rule every directory entry name follows, so that a reader of the tree can join names into
//! paths safely.

use crate::cid::Cid;
use crate::text::printable;

use super::ReadError;

/// The longest name of a directory entry: 255 bytes, the longest file name Linux stores.
pub const MAX_NAME_LEN: usize = 255;

/// The rule every directory entry name follows, quoted in [`ReadError::BadName`].
pub const NAME_RULE: &str = "a name is one path component (non-empty, not `.` or `..`, no `/` \
     or NUL, at most 255 bytes) and unique in its directory";

/// Checks one directory entry name against [`NAME_RULE`] (uniqueness is checked by the caller).
pub(super) fn check_name(dir: &Cid, name: &str) -> Result<(), ReadError> {
    let rule = if name.is_empty() {
        "is empty"
    } else if name.len() > MAX_NAME_LEN {
        "is longer than 255 bytes"
    } else if name == "." || name == ".." {
        "is `.` or `..`"
    } else if name.contains('/') {
        "contains `/`"
    } else if name.contains('\0') {
        "contains a NUL byte"
    } else {
        return Ok(());
    };
    Err(ReadError::BadName {
        dir: dir.clone(),
        name: printable(name).into_owned(),
        rule,
    })
}
