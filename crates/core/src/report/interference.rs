//! Interference: how much one class of a team's work slows another. At the size the capacity
//! search found, each class runs alone (the same team model, the other classes off) and its
//! latency is set beside what it saw inside the mix at that size. A ratio above 1 is the
//! price the class pays for sharing the server; below 1 is noise (or a server that batches
//! better when busy), and the report shows both numbers so a reader can tell.

use super::capacity::{CapacityStep, ClassVerdict};
use crate::spec::Class;
use crate::stats::Summary;
use serde::{Deserialize, Serialize};

/// One class's latency at the found size, alone and inside the mix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Interference {
    /// The class.
    pub class: Class,
    /// The team size both were measured at (the capacity found).
    pub developers: u32,
    /// The class's step with every other class off.
    pub alone: ClassVerdict,
    /// Its first-token p90 inside the mix at that size, s (the median over the size's
    /// repeats).
    pub mix_ttft_p90_s: Option<f64>,
    /// Its TPOT p90 inside the mix at that size, s (the median over the repeats).
    pub mix_tpot_p90_s: Option<f64>,
    /// Mix over alone, first-token p90 (> 1: the other classes slow it).
    pub ttft_ratio: Option<f64>,
    /// Mix over alone, TPOT p90.
    pub tpot_ratio: Option<f64>,
}

impl Interference {
    /// Set a class's step alone beside the mix steps at the same size.
    pub fn of(alone: ClassVerdict, developers: u32, steps: &[CapacityStep]) -> Interference {
        let in_mix: Vec<&ClassVerdict> = steps
            .iter()
            .filter(|s| s.developers == developers)
            .filter_map(|s| s.classes.iter().find(|c| c.class == alone.class))
            .collect();
        // The median: Summary's p50 interpolates between the middle two as a median does.
        let mix_ttft = Summary::of(in_mix.iter().filter_map(|c| c.ttft_p90_s)).p50;
        let mix_tpot = Summary::of(in_mix.iter().filter_map(|c| c.tpot_p90_s)).p50;
        let ratio = |m: Option<f64>, a: Option<f64>| match (m, a) {
            (Some(m), Some(a)) if a > 0.0 => Some(m / a),
            _ => None,
        };
        Interference {
            class: alone.class,
            developers,
            ttft_ratio: ratio(mix_ttft, alone.ttft_p90_s),
            tpot_ratio: ratio(mix_tpot, alone.tpot_p90_s),
            mix_ttft_p90_s: mix_ttft,
            mix_tpot_p90_s: mix_tpot,
            alone,
        }
    }

    /// One line: "chat slows autocomplete's first token ×2.4 (0.120 s alone, 0.290 s in the
    /// mix)".
    pub fn describe(&self) -> String {
        let part = |what: &str, r: Option<f64>, a: Option<f64>, m: Option<f64>| {
            let (Some(r), Some(a), Some(m)) = (r, a, m) else {
                return None;
            };
            Some(format!(
                "{what} ×{r:.2} ({a:.3} s alone, {m:.3} s in the mix)"
            ))
        };
        let parts: Vec<String> = [
            part(
                "first token",
                self.ttft_ratio,
                self.alone.ttft_p90_s,
                self.mix_ttft_p90_s,
            ),
            part(
                "TPOT",
                self.tpot_ratio,
                self.alone.tpot_p90_s,
                self.mix_tpot_p90_s,
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        if parts.is_empty() {
            format!(
                "{}: not comparable (too few requests alone or in the mix)",
                self.class
            )
        } else {
            format!(
                "{} at {} developers: {}",
                self.class,
                self.developers,
                parts.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(class: Class, ttft: f64, tpot: Option<f64>) -> ClassVerdict {
        ClassVerdict {
            class,
            requests: 20,
            failed: 0,
            active_mean: Some(1.0),
            active_expected: 1.0,
            ttft_p90_s: Some(ttft),
            tpot_p90_s: tpot,
            goodput_rps: Some(1.0),
            checks: vec![],
            not_judged: false,
        }
    }

    fn step(n: u32, classes: Vec<ClassVerdict>) -> CapacityStep {
        CapacityStep {
            developers: n,
            repeat: 0,
            duration_s: 10.0,
            extensions: 0,
            classes,
            met: true,
            margin: None,
            output_tok_s: None,
            energy: None,
        }
    }

    #[test]
    fn the_mix_is_the_median_of_the_size_s_repeats_and_the_ratio_is_mix_over_alone() {
        let steps = vec![
            step(2, vec![verdict(Class::Autocomplete, 0.9, None)]),
            step(4, vec![verdict(Class::Autocomplete, 0.2, None)]),
            step(4, vec![verdict(Class::Autocomplete, 0.4, None)]),
            step(4, vec![verdict(Class::Autocomplete, 0.3, None)]),
        ];
        let i = Interference::of(verdict(Class::Autocomplete, 0.1, None), 4, &steps);
        assert_eq!(i.mix_ttft_p90_s, Some(0.3));
        assert!((i.ttft_ratio.unwrap() - 3.0).abs() < 1e-12);
        assert_eq!(i.tpot_ratio, None);
        assert!(
            i.describe().contains("first token ×3.00"),
            "{}",
            i.describe()
        );
    }

    #[test]
    fn a_class_missing_from_the_mix_is_not_comparable() {
        let steps = vec![step(2, vec![verdict(Class::Chat, 0.5, Some(0.05))])];
        let i = Interference::of(verdict(Class::Agent, 0.1, None), 2, &steps);
        assert_eq!(i.ttft_ratio, None);
        assert!(i.describe().contains("not comparable"));
    }
}
