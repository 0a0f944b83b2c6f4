//! Quality at the capacity found: the quality tasks asked one at a time beside a team of the
//! capacity's size, graded in the sandbox and paired task by task with the same tasks asked
//! alone (the quality report's `under_load`), and priced per correct solution.

use super::capacity::CapacityStep;
use super::quality::QualityReport;
use serde::{Deserialize, Serialize};

/// The quality tasks asked beside a team of the capacity's size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QualityAtCapacity {
    /// The team size the tasks were asked beside (the capacity).
    pub developers: u32,
    /// The answers' load label in the quality report (`quality.under_load.profile`).
    pub label: String,
    /// Tasks asked beside the team.
    pub asked: usize,
    /// Of which answered (the others failed, and count as failed answers).
    pub answered: usize,
    /// Mean output tokens of an answered task.
    pub output_tokens_mean: Option<f64>,
    /// The team's classes while the tasks were asked (not part of the search's steps: the
    /// tasks are one more stream beside the team).
    pub team: CapacityStep,
    /// pass@1 of the answers asked beside the team (from the quality report).
    #[serde(default)]
    pub pass_at_1: Option<f64>,
    /// pass@1 of the same tasks asked alone, one at a time.
    #[serde(default)]
    pub pass_at_1_alone: Option<f64>,
    /// McNemar's exact p, task by task, beside the team against alone.
    #[serde(default)]
    pub p_value: Option<f64>,
    /// Whether the difference is significant (p < 0.05).
    #[serde(default)]
    pub significant: Option<bool>,
    /// $ per correct solution at the capacity: an answer's output tokens at the price of a
    /// token at the capacity's load (`at_capacity.usd_per_mtok`), over the pass@1 beside the
    /// team.
    #[serde(default)]
    pub usd_per_correct_solution: Option<f64>,
    /// Why there is no price per correct solution.
    #[serde(default)]
    pub not_priced: Option<String>,
}

impl QualityAtCapacity {
    /// Fill the scores from the run's quality report and price a correct solution with the
    /// capacity's cost per token (`at_capacity.usd_per_mtok`).
    pub fn score(&mut self, q: &QualityReport, usd_per_mtok: Option<f64>) {
        let loaded = q.under_load.as_ref().filter(|l| l.profile == self.label);
        self.pass_at_1 = loaded.and_then(|l| l.pass_at_1);
        self.pass_at_1_alone = q.pass_at_1;
        let paired = loaded.and_then(|l| l.paired.as_ref());
        self.p_value = paired.map(|p| p.p_value);
        self.significant = paired.map(|p| p.significant);
        let (price, why) = match (usd_per_mtok, self.output_tokens_mean, self.pass_at_1) {
            (None, _, _) => (
                None,
                "no cost per token at the capacity: set cost_per_hour on the target",
            ),
            (_, None, _) => (None, "no task was answered beside the team"),
            (_, _, None) => (None, "no code task was graded beside the team"),
            (_, _, Some(p)) if p <= 0.0 => (None, "no answer beside the team passed"),
            (Some(c), Some(t), Some(p)) => (Some(c * t / 1e6 / p), ""),
        };
        self.usd_per_correct_solution = price;
        self.not_priced = price.is_none().then(|| why.to_string());
    }

    /// `at 4 developers: pass@1 0.50 beside the team, 0.83 alone (McNemar p = 0.250, not
    /// significant); $0.0012 per correct solution`.
    pub fn describe(&self) -> String {
        let f = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.2}"));
        let mut s = format!(
            "at {} developers: {} of {} tasks answered beside the team; pass@1 {} beside the team, {} alone",
            self.developers,
            self.answered,
            self.asked,
            f(self.pass_at_1),
            f(self.pass_at_1_alone)
        );
        if let (Some(p), Some(sig)) = (self.p_value, self.significant) {
            s.push_str(&format!(
                " (paired by task, McNemar exact p = {p:.3}: {})",
                if sig {
                    "a significant difference"
                } else {
                    "no significant difference"
                }
            ));
        }
        match (self.usd_per_correct_solution, &self.not_priced) {
            (Some(c), _) => s.push_str(&format!("; ${c:.4} per correct solution")),
            (None, Some(why)) => s.push_str(&format!("; not priced: {why}")),
            (None, None) => {}
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::quality::LoadedQuality;
    use crate::report::quality_stats::PairedTest;

    fn asked(tokens: Option<f64>) -> QualityAtCapacity {
        QualityAtCapacity {
            developers: 4,
            label: "team of 4 developers".into(),
            asked: 10,
            answered: 10,
            output_tokens_mean: tokens,
            team: CapacityStep {
                developers: 4,
                repeat: 0,
                duration_s: 10.0,
                extensions: 0,
                classes: vec![],
                met: true,
                margin: Some(0.1),
                output_tok_s: Some(100.0),
                energy: None,
            },
            pass_at_1: None,
            pass_at_1_alone: None,
            p_value: None,
            significant: None,
            usd_per_correct_solution: None,
            not_priced: None,
        }
    }

    fn quality(label: &str, loaded: Option<f64>) -> QualityReport {
        QualityReport {
            pass_at_1: Some(0.8),
            under_load: Some(LoadedQuality {
                profile: label.into(),
                answers: 10,
                pass_at_1: loaded,
                paired: Some(PairedTest {
                    tasks: 10,
                    method: "mcnemar-exact".into(),
                    p_value: 0.25,
                    ci95: None,
                    significant: false,
                    table: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_correct_solution_costs_its_tokens_over_the_pass_rate_beside_the_team() {
        let mut q = asked(Some(200.0));
        q.score(&quality("team of 4 developers", Some(0.5)), Some(3.0));
        assert_eq!((q.pass_at_1, q.pass_at_1_alone), (Some(0.5), Some(0.8)));
        assert_eq!((q.p_value, q.significant), (Some(0.25), Some(false)));
        // 200 tokens at $3 a million is $0.0006 an answer; half pass: $0.0012 a correct one.
        assert!((q.usd_per_correct_solution.unwrap() - 0.0012).abs() < 1e-12);
        assert!(
            q.describe().ends_with("$0.0012 per correct solution"),
            "{}",
            q.describe()
        );
    }

    #[test]
    fn what_cannot_be_priced_says_why() {
        let cases = [
            (Some(200.0), Some(0.5), None, "cost_per_hour"),
            (None, Some(0.5), Some(3.0), "no task was answered"),
            (
                Some(200.0),
                Some(0.0),
                Some(3.0),
                "no answer beside the team passed",
            ),
            (Some(200.0), None, Some(3.0), "no code task was graded"),
        ];
        for (tokens, pass, cost, why) in cases {
            let mut q = asked(tokens);
            q.score(&quality("team of 4 developers", pass), cost);
            assert_eq!(q.usd_per_correct_solution, None);
            assert!(q.not_priced.as_deref().unwrap().contains(why), "{q:?}");
        }
        // Another load's answers are not these.
        let mut q = asked(Some(200.0));
        q.score(&quality("concurrency:2", Some(0.5)), Some(3.0));
        assert_eq!((q.pass_at_1, q.p_value), (None, None));
    }
}
