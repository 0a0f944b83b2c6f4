//! Turns a byte stream into text lines for the SSE and NDJSON parsers.
//!
//! Handles lines split across reads, several lines in one read, UTF-8 characters split across
//! reads (decoding happens per whole line) and `\r\n` endings. A line longer than the bound is
//! an error rather than unbounded memory.

/// Longest accepted line, bytes.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// A line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// Longer than [`MAX_LINE_BYTES`].
    #[error("line longer than {MAX_LINE_BYTES} bytes")]
    TooLong,
    /// Not UTF-8.
    #[error("line is not valid UTF-8")]
    NotUtf8,
}

/// Incremental line splitter.
#[derive(Debug, Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
}

impl LineSplitter {
    /// Feed a read; `emit` receives each complete line without its terminator.
    pub fn push(
        &mut self,
        bytes: &[u8],
        mut emit: impl FnMut(&str) -> bool,
    ) -> Result<(), LineError> {
        self.buf.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(pos) = self.buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + pos;
            let line = trim_cr(&self.buf[start..end]);
            let text = std::str::from_utf8(line).map_err(|_| LineError::NotUtf8)?;
            start = end + 1;
            if !emit(text) {
                break;
            }
        }
        self.buf.drain(..start);
        if self.buf.len() > MAX_LINE_BYTES {
            return Err(LineError::TooLong);
        }
        Ok(())
    }

    /// The unterminated rest at end of stream, if any.
    pub fn finish(&mut self) -> Result<Option<String>, LineError> {
        let rest = std::mem::take(&mut self.buf);
        let line = trim_cr(&rest);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        String::from_utf8(line.to_vec())
            .map(Some)
            .map_err(|_| LineError::NotUtf8)
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(reads: &[&[u8]]) -> Vec<String> {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for r in reads {
            s.push(r, |l| {
                out.push(l.to_string());
                true
            })
            .unwrap();
        }
        out.extend(s.finish().unwrap());
        out
    }

    #[test]
    fn lines_split_across_reads_and_crlf() {
        let got = split_all(&[b"data: a", b"bc\r\n\r\nda", b"ta: x\nlast"]);
        assert_eq!(got, vec!["data: abc", "", "data: x", "last"]);
    }

    #[test]
    fn utf8_split_across_reads() {
        let s = "data: 한글\n".as_bytes();
        let got = split_all(&[&s[..8], &s[8..]]);
        assert_eq!(got, vec!["data: 한글"]);
    }

    #[test]
    fn overlong_line_is_an_error() {
        let mut s = LineSplitter::default();
        let big = vec![b'a'; MAX_LINE_BYTES + 1];
        assert_eq!(s.push(&big, |_| true), Err(LineError::TooLong));
    }
}
