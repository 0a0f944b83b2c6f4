//! Trace replay (`--trace FILE`, `--trace-speed X`): a timestamped request trace in the
//! Mooncake JSONL format — one request per line,
//! `{"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47, …]}`
//! with `timestamp` in ms from the trace's start and `hash_ids` naming the prompt's 512-token
//! blocks — sent at its recorded times (divided by the speed), whatever the server does, as
//! every open-loop profile. Prompts are built so that equal hash ids are equal token blocks:
//! requests that shared a prefix in the trace share it here, and a prefix cache can serve it.

use crate::prompts::{Message, Prompt};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Mixed into each hash id's seed.
const BLOCK_SALT: u64 = 0x6d6f_6f6e_6361_6b65;

/// Tokens per hash block in the Mooncake format.
pub const BLOCK_TOKENS: u64 = 512;

/// One request of a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// When it was sent, from the trace's start.
    pub at: Duration,
    /// Prompt tokens.
    pub input_length: u64,
    /// Output tokens asked for.
    pub output_length: u32,
    /// The prompt's 512-token blocks.
    pub hash_ids: Vec<u64>,
}

/// A trace, as the plan holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The file.
    pub path: PathBuf,
    /// Time scale: 2 replays twice as fast.
    pub speed: f64,
    /// The entries, once read ([`Trace::load`]).
    pub entries: Vec<Entry>,
}

/// A trace file that cannot be replayed; every message names the file and line.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// Unreadable.
    #[error("cannot read trace {path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// A bad line.
    #[error(
        "{path}:{line}: {field}: {why}; each line must be {{\"timestamp\": MS, \"input_length\": N, \"output_length\": N, \"hash_ids\": [N, …]}} (Mooncake format), timestamps never decreasing"
    )]
    Line {
        /// The file.
        path: PathBuf,
        /// Line, from 1.
        line: usize,
        /// The field at fault.
        field: String,
        /// What is wrong.
        why: String,
    },
    /// Nothing to replay.
    #[error("{0} has no requests: add at least one line")]
    Empty(PathBuf),
}

impl Trace {
    /// Read the file.
    pub fn load(&mut self) -> Result<(), TraceError> {
        let text = std::fs::read_to_string(&self.path).map_err(|cause| TraceError::Io {
            path: self.path.clone(),
            cause,
        })?;
        self.entries = parse(&text, &self.path)?;
        Ok(())
    }

    /// When each entry is to be sent, from the replay's start.
    pub fn schedule(&self) -> Vec<Duration> {
        let first = self.entries.first().map_or(Duration::ZERO, |e| e.at);
        self.entries
            .iter()
            .map(|e| (e.at - first).div_f64(self.speed))
            .collect()
    }
}

fn parse(text: &str, path: &Path) -> Result<Vec<Entry>, TraceError> {
    let mut out: Vec<Entry> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let err = |field: &str, why: String| TraceError::Line {
            path: path.to_owned(),
            line: i + 1,
            field: field.into(),
            why,
        };
        let v: Value = serde_json::from_str(raw).map_err(|e| err("line", e.to_string()))?;
        let num = |k: &str| -> Result<u64, TraceError> {
            v.get(k)
                .ok_or_else(|| err(k, "missing".into()))?
                .as_u64()
                .ok_or_else(|| err(k, "expected a whole number ≥ 0".into()))
        };
        let at = Duration::from_millis(num("timestamp")?);
        let input_length = num("input_length")?;
        let output_length = num("output_length")?;
        if input_length == 0 || output_length == 0 || output_length > 1_000_000 {
            let f = if input_length == 0 {
                "input_length"
            } else {
                "output_length"
            };
            return Err(err(f, "expected 1 or more (output at most 1000000)".into()));
        }
        let hash_ids = match v.get("hash_ids") {
            None => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(k, h)| {
                    h.as_u64().ok_or_else(|| {
                        err(&format!("hash_ids[{k}]"), "expected a whole number".into())
                    })
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(err("hash_ids", "expected an array".into())),
        };
        if let Some(prev) = out.last()
            && at < prev.at
        {
            return Err(err(
                "timestamp",
                format!(
                    "{} ms goes backwards (the line before says {} ms)",
                    at.as_millis(),
                    prev.at.as_millis()
                ),
            ));
        }
        out.push(Entry {
            at,
            input_length,
            output_length: output_length as u32,
            hash_ids,
        });
    }
    if out.is_empty() {
        return Err(TraceError::Empty(path.to_owned()));
    }
    Ok(out)
}

/// The prompts of `entries`, with `words_per_token` words of the synthetic vocabulary per
/// server token: block `h` is always the same words (seeded by `h`), a prompt is its blocks in
/// order cut to its `input_length`, and a block beyond the hash ids (or a trace without them)
/// is unique to its request. `salt` is mixed into every block's seed: an attempt's own salt
/// keeps a second attempt or target on the same server from finding the first one's blocks
/// cached (trace prefixes are shared within one replay, not across replays). Each asks for
/// exactly its `output_length`.
pub fn prompts(entries: &[Entry], words_per_token: f64, salt: u64) -> Vec<Prompt> {
    let block_words = ((BLOCK_TOKENS as f64) * words_per_token).round().max(1.0) as usize;
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let want = ((e.input_length as f64) * words_per_token).round().max(1.0) as usize;
            let mut words: Vec<String> = Vec::with_capacity(want + block_words);
            let mut k = 0;
            while words.len() < want {
                // Hash ids seed their block; past them, a seed unique to the request.
                // Salted, so no block is the calibration's own words (seeded 0 and 1) nor
                // another replay's.
                let seed = match e.hash_ids.get(k) {
                    Some(h) => h ^ BLOCK_SALT,
                    None => (1u64 << 63) | ((i as u64) << 20) | k as u64,
                } ^ salt.rotate_left(17);
                let mut rng = StdRng::seed_from_u64(seed);
                words.extend(
                    crate::prompts::words(block_words, &mut rng)
                        .split(' ')
                        .map(String::from),
                );
                k += 1;
            }
            words.truncate(want);
            Prompt {
                id: format!("trace-{i}"),
                scenario: None,
                messages: vec![Message {
                    role: "user".into(),
                    content: words.join(" "),
                }],
                output_tokens: Some(e.output_length),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_reads_and_backwards_timestamps_name_the_line() {
        let ok = "{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 8, \"hash_ids\": [1, 2]}\n\n{\"timestamp\": 500, \"input_length\": 100, \"output_length\": 4, \"hash_ids\": [1]}\n";
        let e = parse(ok, Path::new("t.jsonl")).unwrap();
        assert_eq!(e.len(), 2);
        let t = Trace {
            path: "t".into(),
            speed: 2.0,
            entries: e.clone(),
        };
        assert_eq!(t.schedule(), [Duration::ZERO, Duration::from_millis(250)]);
        let back = "{\"timestamp\": 10, \"input_length\": 1, \"output_length\": 1}\n{\"timestamp\": 5, \"input_length\": 1, \"output_length\": 1}";
        let msg = parse(back, Path::new("t.jsonl")).unwrap_err().to_string();
        assert!(
            msg.starts_with("t.jsonl:2: timestamp: 5 ms goes backwards"),
            "{msg}"
        );
        let bad = "{\"timestamp\": 1, \"input_length\": \"x\", \"output_length\": 1}";
        let msg = parse(bad, Path::new("t.jsonl")).unwrap_err().to_string();
        assert!(msg.starts_with("t.jsonl:1: input_length: "), "{msg}");
    }

    #[test]
    fn equal_hash_ids_are_equal_blocks() {
        let e = |ids: Vec<u64>, n| Entry {
            at: Duration::ZERO,
            input_length: n,
            output_length: 1,
            hash_ids: ids,
        };
        let p = prompts(
            &[e(vec![7, 8], 1000), e(vec![7, 9], 1000), e(vec![], 100)],
            1.0,
            0,
        );
        let w = |k: usize| {
            p[k].messages[0]
                .content
                .split(' ')
                .map(String::from)
                .collect::<Vec<_>>()
        };
        let (a, b) = (w(0), w(1));
        assert_eq!(a.len(), 1000);
        assert_eq!(a[..512], b[..512], "block 7 shared");
        assert_ne!(a[512..], b[512..], "blocks 8 and 9 differ");
        assert_eq!(w(2).len(), 100);
        assert_eq!(p[0].output_tokens, Some(1));
        // Another replay's salt: the same trace, none of the same blocks.
        let q = prompts(&[e(vec![7, 8], 1000)], 1.0, 0x5eed);
        let c: Vec<&str> = q[0].messages[0].content.split(' ').collect();
        assert_eq!(c.len(), 1000);
        assert_ne!(
            c[..512],
            a[..512].iter().map(String::as_str).collect::<Vec<_>>()[..]
        );
    }
}
