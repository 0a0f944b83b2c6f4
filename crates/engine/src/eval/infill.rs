//! Fill-in-the-middle coding tasks built from HumanEval's canonical solutions, the way the
//! published HumanEval-Infilling benchmark was built (Bavarian et al., 2022): remove one line
//! of the solution (single-line) or a block of lines (multi-line), give the model the code
//! before and after the gap, and run the task's tests on the program with the model's fill in
//! the gap. Graded in the sandbox like every other code answer; exact match (the fill equals
//! the removed code, trailing whitespace aside) is reported beside pass@1.

use super::grade::{Graded, Grader};
use super::suite::{Kind, Task};
use crate::fim::Fim;

/// How much of the solution is taken out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// One line.
    Line,
    /// Up to this many consecutive lines (at least 2 when the solution has them).
    Block(usize),
}

/// One infilling task.
#[derive(Debug, Clone, PartialEq)]
pub struct InfillTask {
    /// `HumanEval/12:line` or `HumanEval/12:block`.
    pub id: String,
    /// The HumanEval task it was cut from.
    pub task: Task,
    /// Code before and after the gap.
    pub fim: Fim,
    /// What was taken out.
    pub removed: String,
}

/// The infilling task cut from `task` (a HumanEval-format task with a canonical solution):
/// the gap is in the middle of the solution's non-blank lines, so it is neither the first nor
/// the last line when there are three or more. `None` without a solution to cut.
pub fn cut(task: &Task, span: Span) -> Option<InfillTask> {
    let Kind::Code {
        prompt, reference, ..
    } = &task.kind
    else {
        return None;
    };
    let solution = reference.as_deref()?.strip_prefix(prompt.as_str())?;
    let lines: Vec<&str> = solution.split_inclusive('\n').collect();
    let code: Vec<usize> = (0..lines.len())
        .filter(|&i| !lines[i].trim().is_empty())
        .collect();
    if code.is_empty() {
        return None;
    }
    let want = match span {
        Span::Line => 1,
        Span::Block(n) => n.max(2).min(code.len()),
    };
    // Centre the gap on the solution's code lines.
    let first = code[(code.len() - want) / 2];
    let last = code[(code.len() - want) / 2 + want - 1];
    let (before, gap, after) = (
        lines[..first].concat(),
        lines[first..=last].concat(),
        lines[last + 1..].concat(),
    );
    let kind = match span {
        Span::Line => "line",
        Span::Block(_) => "block",
    };
    Some(InfillTask {
        id: format!("{}:{kind}", task.id),
        task: task.clone(),
        fim: Fim {
            prefix: format!("{prompt}{before}"),
            suffix: after,
            extra: Default::default(),
            ..Default::default()
        },
        removed: gap,
    })
}

/// Whether `fill` is the removed code (trailing whitespace of each line aside).
pub fn exact_match(t: &InfillTask, fill: &str) -> bool {
    fn norm(s: &str) -> Vec<&str> {
        s.lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .collect()
    }
    norm(fill) == norm(&t.removed)
}

/// Grade `fill`: the task's tests run on the prefix, the fill and the suffix as one program,
/// in the sandbox.
pub async fn grade(g: &Grader, t: &InfillTask, fill: &str) -> Graded {
    let program = format!("{}{fill}{}", t.fim.prefix, t.fim.suffix);
    g.grade(&t.task, &format!("```python\n{program}\n```"))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> Task {
        let line = serde_json::json!({
            "task_id": "t/0",
            "prompt": "def f(xs):\n    \"\"\"Sum of squares.\"\"\"\n",
            "canonical_solution": "    total = 0\n    for x in xs:\n\n        total += x * x\n    return total\n",
            "entry_point": "f",
            "test": "def check(candidate):\n    assert candidate([1, 2]) == 5\n",
        });
        super::super::suite::parse_humaneval(&line.to_string(), "inline", "humaneval")
            .unwrap()
            .remove(0)
    }

    #[test]
    fn a_line_or_a_block_is_cut_from_the_middle_of_the_solution() {
        let t = cut(&task(), Span::Line).unwrap();
        assert_eq!(t.id, "t/0:line");
        assert_eq!(t.removed, "    for x in xs:\n");
        assert!(
            t.fim
                .prefix
                .ends_with("\"\"\"Sum of squares.\"\"\"\n    total = 0\n")
        );
        assert_eq!(t.fim.suffix, "\n        total += x * x\n    return total\n");
        let b = cut(&task(), Span::Block(2)).unwrap();
        assert_eq!(b.removed, "    for x in xs:\n\n        total += x * x\n");
        assert_eq!(b.fim.suffix, "    return total\n");
        // The pieces put back together are the reference solution.
        for x in [&t, &b] {
            let whole = format!("{}{}{}", x.fim.prefix, x.removed, x.fim.suffix);
            let Kind::Code { reference, .. } = &x.task.kind else {
                unreachable!()
            };
            assert_eq!(Some(whole), reference.clone());
        }
    }

    #[test]
    fn exact_match_ignores_trailing_whitespace_only() {
        let t = cut(&task(), Span::Line).unwrap();
        assert!(exact_match(&t, "    for x in xs:  \n"));
        assert!(exact_match(&t, "    for x in xs:"));
        assert!(!exact_match(&t, "for x in xs:\n"));
        assert!(!exact_match(&t, "    for y in xs:\n"));
    }
}
