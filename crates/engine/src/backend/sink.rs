//! Where decoders put what they find. The hot path ([`super::stream`]) implements
//! [`EventSink`] without allocating per token: content arrives as the raw JSON string literal
//! and is unescaped straight into the response text. `Vec<StreamEvent>` implements it too, for
//! tests and tools that want owned events.

use crate::record::ServerTimings;

/// One decoded piece of a streamed response.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// Generated answer text (non-empty).
    Content(String),
    /// Generated reasoning text (non-empty): llama.cpp and vLLM `reasoning_content` /
    /// `reasoning`, Ollama `thinking`.
    Reasoning(String),
    /// Token counts from the server.
    Usage {
        /// Prompt tokens.
        input: Option<u64>,
        /// Generated tokens.
        output: Option<u64>,
    },
    /// Prompt tokens served from the server's prompt cache.
    Cached(u64),
    /// The server's own timings.
    Timings(ServerTimings),
    /// Why generation stopped.
    Finish(String),
    /// The end-of-stream marker (`[DONE]`, Ollama `done: true`).
    Done,
    /// An in-stream error object from the server.
    Error(String),
}

/// Receives decoded stream events.
pub trait EventSink {
    /// Generated text, as a raw JSON string literal (with quotes and escapes), non-empty.
    fn content(&mut self, raw: &str) -> Result<(), String>;
    /// Reasoning text, as a raw JSON string literal, non-empty.
    fn reasoning(&mut self, raw: &str) -> Result<(), String>;
    /// Generated text already decoded (a decoder that had to unescape it, e.g. to take the
    /// difference of cumulative text), non-empty.
    fn text(&mut self, text: &str);
    /// Token counts.
    fn usage(&mut self, input: Option<u64>, output: Option<u64>);
    /// Prompt tokens the server took from its prompt cache.
    fn cached(&mut self, tokens: u64);
    /// Server timings.
    fn timings(&mut self, t: ServerTimings);
    /// Finish reason.
    fn finish(&mut self, reason: &str);
    /// End-of-stream marker.
    fn done(&mut self);
    /// In-stream error object.
    fn error(&mut self, message: String);
}

impl EventSink for Vec<StreamEvent> {
    fn content(&mut self, raw: &str) -> Result<(), String> {
        let mut s = String::new();
        unescape_into(raw, &mut s)?;
        self.push(StreamEvent::Content(s));
        Ok(())
    }
    fn reasoning(&mut self, raw: &str) -> Result<(), String> {
        let mut s = String::new();
        unescape_into(raw, &mut s)?;
        self.push(StreamEvent::Reasoning(s));
        Ok(())
    }
    fn text(&mut self, text: &str) {
        self.push(StreamEvent::Content(text.to_string()));
    }
    fn usage(&mut self, input: Option<u64>, output: Option<u64>) {
        self.push(StreamEvent::Usage { input, output });
    }
    fn cached(&mut self, tokens: u64) {
        self.push(StreamEvent::Cached(tokens));
    }
    fn timings(&mut self, t: ServerTimings) {
        self.push(StreamEvent::Timings(t));
    }
    fn finish(&mut self, reason: &str) {
        self.push(StreamEvent::Finish(reason.to_string()));
    }
    fn done(&mut self) {
        self.push(StreamEvent::Done);
    }
    fn error(&mut self, message: String) {
        self.push(StreamEvent::Error(message));
    }
}

/// The raw JSON string literal of a field, if it is a non-empty string (not `""`, not null).
pub fn text_literal(v: Option<&serde_json::value::RawValue>) -> Option<&str> {
    v.map(serde_json::value::RawValue::get)
        .filter(|r| r.starts_with('"') && r.len() > 2)
}

/// Append the text of a raw JSON string literal (`"a\nb"`) to `out`, resolving escapes,
/// without intermediate allocation.
pub fn unescape_into(raw: &str, out: &mut String) -> Result<(), String> {
    let inner = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .ok_or_else(|| format!("expected a JSON string, got {raw}"))?;
    if !inner.contains('\\') {
        out.push_str(inner);
        return Ok(());
    }
    let mut chars = inner.chars();
    let bad = || format!("bad escape in JSON string {raw}");
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next().ok_or_else(bad)? {
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            '/' => out.push('/'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let hex = |chars: &mut std::str::Chars| -> Result<u32, String> {
                    let h: String = chars.by_ref().take(4).collect();
                    u32::from_str_radix(&h, 16).map_err(|_| bad())
                };
                let hi = hex(&mut chars)?;
                let code = if (0xD800..0xDC00).contains(&hi) {
                    // A surrogate pair: \uD83D\uDE00.
                    if chars.next() != Some('\\') || chars.next() != Some('u') {
                        return Err(bad());
                    }
                    let lo = hex(&mut chars)?;
                    0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF)
                } else {
                    hi
                };
                out.push(char::from_u32(code).ok_or_else(bad)?);
            }
            _ => return Err(bad()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_matches_serde_json() {
        for raw in [
            r#""plain""#,
            r#""a\nb\t\"c\"\\""#,
            r#""\u00e9\u003c\uD83D\uDE00 한""#,
            r#""\/\b\f\r""#,
            r#""""#,
        ] {
            let mut got = String::new();
            unescape_into(raw, &mut got).unwrap();
            let want: String = serde_json::from_str(raw).unwrap();
            assert_eq!(got, want, "{raw}");
        }
        assert!(unescape_into(r#""\x""#, &mut String::new()).is_err());
        assert!(unescape_into("nope", &mut String::new()).is_err());
    }
}
