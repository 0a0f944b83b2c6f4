//! Synthetic prompts of a chosen length (`--input-tokens`) and exact output lengths
//! (`--output-tokens`), each a fixed number or a distribution: `N`, `uniform:a:b`,
//! `normal:mean:sd`.
//!
//! Prompt text is drawn from a fixed word list; how many words make a token is measured per
//! target from the server's own tokenizer (see [`Calibration`]), so "1,000 input tokens" means
//! 1,000 of *that* server's tokens.

use crate::prompts::{Message, Prompt, words};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};
use std::fmt;
use std::str::FromStr;

/// A token count: fixed or drawn per prompt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LengthDist {
    /// Exactly N.
    Fixed(u32),
    /// Uniform integers in [a, b].
    Uniform(u32, u32),
    /// Normal, rounded and clamped to at least 1.
    Normal(f64, f64),
}

impl FromStr for LengthDist {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |what: &str| {
            format!("token length `{s}`: {what}; use N, uniform:a:b or normal:mean:sd")
        };
        let n = |t: &str| {
            t.parse::<u32>()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
                .ok_or_else(|| bad("counts are 1 to 1000000"))
        };
        let x = |t: &str| {
            t.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| bad("expected a number"))
        };
        match s.split(':').collect::<Vec<_>>().as_slice() {
            [v] => Ok(LengthDist::Fixed(n(v)?)),
            ["uniform", a, b] => {
                let (a, b) = (n(a)?, n(b)?);
                if a > b {
                    return Err(bad("a must not exceed b"));
                }
                Ok(LengthDist::Uniform(a, b))
            }
            ["normal", m, sd] => Ok(LengthDist::Normal(x(m)?.max(1.0), x(sd)?)),
            _ => Err(bad("unknown form")),
        }
    }
}

impl fmt::Display for LengthDist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LengthDist::Fixed(n) => write!(f, "{n}"),
            LengthDist::Uniform(a, b) => write!(f, "uniform:{a}:{b}"),
            LengthDist::Normal(m, sd) => write!(f, "normal:{m}:{sd}"),
        }
    }
}

impl LengthDist {
    /// Draw one length (≥ 1).
    pub fn sample(&self, rng: &mut StdRng) -> u32 {
        match *self {
            LengthDist::Fixed(n) => n,
            LengthDist::Uniform(a, b) => rng.random_range(a..=b),
            LengthDist::Normal(m, sd) => match Normal::new(m, sd) {
                Ok(d) => d.sample(rng).round().max(1.0) as u32,
                Err(_) => m.round().max(1.0) as u32,
            },
        }
    }
}

pub use servebench_core::spec::Calibration;

/// `count` prompts of about `input` server tokens each (given `words_per_token`), asking for
/// `output` tokens each when set.
pub fn prompts(
    count: usize,
    input: LengthDist,
    output: Option<LengthDist>,
    words_per_token: f64,
    seed: u64,
) -> Vec<Prompt> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|i| {
            let tokens = input.sample(&mut rng);
            let n = ((tokens as f64) * words_per_token).round().max(1.0) as usize;
            Prompt {
                id: format!("synthetic-{i}"),
                scenario: None,
                messages: vec![Message {
                    role: "user".into(),
                    content: words(n, &mut rng),
                }],
                output_tokens: output.map(|o| o.sample(&mut rng)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_parse_and_sample_in_range() {
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!("128".parse::<LengthDist>().unwrap().sample(&mut rng), 128);
        let u: LengthDist = "uniform:10:20".parse().unwrap();
        assert!(
            (0..1000)
                .map(|_| u.sample(&mut rng))
                .all(|x| (10..=20).contains(&x))
        );
        let n: LengthDist = "normal:100:10".parse().unwrap();
        let xs: Vec<f64> = (0..5000).map(|_| n.sample(&mut rng) as f64).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean - 100.0).abs() < 1.0, "{mean}");
        assert!("uniform:5:1".parse::<LengthDist>().is_err());
        assert!(
            "zipf:1"
                .parse::<LengthDist>()
                .unwrap_err()
                .contains("uniform:a:b")
        );
    }

    #[test]
    fn prompts_scale_with_words_per_token_and_carry_output_lengths() {
        let p = prompts(
            3,
            LengthDist::Fixed(100),
            Some(LengthDist::Fixed(64)),
            0.5,
            7,
        );
        assert_eq!(p.len(), 3);
        for x in &p {
            assert_eq!(x.messages[0].content.split(' ').count(), 50);
            assert_eq!(x.output_tokens, Some(64));
        }
        assert_eq!(
            p,
            prompts(
                3,
                LengthDist::Fixed(100),
                Some(LengthDist::Fixed(64)),
                0.5,
                7
            ),
            "seeded"
        );
    }
}
