//! Cutting a streamed answer into lines with a bound on each, holding at most one line: how
//! `refs/local`, however long, is read in constant memory.

/// Why a [`LineSplitter`] stopped: a line over the limit, or the consumer's error.
#[derive(Debug, PartialEq, Eq)]
pub enum LineError<E> {
    TooLong,
    Consumer(E),
}

impl<E> LineError<E> {
    /// The consumer's error, or `too_long()` for an over-long line.
    pub fn or(self, too_long: impl FnOnce(()) -> E) -> E {
        match self {
            LineError::TooLong => too_long(()),
            LineError::Consumer(e) => e,
        }
    }
}

/// Cuts a stream of chunks into lines (`\n`, an optional `\r` before it dropped), holding at
/// most one line of at most `max` bytes.
#[derive(Debug)]
pub struct LineSplitter {
    pending: Vec<u8>,
    max: usize,
}

impl LineSplitter {
    pub fn new(max: usize) -> LineSplitter {
        LineSplitter {
            pending: Vec::new(),
            max,
        }
    }

    /// Feeds `chunk`, calling `each` on every line it completes; `Ok(false)` when `each` asked
    /// to stop.
    pub fn feed<E>(
        &mut self,
        mut chunk: &[u8],
        each: &mut impl FnMut(&[u8]) -> Result<bool, E>,
    ) -> Result<bool, LineError<E>> {
        while let Some(end) = chunk.iter().position(|&b| b == b'\n') {
            let part = &chunk[..end];
            chunk = &chunk[end + 1..];
            if part.len() > self.max - self.pending.len() {
                return Err(LineError::TooLong);
            }
            let more = if self.pending.is_empty() {
                each(strip_cr(part))
            } else {
                self.pending.extend_from_slice(part);
                let more = each(strip_cr(&self.pending));
                self.pending.clear();
                more
            };
            if !more.map_err(LineError::Consumer)? {
                return Ok(false);
            }
        }
        if chunk.len() > self.max - self.pending.len() {
            return Err(LineError::TooLong);
        }
        self.pending.extend_from_slice(chunk);
        Ok(true)
    }

    /// Hands on the last line, if the stream did not end with a newline.
    pub fn finish<E>(
        &mut self,
        each: &mut impl FnMut(&[u8]) -> Result<bool, E>,
    ) -> Result<bool, LineError<E>> {
        if self.pending.is_empty() {
            return Ok(true);
        }
        let line = std::mem::take(&mut self.pending);
        each(strip_cr(&line)).map_err(LineError::Consumer)
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]], max: usize) -> Result<Vec<String>, LineError<()>> {
        let mut lines = LineSplitter::new(max);
        let mut out = Vec::new();
        let mut each = |line: &[u8]| -> Result<bool, ()> {
            out.push(String::from_utf8_lossy(line).into_owned());
            Ok(true)
        };
        for chunk in chunks {
            lines.feed(chunk, &mut each)?;
        }
        lines.finish(&mut each)?;
        Ok(out)
    }

    #[test]
    fn lines_are_cut_across_chunks_and_bounded() {
        assert_eq!(
            split(&[b"ab", b"c\r\nde\n", b"", b"\nf"], 8).unwrap(),
            ["abc", "de", "", "f"]
        );
        assert_eq!(split(&[b"12345678\n"], 8).unwrap(), ["12345678"]);
        assert_eq!(split(&[b"1234", b"56789\n"], 8), Err(LineError::TooLong));
        assert_eq!(split(&[b"123456789"], 8), Err(LineError::TooLong));
        // A line never ended is refused as soon as it passes the bound, not at the end.
        let mut lines = LineSplitter::new(4);
        let mut never = |_: &[u8]| -> Result<bool, ()> { unreachable!() };
        assert!(lines.feed(b"1234", &mut never).unwrap());
        assert_eq!(lines.feed(b"5", &mut never), Err(LineError::TooLong));
    }

    #[test]
    fn the_consumer_can_stop_the_stream() {
        let mut lines = LineSplitter::new(16);
        let mut seen = 0;
        let mut each = |_: &[u8]| -> Result<bool, ()> {
            seen += 1;
            Ok(seen < 2)
        };
        assert_eq!(lines.feed(b"a\nb\nc\n", &mut each), Ok(false));
        assert_eq!(seen, 2);
    }
}
