//! Sizes and durations as `ww run` takes and prints them: `64MiB`, `1GiB`, `4096` (bytes);
//! `30s`, `2m`, `500ms`, `1h`.

use std::fmt;
use std::time::Duration;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// Why a size or duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("`{0}` is not a size: use bytes (e.g. 65536) or a number with KiB, MiB or GiB (e.g. 64MiB, 1GiB)")]
    Size(String),
    #[error("`{0}` is not a duration: use a number with ms, s, m or h (e.g. 500ms, 30s, 2m)")]
    Duration(String),
    #[error("`{0}` is too large")]
    TooLarge(String),
}

/// Splits `text` into its leading decimal number and the unit after it (spaces allowed between).
fn number_and_unit(text: &str) -> Option<(u64, &str)> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    if digits == 0 {
        return None;
    }
    let number = text[..digits].parse().ok()?;
    Some((number, text[digits..].trim()))
}

/// Parses a size in bytes: a plain number, or a number with `B`, `KiB`, `MiB` or `GiB`.
pub fn parse_size(text: &str) -> Result<u64, UnitError> {
    let (number, unit) = number_and_unit(text).ok_or_else(|| UnitError::Size(text.into()))?;
    let scale = match unit {
        "" | "B" => 1,
        "KiB" => KIB,
        "MiB" => MIB,
        "GiB" => GIB,
        _ => return Err(UnitError::Size(text.into())),
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| UnitError::TooLarge(text.into()))
}

/// Parses a duration: a number with `ms`, `s`, `m` or `h`.
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let (number, unit) = number_and_unit(text).ok_or_else(|| UnitError::Duration(text.into()))?;
    let too_large = || UnitError::TooLarge(text.into());
    Ok(match unit {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.checked_mul(60).ok_or_else(too_large)?),
        "h" => Duration::from_secs(number.checked_mul(3600).ok_or_else(too_large)?),
        _ => return Err(UnitError::Duration(text.into())),
    })
}

/// A size in the largest binary unit that divides it: `256 MiB`, `1 GiB`, `1000 bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (scale, unit) in [(GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")] {
            if n != 0 && n.is_multiple_of(scale) {
                return write!(f, "{} {unit}", n / scale);
            }
        }
        write!(f, "{n} bytes")
    }
}

/// A duration in the largest unit that divides it, as [`parse_duration`] reads it: `2m`, `30s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        for (scale, unit) in [(3_600_000, "h"), (60_000, "m"), (1000, "s")] {
            if ms != 0 && ms.is_multiple_of(scale) {
                return write!(f, "{}{unit}", ms / scale);
            }
        }
        write!(f, "{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64MiB"), Ok(64 * MIB));
        assert_eq!(parse_size("64 MiB"), Ok(64 * MIB));
        assert_eq!(parse_size("1GiB"), Ok(GIB));
        assert_eq!(parse_size("3KiB"), Ok(3 * KIB));
        assert!(matches!(parse_size("64MB"), Err(UnitError::Size(_))));
        assert!(matches!(parse_size("MiB"), Err(UnitError::Size(_))));
        assert!(matches!(parse_size("-1"), Err(UnitError::Size(_))));
        assert!(matches!(
            parse_size("99999999999999GiB"),
            Err(UnitError::TooLarge(_))
        ));
        assert_eq!(Size(256 * MIB).to_string(), "256 MiB");
        assert_eq!(Size(GIB).to_string(), "1 GiB");
        assert_eq!(Size(1000).to_string(), "1000 bytes");
    }

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(matches!(parse_duration("30"), Err(UnitError::Duration(_))));
        assert!(matches!(parse_duration("s"), Err(UnitError::Duration(_))));
        assert_eq!(Span(Duration::from_secs(120)).to_string(), "2m");
        assert_eq!(Span(Duration::from_secs(2)).to_string(), "2s");
        assert_eq!(Span(Duration::from_millis(1500)).to_string(), "1500ms");
    }
}
