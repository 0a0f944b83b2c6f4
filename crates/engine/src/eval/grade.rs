//! Grading one answer: code answers run against the task's tests in the sandbox, the answer's
//! code and the tests in two separate processes ([`super::harness`]); review answers are matched against the planted defects; design answers against
//! the checklist and the sections asked for. Every score here is per answer, in `0..=1`
//! (accuracy) or `0..=5` (code quality, clarity); [`super::score`] aggregates them.

use super::harness::{self, CodeTask, MAX_ANSWER_BYTES};
use super::sandbox::Sandbox;
use super::suite::{Check, Defect, Kind, Task};
pub use servebench_core::quality_record::{Graded, Lint, Verdict};
use servebench_core::text::escape_controls;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Prose words and fenced code blocks of an answer.
pub struct Parts {
    /// Words outside code fences.
    pub prose_words: usize,
    /// Fenced blocks.
    pub blocks: usize,
}

/// Split an answer into prose and fenced code.
pub fn parts(answer: &str) -> Parts {
    let mut prose_words = 0;
    let mut blocks = 0;
    let mut in_fence = false;
    for line in answer.lines() {
        if line.trim_start().starts_with("```") {
            if !in_fence {
                blocks += 1;
            }
            in_fence = !in_fence;
        } else if !in_fence {
            prose_words += line.split_whitespace().count();
        }
    }
    Parts {
        prose_words,
        blocks,
    }
}

/// Clarity of a code answer: one fenced block as asked (3), an explanation present (1, at
/// least 3 words of prose) and bounded (1, at most 150 words).
pub fn code_clarity(answer: &str) -> f64 {
    let p = parts(answer);
    let structure = match p.blocks {
        1 => 3.0,
        0 => 0.0,
        _ => 2.0,
    };
    structure + f64::from(u8::from(p.prose_words >= 3)) + f64::from(u8::from(p.prose_words <= 150))
}

/// Code quality from `grade.py`'s lint: 0 when nothing compiles; else 5, minus one per lint
/// finding (unused import or variable, bare `except`) up to 3, minus one when the code is
/// over three times the reference's size.
pub fn code_quality(lint: Option<&Lint>, reference_lines: Option<usize>) -> f64 {
    let Some(l) = lint.filter(|l| l.compiles) else {
        return 0.0;
    };
    let findings = l.unused.len() as u64 + l.bare_except;
    let oversized = reference_lines.is_some_and(|r| r > 0 && l.lines as usize > 3 * r);
    (5.0 - findings.min(3) as f64 - f64::from(u8::from(oversized))).max(0.0)
}

fn code_lines(src: &str) -> usize {
    src.lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .count()
}

/// Grades answers; code answers run in the sandbox with `python`.
#[derive(Debug, Clone)]
pub struct Grader {
    /// The sandbox.
    pub sandbox: Sandbox,
    /// The interpreter (see [`super::sandbox::find_python`]).
    pub python: PathBuf,
    /// The sandbox layers in force ("rlimits, seccomp, landlock FullyEnforced, …").
    pub layers: String,
}

impl Grader {
    /// Grade `answer` to `task`.
    pub async fn grade(&self, task: &Task, answer: &str) -> Graded {
        let start = std::time::Instant::now();
        let mut g = match &task.kind {
            Kind::Code {
                prompt,
                entry_point,
                test,
                reference,
            } => {
                self.grade_code(answer, prompt, entry_point, test, reference.as_deref())
                    .await
            }
            Kind::Review { defects, .. } => grade_review(answer, defects),
            Kind::Design {
                checklist,
                sections,
                ..
            } => grade_design(answer, checklist, sections),
        };
        g.grade_s = start.elapsed().as_secs_f64();
        g
    }

    async fn grade_code(
        &self,
        answer: &str,
        prompt: &str,
        entry_point: &str,
        test: &str,
        reference: Option<&str>,
    ) -> Graded {
        let clarity = if answer.trim().is_empty() {
            0.0
        } else {
            code_clarity(answer)
        };
        let outcome = if answer.len() > MAX_ANSWER_BYTES {
            harness::Outcome {
                verdict: Verdict::Fail,
                reason: Some(format!(
                    "the answer is {} KiB, over the grader's {} KiB limit: not read",
                    answer.len() >> 10,
                    MAX_ANSWER_BYTES >> 10
                )),
                extracted: None,
            }
        } else {
            let task = CodeTask {
                prompt,
                entry_point,
                test,
                answer,
            };
            harness::grade(&self.sandbox, &self.python, &task).await
        };
        let verdict = outcome.verdict;
        // One line, no control characters: the reason may quote the answer (an exception's
        // message, its process's last words).
        let reason = outcome.reason.map(|r| escape_controls(&r).into_owned());
        if verdict == Verdict::Error {
            return Graded::error(reason.unwrap_or_default());
        }
        let (code, method, lint) = match outcome.extracted {
            Some(x) => (Some(x.code), Some(x.method), x.lint),
            None => (None, None, None),
        };
        Graded {
            verdict,
            reason,
            accuracy: if verdict == Verdict::Pass { 1.0 } else { 0.0 },
            code_quality: Some(code_quality(lint.as_ref(), reference.map(code_lines))),
            clarity,
            signature: BTreeSet::from([if verdict == Verdict::Pass {
                "pass"
            } else {
                "fail"
            }
            .to_string()]),
            extracted_code: code,
            extraction: method,
            lint,
            grade_s: 0.0,
        }
    }
}

/// One `LINE n: text` finding of a review answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Line named.
    pub line: u32,
    /// What the reviewer says.
    pub text: String,
}

/// The findings of a review answer, and whether it said `NO ISSUES`.
pub fn findings(answer: &str) -> (Vec<Finding>, bool) {
    let mut out = Vec::new();
    let mut none = false;
    for raw in answer.lines() {
        let l = raw
            .trim()
            .trim_start_matches(['-', '*', '`', ' '])
            .trim_start_matches("**");
        if l.to_ascii_uppercase().starts_with("NO ISSUES") {
            none = true;
            continue;
        }
        let upper = l.to_ascii_uppercase();
        let Some(rest) = upper.strip_prefix("LINE") else {
            continue;
        };
        let rest_orig = &l[l.len() - rest.len()..];
        let digits: String = rest_orig
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(line) = digits.parse() {
            let after = rest_orig.trim_start()[digits.len()..]
                .trim_start_matches(['*', '`', ':', '-', ' ', ')'])
                .to_string();
            out.push(Finding { line, text: after });
        }
    }
    (out, none)
}

/// Whether `f` identifies `d`: its line within ±2, or its text naming one of `d.ids`.
pub fn identifies(f: &Finding, d: &Defect) -> bool {
    let text = f.text.to_lowercase();
    f.line.abs_diff(d.line) <= 2 || d.ids.iter().any(|id| text.contains(&id.to_lowercase()))
}

/// Grade a review: accuracy = recall × precision (findings that identify a planted defect /
/// all findings); a control (no defects) earns 1 only with no findings. Clarity: the
/// `LINE n:` / `NO ISSUES` structure (3), each finding explained in 3+ words (1), at most 300
/// words (1).
pub fn grade_review(answer: &str, defects: &[Defect]) -> Graded {
    if answer.trim().is_empty() {
        return Graded::text(Verdict::Fail, Some("empty answer".into()), 0.0, 0.0);
    }
    let (fs, none) = findings(answer);
    let found: BTreeSet<usize> = defects
        .iter()
        .enumerate()
        .filter(|(_, d)| fs.iter().any(|f| identifies(f, d)))
        .map(|(i, _)| i)
        .collect();
    let true_findings = fs
        .iter()
        .filter(|f| defects.iter().any(|d| identifies(f, d)))
        .count();
    let false_findings = fs.len() - true_findings;
    let accuracy = if defects.is_empty() {
        if fs.is_empty() { 1.0 } else { 0.0 }
    } else if fs.is_empty() {
        0.0
    } else {
        found.len() as f64 / defects.len() as f64 * true_findings as f64 / fs.len() as f64
    };
    let words = answer.split_whitespace().count();
    let structure = !fs.is_empty() || none;
    let clarity = 3.0 * f64::from(u8::from(structure))
        + f64::from(u8::from(
            structure && fs.iter().all(|f| f.text.split_whitespace().count() >= 3),
        ))
        + f64::from(u8::from(words <= 300));
    let mut signature: BTreeSet<String> = found.iter().map(|i| format!("defect:{i}")).collect();
    signature.insert(format!("false:{false_findings}"));
    let reason = match (accuracy >= 1.0, structure) {
        (true, _) => None,
        (false, false) => Some("no `LINE n:` findings and no `NO ISSUES`".into()),
        (false, true) => Some(format!(
            "{} of {} planted defects found; {false_findings} finding(s) on no defect",
            found.len(),
            defects.len()
        )),
    };
    Graded {
        signature,
        ..Graded::text(
            if accuracy > 0.0 {
                Verdict::Pass
            } else {
                Verdict::Fail
            },
            reason,
            accuracy,
            clarity,
        )
    }
}

/// Grade a design: accuracy = checklist items met (any of an item's phrases, case-insensitive)
/// / items. Clarity: the requested `##` sections present (3 × share), an explanation of at least
/// 80 words (1), at most 900 words (1).
pub fn grade_design(answer: &str, checklist: &[Check], sections: &[String]) -> Graded {
    if answer.trim().is_empty() {
        return Graded::text(Verdict::Fail, Some("empty answer".into()), 0.0, 0.0);
    }
    let lower = answer.to_lowercase();
    let met: BTreeSet<String> = checklist
        .iter()
        .filter(|c| c.any_of.iter().any(|p| lower.contains(&p.to_lowercase())))
        .map(|c| c.id.clone())
        .collect();
    let headings: Vec<String> = answer
        .lines()
        .filter(|l| l.trim_start().starts_with('#'))
        .map(|l| l.trim_start_matches(['#', ' ']).to_lowercase())
        .collect();
    let present = sections
        .iter()
        .filter(|s| headings.iter().any(|h| h.contains(&s.to_lowercase())))
        .count();
    let words = answer.split_whitespace().count();
    let clarity = 3.0 * present as f64 / sections.len().max(1) as f64
        + f64::from(u8::from(words >= 80))
        + f64::from(u8::from(words <= 900));
    let accuracy = met.len() as f64 / checklist.len().max(1) as f64;
    let missing: Vec<&str> = checklist
        .iter()
        .filter(|c| !met.contains(&c.id))
        .map(|c| c.id.as_str())
        .collect();
    Graded {
        signature: met,
        ..Graded::text(
            if accuracy > 0.0 {
                Verdict::Pass
            } else {
                Verdict::Fail
            },
            (!missing.is_empty()).then(|| format!("missing: {}", missing.join(", "))),
            accuracy,
            clarity,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defect(line: u32, ids: &[&str]) -> Defect {
        Defect {
            line,
            ids: ids.iter().map(|s| s.to_string()).collect(),
            kind: String::new(),
        }
    }

    #[test]
    fn review_findings_match_by_line_or_identifier_and_penalise_noise() {
        let d = [defect(4, &["len(values) - k"]), defect(20, &["leak"])];
        let a = "- LINE 5: the range stops one window early\n- **LINE 40**: the file is never closed, a leak\nLINE 1: style nit about names here";
        let g = grade_review(a, &d);
        // Both defects found (line ±2, identifier); 2 of 3 findings true.
        assert!((g.accuracy - 2.0 / 3.0).abs() < 1e-9, "{g:?}");
        assert_eq!(g.clarity, 5.0);
        let clean = grade_review("NO ISSUES", &[]);
        assert_eq!((clean.accuracy, clean.clarity), (1.0, 5.0));
        assert_eq!(grade_review("LINE 3: x is wrong here", &[]).accuracy, 0.0);
        let g = grade_review("Looks fine to me overall.", &d);
        assert_eq!((g.accuracy, g.clarity), (0.0, 1.0));
        assert_eq!(
            grade_review("  ", &d).reason.as_deref(),
            Some("empty answer")
        );
    }

    #[test]
    fn design_checklist_and_sections() {
        let checks = vec![
            Check {
                id: "cache".into(),
                any_of: vec!["cache".into(), "redis".into()],
            },
            Check {
                id: "queue".into(),
                any_of: vec!["kafka".into()],
            },
        ];
        let sections = vec!["Components".to_string(), "Risks".to_string()];
        let a = format!(
            "## Components\nA Redis layer.\n## Other\n{}",
            "word ".repeat(100)
        );
        let g = grade_design(&a, &checks, &sections);
        assert_eq!(g.accuracy, 0.5);
        assert_eq!(g.clarity, 1.5 + 2.0);
        assert_eq!(g.reason.as_deref(), Some("missing: queue"));
        assert!(g.signature.contains("cache"));
    }

    #[test]
    fn code_scores() {
        let lint = Lint {
            compiles: true,
            unused: vec!["import os".into()],
            bare_except: 1,
            lines: 40,
        };
        assert_eq!(code_quality(Some(&lint), Some(10)), 2.0);
        assert_eq!(code_quality(Some(&lint), Some(20)), 3.0);
        assert_eq!(code_quality(None, None), 0.0);
        assert_eq!(
            code_clarity("Here it is:\n```python\nx = 1\n```\nIt sets x."),
            5.0
        );
        // No fence: the structure asked for is missing; the rest reads as prose.
        assert_eq!(code_clarity("x = 1"), 2.0);
    }
}
