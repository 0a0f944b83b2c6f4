//! The comparison of repeated runs (`--repeat`): rows are the means over runs, tested over
//! runs when both sides were repeated (said in a caveat), a failed repeat named and left out
//! of the mean, and a one-sided repeat tested per request.

use super::compare::{Entry, compare};
use super::compare_tests::render;
use super::i18n::Lang;
use super::model::*;
use crate::spec::Api;
use std::collections::BTreeMap;

fn one_entry<'a>(t: &'a TargetReport, r: &'a Report, label: &str) -> Entry<'a> {
    Entry {
        label: label.into(),
        source: format!("{label}/repeats.json"),
        target: t,
        settings: &r.settings,
        gpu: &r.gpu,
        samples: BTreeMap::new(),
        runs: Vec::new(),
    }
}

/// Repeated runs in a comparison: rows are the means over runs, tested over runs when both
/// sides were repeated (said in a caveat), and a failed repeat is named and left out of the
/// mean.
#[test]
fn repeated_runs_are_compared_on_their_run_means() {
    use super::fixtures::{report, target};
    let r = report(vec![target("a", Api::Openai, 1.0)]);
    let scaled = |name: &str, s: &[f64]| -> Vec<TargetReport> {
        s.iter().map(|x| target(name, Api::Openai, *x)).collect()
    };
    let a = scaled("a", &[1.0, 1.01, 0.99]);
    let mut b = scaled("b", &[1.3, 1.31, 1.29, 9.0]);
    b[3].status = TargetStatus::Failed;
    b[3].error = Some("server exited".into());
    // b's second repeat fell back to a smaller model after an OOM.
    b[1].model = "small-model".into();
    b[1].attempts = ["big-model", "small-model"]
        .into_iter()
        .zip([AttemptStatus::Oom, AttemptStatus::Ok])
        .map(|(model, status)| Attempt {
            model: model.into(),
            url: "http://127.0.0.1:8080".into(),
            status,
            error: None,
            log_tail: Vec::new(),
        })
        .collect();
    let ea = one_entry(&a[0], &r, "a").with_runs(a.iter().map(|t| one_entry(t, &r, "a")).collect());
    let eb = one_entry(&b[0], &r, "b").with_runs(b.iter().map(|t| one_entry(t, &r, "b")).collect());
    let cmp = compare(&[ea, eb]);
    let row = cmp.rows.iter().find(|x| x.metric == "warm_ttft_s").unwrap();
    assert_eq!(row.test.as_deref(), Some(super::compare::RUN_LEVEL_TEST));
    // b's failed fourth repeat (TTFT 0.9 s) is not in its mean of 0.130.
    assert!((row.b.unwrap() - 0.130).abs() < 1e-9, "{row:?}");
    assert_eq!((row.n_a, row.n_b), (Some(3), Some(3)));
    assert_eq!(row.significant, Some(true));
    let md = render(&cmp, Lang::En, "today");
    assert!(md.contains("were each repeated (3 and 4 runs)"), "{md}");
    assert!(md.contains("b (repeat 4) failed: server exited"), "{md}");
    // The fallback repeat is named and said to be in the means; the sweep tables are repeat 1's.
    assert!(
        md.contains("b (repeat 2): big-model could not run; that repeat measured the fallback small-model, and its values are in b's means over runs."),
        "{md}"
    );
    for (x, n) in [("a", 3), ("b", 4)] {
        let said = format!(
            "{x} was repeated ({n} runs): its rows are means over runs, but its capacity and load-by-load tables show repeat 1 alone."
        );
        assert!(md.contains(&said), "{said}\n{md}");
    }
    assert!(
        render(&cmp, Lang::Ko, "today").contains("b (반복 2): big-model 실행에 실패하여"),
        "Korean"
    );
    // Only one side repeated: its mean, tested per-request, said.
    let single = one_entry(&a[0], &r, "a");
    let eb = one_entry(&b[0], &r, "b").with_runs(b.iter().map(|t| one_entry(t, &r, "b")).collect());
    let cmp = compare(&[single, eb]);
    let row = cmp.rows.iter().find(|x| x.metric == "warm_ttft_s").unwrap();
    assert!(
        (row.b.unwrap() - 0.130).abs() < 1e-9 && row.test.is_none(),
        "{row:?}"
    );
    assert!(
        render(&cmp, Lang::En, "today").contains("b was repeated (4 runs) and a was not"),
        "{md}"
    );
}
