//! The long-context ladder (`--workload context`): its steps (`--ladder 1k,2k,4k`, by default
//! 1k, 2k, 4k, … up to the context the server reports) and its prompts — real code from the
//! corpus, as long as the step asks, with the question at the end (where a truncating server
//! keeps it) and a unique tag at the start (so no prompt cache helps).

use crate::load::corpus::Corpus;
use std::path::PathBuf;

/// Without a context length from the server, the default ladder stops here.
pub const DEFAULT_TOP: u32 = 32_768;

/// The question every ladder prompt ends with.
pub const QUESTION: &str = "In one sentence: what does the code above do?";

/// The ladder's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The lengths, server tokens, increasing; `None`: 1024, 2048, … up to the server's context.
    pub steps: Option<Vec<u32>>,
    /// Requests per step.
    pub requests: u32,
    /// Tokens generated per request (enough for a decode rate).
    pub max_tokens: u32,
    /// `--corpus`; `None`: the Python standard library.
    pub corpus_dir: Option<PathBuf>,
    /// The corpus, once loaded ([`Settings::load`]).
    pub corpus: Option<std::sync::Arc<Corpus>>,
}

impl Default for Settings {
    /// The default lengths, 3 requests each, 32 tokens generated.
    fn default() -> Self {
        Settings {
            steps: None,
            requests: 3,
            max_tokens: 32,
            corpus_dir: None,
            corpus: None,
        }
    }
}

impl Settings {
    /// Read the corpus.
    pub fn load(&mut self) -> Result<(), crate::load::corpus::CorpusError> {
        let c = match &self.corpus_dir {
            Some(d) => crate::load::corpus::load(d)?,
            None => crate::load::corpus::default_corpus()?,
        };
        self.corpus = Some(std::sync::Arc::new(c));
        Ok(())
    }

    /// Check the ranges.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=1_000).contains(&self.requests) {
            return Err(format!(
                "ladder_requests {} out of range: use 1..=1000",
                self.requests
            ));
        }
        if !(1..=100_000).contains(&self.max_tokens) {
            return Err(format!(
                "max_tokens {} out of range for the context ladder: use 1..=100000",
                self.max_tokens
            ));
        }
        Ok(())
    }

    /// The steps to run: the ones given, or the powers of two from 1024 up to the server's
    /// context (less the tokens generated), or to [`DEFAULT_TOP`] when it reports none.
    pub fn steps(&self, server_context: Option<u64>) -> Vec<u32> {
        if let Some(s) = &self.steps {
            return s.clone();
        }
        let top = server_context.map_or(u64::from(DEFAULT_TOP), |c| {
            c.saturating_sub(u64::from(self.max_tokens))
        });
        std::iter::successors(Some(1024u32), |n| n.checked_mul(2))
            .take_while(|n| u64::from(*n) <= top)
            .collect()
    }
}

/// `--ladder`: lengths in tokens, `k` for thousands of 1024 (`1k,2k,4096`), increasing.
pub fn parse_steps(s: &str) -> Result<Vec<u32>, String> {
    let steps = s
        .split(',')
        .map(|t| {
            let t = t.trim();
            let (num, mult) = match t.strip_suffix(['k', 'K']) {
                Some(n) => (n, 1024),
                None => (t, 1),
            };
            match num.parse::<u32>().ok().and_then(|n| n.checked_mul(mult)) {
                Some(n) if (1..=10_000_000).contains(&n) => Ok(n),
                _ => Err(format!(
                    "cannot parse ladder step `{t}` in `{s}`: use token counts such as 1k,2k,4096"
                )),
            }
        })
        .collect::<Result<Vec<u32>, String>>()?;
    if steps.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!("ladder steps `{s}` must increase"));
    }
    Ok(steps)
}

/// A prompt of about `chars` characters of the corpus from its first file on, behind `tag`
/// and ending with [`QUESTION`]: a longer step's code extends a shorter one's, so the tokens
/// a step adds are the same code whichever way they are counted (truncation is judged on them).
pub fn prompt(corpus: &Corpus, chars: usize, tag: &str) -> String {
    let mut body = String::with_capacity(chars + 256);
    let n = corpus.files.len().max(1);
    let mut k = 0;
    while body.len() < chars && k < n * 64 {
        let (name, text) = &corpus.files[k % n];
        let room = chars - body.len();
        let cut = text
            .char_indices()
            .nth(room)
            .map_or(text.as_str(), |(i, _)| &text[..i]);
        body.push_str(&format!("# file: {name}\n{cut}\n"));
        k += 1;
    }
    format!("{tag}\n{body}\n{QUESTION}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_and_default_to_powers_of_two_within_the_context() {
        assert_eq!(parse_steps("1k, 2k,4096").unwrap(), [1024, 2048, 4096]);
        assert!(parse_steps("2k,1k").unwrap_err().contains("must increase"));
        assert!(parse_steps("1k,x").unwrap_err().contains("`x`"));
        let s = Settings::default();
        assert_eq!(s.steps(Some(8192)), [1024, 2048, 4096]);
        assert_eq!(s.steps(None).last(), Some(&DEFAULT_TOP));
        let given = Settings {
            steps: Some(vec![100, 200]),
            ..Settings::default()
        };
        assert_eq!(
            given.steps(Some(150)),
            [100, 200],
            "given steps are kept (and skipped later)"
        );
    }

    #[test]
    fn a_prompt_is_as_long_as_asked_and_ends_with_the_question() {
        let c = Corpus {
            dir: "c".into(),
            files: vec![("a.py".into(), "x = 1\n".repeat(50))],
        };
        let p = prompt(&c, 2000, "[t]");
        assert!(p.starts_with("[t]\n") && p.ends_with(QUESTION));
        assert!((2000..2200).contains(&p.len()), "{}", p.len());
    }
}
