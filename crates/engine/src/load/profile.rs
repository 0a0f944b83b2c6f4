//! Load profiles and SLOs as the user writes them (`--profile`, `--slo`), parsed into types.
//!
//! Accepted profiles: `sequential`, `concurrency:N`, `rate:R:poisson`, `rate:R:constant`,
//! `rate:R:gamma:B` (burstiness B: 1 is Poisson, < 1 burstier, > 1 smoother), `sweep` (steps
//! 1, 2, 4, … until throughput stops growing or the SLO breaks), `sweep:N,N,…` and, for the
//! sessions workload, `sessions:N` (N users in conversation at once).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub use servebench_core::spec::Slo;

/// The forms `--profile` accepts, for error messages.
pub const PROFILE_FORMS: &str = "sequential | concurrency:N | rate:R:poisson | rate:R:constant | rate:R:gamma:B | sweep | sweep:N,N,... | ramp:rate|concurrency:FROM:TO:STEPS[:exp] | sessions:N";

/// How open-loop arrivals are spaced.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Arrival {
    /// Exponential inter-arrival times (a Poisson process).
    Poisson,
    /// Exactly 1/R apart.
    Constant,
    /// Gamma inter-arrival times with shape B and mean 1/R.
    Gamma {
        /// Shape: 1 = Poisson, < 1 burstier, > 1 more regular.
        burstiness: f64,
    },
}

/// How requests are offered to a target after the warm phase.
#[derive(Debug, Clone, PartialEq)]
pub enum Profile {
    /// No load phase: only the sequential warm phase.
    Sequential,
    /// Closed loop: N streams, each sending its next request when the previous ends.
    Concurrency(u32),
    /// Open loop: requests sent on a schedule at R per second, whatever the server does.
    Rate {
        /// Requests per second.
        rate: f64,
        /// Spacing.
        arrival: Arrival,
    },
    /// One closed-loop step per concurrency; `None` = 1, 2, 4, … until saturation.
    Sweep(Option<Vec<u32>>),
    /// The sessions workload's closed loop: N users each in a session, starting the next
    /// session when theirs ends.
    Sessions(u32),
    /// A ramp: `steps` load steps from `from` to `to`, of rate (Poisson) or concurrency,
    /// spaced linearly or exponentially; each is reported as a sweep step.
    Ramp {
        /// Rate or concurrency.
        kind: RampKind,
        /// First step's value.
        from: f64,
        /// Last step's value.
        to: f64,
        /// Steps, at least 2.
        steps: u32,
        /// Exponential spacing (a constant ratio) instead of linear.
        exp: bool,
    },
}

/// What a ramp varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RampKind {
    /// Open-loop requests per second.
    Rate,
    /// Closed-loop streams.
    Concurrency,
}

impl Profile {
    /// A ramp's step values, first to last (concurrencies rounded, repeats dropped); empty for
    /// any other profile.
    pub fn ramp_values(&self) -> Vec<f64> {
        let Profile::Ramp {
            kind,
            from,
            to,
            steps,
            exp,
        } = *self
        else {
            return Vec::new();
        };
        let n = steps.max(2);
        let mut v: Vec<f64> = (0..n)
            .map(|k| {
                let f = f64::from(k) / f64::from(n - 1);
                let x = if exp {
                    from * (to / from).powf(f)
                } else {
                    from + (to - from) * f
                };
                match kind {
                    RampKind::Concurrency => x.round().max(1.0),
                    RampKind::Rate => x,
                }
            })
            .collect();
        v.dedup();
        v
    }
}

/// `--profile` did not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot parse `{token}` in profile `{input}`: {why}; accepted forms: {PROFILE_FORMS}")]
pub struct ProfileError {
    /// The whole value.
    pub input: String,
    /// The part that did not parse.
    pub token: String,
    /// Why.
    pub why: String,
}

impl FromStr for Profile {
    type Err = ProfileError;

    fn from_str(s: &str) -> Result<Profile, ProfileError> {
        let err = |token: &str, why: &str| ProfileError {
            input: s.to_string(),
            token: token.to_string(),
            why: why.to_string(),
        };
        let count = |t: &str| -> Result<u32, ProfileError> {
            match t.parse::<u32>() {
                Ok(n) if (1..=100_000).contains(&n) => Ok(n),
                _ => Err(err(t, "expected a whole number from 1 to 100000")),
            }
        };
        let positive = |t: &str| -> Result<f64, ProfileError> {
            match t.parse::<f64>() {
                Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
                _ => Err(err(t, "expected a number greater than 0")),
            }
        };
        let parts: Vec<&str> = s.trim().split(':').collect();
        match parts.as_slice() {
            ["sequential"] => Ok(Profile::Sequential),
            ["concurrency", n] => Ok(Profile::Concurrency(count(n)?)),
            ["rate", r, rest @ ..] => {
                let rate = positive(r)?;
                let arrival = match rest {
                    [] | ["poisson"] => Arrival::Poisson,
                    ["constant"] => Arrival::Constant,
                    ["gamma", b] => Arrival::Gamma {
                        burstiness: positive(b)?,
                    },
                    [other, ..] => return Err(err(other, "expected poisson, constant or gamma:B")),
                };
                Ok(Profile::Rate { rate, arrival })
            }
            ["sessions", n] => Ok(Profile::Sessions(count(n)?)),
            ["ramp", kind, from, to, n, rest @ ..] => {
                let kind = match *kind {
                    "rate" => RampKind::Rate,
                    "concurrency" => RampKind::Concurrency,
                    other => return Err(err(other, "a ramp is of rate or concurrency")),
                };
                let (from, to) = (positive(from)?, positive(to)?);
                if kind == RampKind::Concurrency && to > 100_000.0 {
                    return Err(err(&to.to_string(), "expected at most 100000 streams"));
                }
                let steps = match n.parse::<u32>() {
                    Ok(k) if (2..=100).contains(&k) => k,
                    _ => return Err(err(n, "expected 2 to 100 steps")),
                };
                let exp = match rest {
                    [] | ["linear"] => false,
                    ["exp"] => true,
                    [other, ..] => return Err(err(other, "expected linear or exp")),
                };
                Ok(Profile::Ramp {
                    kind,
                    from,
                    to,
                    steps,
                    exp,
                })
            }
            ["sweep"] => Ok(Profile::Sweep(None)),
            ["sweep", list] => {
                let steps = list
                    .split(',')
                    .map(|t| count(t.trim()))
                    .collect::<Result<Vec<_>, _>>()?;
                if steps.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(err(list, "sweep steps must increase"));
                }
                Ok(Profile::Sweep(Some(steps)))
            }
            [first, ..] => Err(err(first, "unknown profile")),
            [] => Err(err(s, "empty")),
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Profile::Sequential => f.write_str("sequential"),
            Profile::Concurrency(n) => write!(f, "concurrency:{n}"),
            Profile::Rate { rate, arrival } => match arrival {
                Arrival::Poisson => write!(f, "rate:{rate}:poisson"),
                Arrival::Constant => write!(f, "rate:{rate}:constant"),
                Arrival::Gamma { burstiness } => write!(f, "rate:{rate}:gamma:{burstiness}"),
            },
            Profile::Sessions(n) => write!(f, "sessions:{n}"),
            Profile::Ramp {
                kind,
                from,
                to,
                steps,
                exp,
            } => write!(
                f,
                "ramp:{}:{from}:{to}:{steps}{}",
                match kind {
                    RampKind::Rate => "rate",
                    RampKind::Concurrency => "concurrency",
                },
                if *exp { ":exp" } else { "" }
            ),
            Profile::Sweep(None) => f.write_str("sweep"),
            Profile::Sweep(Some(s)) => {
                let list: Vec<String> = s.iter().map(u32::to_string).collect();
                write!(f, "sweep:{}", list.join(","))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_parses_and_prints_back() {
        for s in [
            "sequential",
            "concurrency:32",
            "rate:20:poisson",
            "rate:2.5:constant",
            "rate:20:gamma:0.5",
            "sweep",
            "sweep:1,2,4,8",
            "sessions:4",
            "ramp:rate:1:8:4",
            "ramp:concurrency:1:32:6:exp",
        ] {
            let p: Profile = s.parse().unwrap();
            assert_eq!(p.to_string(), s);
        }
        assert_eq!(
            "rate:3".parse::<Profile>().unwrap(),
            Profile::Rate {
                rate: 3.0,
                arrival: Arrival::Poisson
            }
        );
    }

    #[test]
    fn ramps_space_their_steps_linearly_or_exponentially() {
        let p: Profile = "ramp:rate:1:4:4".parse().unwrap();
        assert_eq!(p.ramp_values(), [1.0, 2.0, 3.0, 4.0]);
        let p: Profile = "ramp:concurrency:1:32:6:exp".parse().unwrap();
        assert_eq!(p.ramp_values(), [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]);
        let p: Profile = "ramp:concurrency:1:2:5".parse().unwrap();
        assert_eq!(p.ramp_values(), [1.0, 2.0], "rounded repeats dropped");
        assert_eq!(
            "ramp:speed:1:2:3".parse::<Profile>().unwrap_err().token,
            "speed"
        );
        assert_eq!("ramp:rate:1:2:1".parse::<Profile>().unwrap_err().token, "1");
    }

    #[test]
    fn errors_name_the_token_and_the_forms() {
        let e = "rate:fast:poisson"
            .parse::<Profile>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("`fast`") && e.contains(PROFILE_FORMS), "{e}");
        let e = "sweep:1,x,4".parse::<Profile>().unwrap_err();
        assert_eq!(e.token, "x");
        let e = "sweep:4,2".parse::<Profile>().unwrap_err();
        assert!(e.why.contains("increase"));
        assert_eq!("burst:3".parse::<Profile>().unwrap_err().token, "burst");
        assert_eq!("concurrency:0".parse::<Profile>().unwrap_err().token, "0");
        assert_eq!("rate:5:zipf".parse::<Profile>().unwrap_err().token, "zipf");
    }

    #[test]
    fn slo_parses() {
        let s: Slo = "ttft=0.5,tpot=0.05".parse().unwrap();
        assert_eq!((s.ttft_s, s.tpot_s, s.e2e_s), (Some(0.5), Some(0.05), None));
        assert!("ttft=-1".parse::<Slo>().is_err());
        assert!("latency=1".parse::<Slo>().unwrap_err().contains("latency"));
    }
}
