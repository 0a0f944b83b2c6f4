//! The team mix against a mock llama-server (its `/infill`, `/slots` and OpenAI-compatible chat
//! in their recorded wire formats): every class runs at once (their requests overlap in time),
//! every record carries its class, each class's count in the report is what it sent (and what
//! the server received on its path), and the report, `report --from-journal`, HTML, Korean and
//! `compare` work for a team run; the plan's `[team]` table and the bad inputs.

use crate::common::bin::{read_report, run_plan, run_quick, servebench};
use crate::common::fim::{FimCfg, Server, mock_fim};
use crate::common::inproc::{run_targets, target};
use crate::common::schema::assert_schema_valid;
use servebench_engine::load::sessions::Think;
use servebench_engine::plan::Workload;
use servebench_engine::plan::{Api, Team, TeamMix};
use servebench_engine::record::{Phase, RequestRecord};
use servebench_engine::spec::Class;
use std::time::Duration;

/// A small corpus of Python files, typed through and talked about.
fn corpus_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let a = "def mean(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total / len(xs)\n\n\ndef median(xs):\n    s = sorted(xs)\n    n = len(s)\n    mid = n // 2\n    if n % 2:\n        return s[mid]\n    return (s[mid - 1] + s[mid]) / 2\n";
    let b = "import os\n\n\ndef walk(root):\n    out = []\n    for d, _, files in os.walk(root):\n        for f in files:\n            out.append(os.path.join(d, f))\n    return sorted(out)\n";
    std::fs::write(d.path().join("stats.py"), a.repeat(8)).unwrap();
    std::fs::write(d.path().join("files.py"), b.repeat(8)).unwrap();
    d
}

fn mock_cfg() -> FimCfg {
    FimCfg {
        ttft: Duration::from_millis(40),
        per_token: Duration::from_millis(5),
        tokens: 12,
        ..FimCfg::new(Server::Llamacpp)
    }
}

/// The time span of a class's records: first send → last end, Unix seconds.
fn span(recs: &[&RequestRecord]) -> (f64, f64) {
    let start = recs
        .iter()
        .map(|r| r.sent_unix_s)
        .fold(f64::INFINITY, f64::min);
    let end = recs
        .iter()
        .map(|r| r.sent_unix_s + r.end.as_secs_f64())
        .fold(f64::NEG_INFINITY, f64::max);
    (start, end)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_classes_run_at_once_and_each_counts_what_it_sent() {
    let m = mock_fim(mock_cfg()).await;
    let dir = corpus_dir();
    let mix = TeamMix {
        autocomplete: 2,
        chat: 1,
        agent: 1,
        prompts: 1,
    };
    let mut team = Team::new(mix, 3.0);
    team.typing.corpus_dir = Some(dir.path().to_path_buf());
    team.typing.poll_s = 0.01;
    for s in [&mut team.chat, &mut team.agent] {
        s.corpus_dir = Some(dir.path().to_path_buf());
        s.context_tokens = Some(150);
        s.insert_tokens = 50;
        s.output_tokens = Some(12);
        s.think = Think::Const(0.1);
    }
    team.load().unwrap();
    let (report, records) = run_targets(
        vec![target("t", Api::Llamacpp, &m.url(), "qwen2.5-coder-mock")],
        0,
        |s| {
            s.workload = Workload::Team(team);
            s.max_tokens = 12;
        },
    )
    .await;
    let t = &report.targets[0];
    assert!(t.error.is_none(), "{:?}", t.error);
    let tr = t.team().expect("a team phase");
    let classes: Vec<Class> = tr.classes.iter().filter_map(|c| c.class).collect();
    assert_eq!(
        classes,
        [
            Class::Autocomplete,
            Class::Chat,
            Class::Agent,
            Class::Prompts
        ]
    );
    let team_recs: Vec<&RequestRecord> =
        records.iter().filter(|r| r.phase == Phase::Team).collect();
    assert!(team_recs.iter().all(|r| r.class.is_some()));
    let mut spans = Vec::new();
    for c in &tr.classes {
        let class = c.class.unwrap();
        let mine: Vec<&RequestRecord> = team_recs
            .iter()
            .copied()
            .filter(|r| r.class == Some(class))
            .collect();
        assert!(!mine.is_empty(), "{class} sent nothing");
        assert_eq!(
            c.phase.requests + c.superseded,
            mine.len() as u64,
            "{class}"
        );
        spans.push((class, span(&mine)));
    }
    let superseded: u64 = tr.classes.iter().map(|c| c.superseded).sum();
    assert!(superseded > 0, "no keystroke superseded a request");
    assert_eq!(tr.phase.requests + superseded, team_recs.len() as u64);
    // Every class was running while every other was: the latest first send is before the
    // earliest last end.
    let latest_start = spans.iter().map(|(_, s)| s.0).fold(f64::MIN, f64::max);
    let earliest_end = spans.iter().map(|(_, s)| s.1).fold(f64::MAX, f64::min);
    assert!(
        latest_start < earliest_end,
        "the classes did not overlap: {spans:?}"
    );
    // What each path of the server received is what its classes sent (the autocomplete
    // class's suffix probe is two warm-up requests on the same path).
    let bodies = m.state.bodies.lock().unwrap().clone();
    let on = |p: &str| bodies.iter().filter(|(path, _)| path == p).count();
    let warmup_fim = records
        .iter()
        .filter(|r| r.phase == Phase::Warmup && r.prompt_id == "suffix-probe")
        .count();
    let count = |c: Class| team_recs.iter().filter(|r| r.class == Some(c)).count();
    assert_eq!(on("/infill"), count(Class::Autocomplete) + warmup_fim);
    assert_eq!(
        on("/v1/chat/completions"),
        count(Class::Chat) + count(Class::Agent) + count(Class::Prompts)
    );
    // Each class's own report: the autocomplete class as its workload counts it, the
    // sessions classes by turn.
    let a = tr.autocomplete.as_ref().unwrap();
    assert_eq!(a.sent, count(Class::Autocomplete) as u64);
    assert_eq!(a.developers, 2);
    let chat = tr.chat.as_ref().unwrap();
    assert_eq!(chat.turns.requests, count(Class::Chat) as u64);
    assert!(chat.source.starts_with("repo"), "{}", chat.source);
    assert!(tr.agent.as_ref().unwrap().source.starts_with("agent"));
    assert!(
        tr.duration_s > 2.5 && tr.duration_s < 10.0,
        "{}",
        tr.duration_s
    );
    assert_schema_valid(&serde_json::to_value(&report).unwrap());
}

/// `servebench run` of an autocomplete + chat mix on the mock for `duration` seconds into
/// `out`, the corpus in `corpus`.
async fn team_run(
    url: &str,
    corpus: &std::path::Path,
    out: &std::path::Path,
    duration: &str,
) -> crate::common::bin::Out {
    run_quick(
        "llamacpp",
        url,
        "qwen2.5-coder-mock",
        &[
            "--team",
            "autocomplete=1,chat=1",
            "--duration",
            duration,
            "--corpus",
            corpus.to_str().unwrap(),
            "--context-tokens",
            "120",
            "--think-time",
            "const:0.1",
            "--max-tokens",
            "12",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_team_run_reports_renders_rebuilds_and_compares() {
    let m = mock_fim(mock_cfg()).await;
    let dir = corpus_dir();
    let out = dir.path().join("out");
    let o = team_run(&m.url(), dir.path(), &out, "2").await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    // The summary printed is the team's.
    assert!(o.stdout.contains("Team mix"), "{}", o.stdout);
    let report = read_report(&out);
    assert_eq!(report["targets"][0]["workload"]["kind"], "team");
    let team = &report["targets"][0]["workload"]["report"];
    assert_eq!(team["mix"][0]["class"], "autocomplete");
    assert_eq!(team["mix"][1]["class"], "chat");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Team mix"), "{md}");
    // The report leads with the mix, not with a cold/warm summary it never measured.
    assert!(
        md.contains("the team mix, autocomplete 1, chat 1 at once for 2 s against each target"),
        "{md}"
    );
    assert!(!md.contains("## Summary"), "{md}");
    assert!(
        md.contains("| t | autocomplete | 1 |") || md.contains("| llamacpp | autocomplete | 1 |"),
        "{md}"
    );
    // Rebuilt from the journal: the same per-class numbers.
    let rebuilt = servebench(&[
        "report",
        out.to_str().unwrap(),
        "--format",
        "json",
        "--from-journal",
    ])
    .await;
    assert_eq!(rebuilt.code, 0, "{}", rebuilt.stderr);
    let rebuilt: serde_json::Value = serde_json::from_str(&rebuilt.stdout).unwrap();
    let again = &rebuilt["targets"][0]["workload"]["report"];
    for k in 0..2 {
        assert_eq!(
            again["classes"][k]["phase"]["requests"],
            team["classes"][k]["phase"]["requests"]
        );
        assert_eq!(
            again["classes"][k]["phase"]["ttft_s"],
            team["classes"][k]["phase"]["ttft_s"]
        );
    }
    for (format, lang, needle) in [("html", "en", "Team mix"), ("md", "ko", "Team mix")] {
        let r = servebench(&[
            "report",
            out.to_str().unwrap(),
            "--format",
            format,
            "--lang",
            lang,
        ])
        .await;
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(r.stdout.contains(needle), "{format} {lang}");
    }
    // Two team runs compare: the comparison reads both.
    let out2 = dir.path().join("out2");
    let o = team_run(&m.url(), dir.path(), &out2, "1").await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let c = servebench(&[
        "compare",
        out.to_str().unwrap(),
        out2.to_str().unwrap(),
        "--format",
        "json",
    ])
    .await;
    assert_eq!(c.code, 0, "{}", c.stderr);
    // The classes' findings are data in the JSON and Korean in the Korean comparison (the
    // mock caches nothing: the chat class re-processed its history every turn).
    let cmp: serde_json::Value = serde_json::from_str(&c.stdout).unwrap();
    let codes: Vec<&str> = cmp["targets"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(codes.contains(&"history_reprocessed"), "{codes:?}");
    let ko = servebench(&[
        "compare",
        out.to_str().unwrap(),
        out2.to_str().unwrap(),
        "--lang",
        "ko",
    ])
    .await;
    assert_eq!(ko.code, 0, "{}", ko.stderr);
    assert!(
        ko.stdout.contains("워크로드에서 발견된 점"),
        "{}",
        ko.stdout
    );
    assert!(
        ko.stdout
            .contains("매 턴마다 대화 전체를 다시 처리했습니다"),
        "{}",
        ko.stdout
    );
}

#[tokio::test]
async fn the_plan_team_table_sets_the_mix_and_bad_mixes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let plan = "[team]\nautocomplete = 0\nchat = 0\n\n[[targets]]\nname = \"t\"\napi = \"llamacpp\"\nurl = \"http://127.0.0.1:9\"\nmodel = \"m\"\n";
    let (o, _) = run_plan(dir.path(), &plan.replace("chat = 0", "chat = 0\nagent = 0")).await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("every class is 0"), "{}", o.stderr);
    let (o, _) = run_plan(dir.path(), &plan.replace("chat = 0", "chaat = 1")).await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("chaat"), "{}", o.stderr);
    for (args, needle) in [
        (vec!["--team", "typing=3"], "unknown class `typing`"),
        (vec!["--team", "chat=x"], "whole number"),
        (
            vec!["--team", "chat=1", "--developers", "3"],
            "--team autocomplete=N",
        ),
        (
            vec!["--team", "chat=1", "--profile", "concurrency:4"],
            "drop the profile",
        ),
        (
            vec!["--team", "autocomplete=1", "--debounce-ms=-5"],
            "team autocomplete: debounce_ms -5 out of range",
        ),
        (
            vec!["--team", "chat=1", "--infill", "line"],
            "--infill is not a knob of the team workload",
        ),
        (
            vec!["--team", "chat=1", "--workload", "sessions"],
            "--team is set but the workload is sessions",
        ),
    ] {
        let o = run_quick("llamacpp", "http://127.0.0.1:9", "m", &args).await;
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains(needle), "{args:?}: {}", o.stderr);
    }
}
