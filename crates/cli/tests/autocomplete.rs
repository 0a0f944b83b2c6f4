//! The IDE-autocomplete workload against mocks of the three FIM paths (llama.cpp `/infill`,
//! Ollama `suffix`, vLLM `/v1/completions` with a raw template) with injected timing and a
//! server-side record of each stream: the schedule is followed, the cancelled requests are
//! exactly those whose next keystroke came first, wasted tokens and time to stop match what the
//! mock did; and the bad inputs.

use crate::common::bin::{read_report, servebench};
use crate::common::fim::{FimCfg, FimMock, Server, StreamLog, mock_fim};
use crate::common::inproc::{run_targets, target};
use serde_json::{Value, json};
use servebench_engine::load::corpus;
use servebench_engine::load::typing::{self, Typing};
use servebench_engine::plan::Workload;
use servebench_engine::plan::{Api, Autocomplete};
use servebench_engine::record::{Outcome, Phase, RequestRecord};
use servebench_engine::report::Report;
use servebench_engine::report::autocomplete::{AutocompleteReport, DRAIN_S, SEED_TAG};
use std::time::Duration;

const SEED: u64 = 42;

/// A small corpus of Python files.
fn corpus_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let a = "def mean(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total / len(xs)\n\n\ndef median(xs):\n    s = sorted(xs)\n    n = len(s)\n    mid = n // 2\n    if n % 2:\n        return s[mid]\n    return (s[mid - 1] + s[mid]) / 2\n";
    let b = "import os\n\n\ndef walk(root):\n    out = []\n    for d, _, files in os.walk(root):\n        for f in files:\n            out.append(os.path.join(d, f))\n    return sorted(out)\n";
    std::fs::write(d.path().join("stats.py"), a).unwrap();
    std::fs::write(d.path().join("files.py"), b).unwrap();
    d
}

fn settings(dir: &std::path::Path, developers: u32, duration_s: f64) -> Autocomplete {
    let mut a = Autocomplete {
        developers,
        duration_s,
        corpus_dir: Some(dir.to_path_buf()),
        poll_s: 0.010,
        ..Autocomplete::default()
    };
    a.load().unwrap();
    a
}

async fn run(m: &FimMock, api: Api, model: &str, ac: Autocomplete) -> (Report, Vec<RequestRecord>) {
    run_targets(vec![target("t", api, &m.url(), model)], 0, |s| {
        s.seed = SEED;
        s.workload = Workload::Autocomplete(ac);
    })
    .await
}

fn phase(r: &Report) -> &AutocompleteReport {
    let t = &r.targets[0];
    assert!(t.error.is_none(), "{:?}", t.error);
    t.autocomplete().expect("an autocomplete phase")
}

/// `(developer, keystroke)` of a record's prompt id `dev{d}:key{k}`.
fn key_of(r: &RequestRecord) -> (usize, usize) {
    let (d, k) = r.prompt_id.split_once(":key").unwrap();
    (d["dev".len()..].parse().unwrap(), k.parse().unwrap())
}

/// The planned requests of each developer, as the runner draws them.
fn planned(ac: &Autocomplete) -> Vec<Vec<typing::Planned>> {
    let texts = ac.corpus.as_ref().unwrap().texts();
    let t = Typing {
        ..ac.typing.clone()
    };
    (0..ac.developers)
        .map(|d| {
            let keys = typing::keystrokes(
                &texts,
                &t,
                SEED,
                u64::from(d),
                Duration::from_secs_f64(ac.duration_s),
            );
            typing::plan(&keys, Duration::from_secs_f64(t.debounce_s))
        })
        .collect()
}

/// What every path must show: the schedule followed, every request superseded exactly when its
/// next keystroke came before its end, the cancelled count the injected latency implies, and a
/// time to stop that matches the mock's record.
fn check_schedule_and_cancels(cfg: &FimCfg, ac: &Autocomplete, r: &Report, recs: &[RequestRecord]) {
    let a = phase(r);
    let plans = planned(ac);
    let ac_recs: Vec<&RequestRecord> = recs
        .iter()
        .filter(|r| r.phase == Phase::Autocomplete)
        .collect();
    let total: usize = plans.iter().map(Vec::len).sum();
    assert_eq!(ac_recs.len(), total, "one record per planned request");
    assert_eq!(a.sent as usize, total);
    let debounce = ac.typing.debounce_s;
    let mut superseded = 0;
    for rec in &ac_recs {
        let (d, k) = key_of(rec);
        let p = plans[d]
            .iter()
            .find(|p| p.key == k)
            .expect("a planned request");
        let lag = rec.schedule_lag.as_secs_f64();
        // Sent after the debounce from its keystroke, within 50 ms (2-core machine).
        assert!(
            lag >= debounce - 0.002 && lag < debounce + 0.050,
            "lag {lag}"
        );
        let window = p.superseded_at.map(|s| (s - p.send_at).as_secs_f64());
        match rec.outcome {
            Outcome::Superseded => {
                superseded += 1;
                let w = window.expect("only a request with a next keystroke is superseded");
                // Dropped at the next keystroke.
                assert!(
                    (rec.end.as_secs_f64() - w).abs() < 0.050,
                    "{} vs {w}",
                    rec.end.as_secs_f64()
                );
            }
            Outcome::Ok => {
                if let Some(w) = window {
                    assert!(
                        rec.end.as_secs_f64() <= w + 0.050,
                        "completed after its next keystroke"
                    );
                }
            }
            o => panic!("unexpected outcome {o}"),
        }
    }
    assert_eq!(a.cancelled, superseded);
    assert_eq!(a.completed + a.cancelled, a.sent);
    // The injected latency decides which are cancelled, but for requests whose next keystroke
    // falls within 40 ms of their end.
    let latency = cfg.ttft + cfg.per_token * (cfg.tokens as u32 - 1);
    let flat: Vec<typing::Planned> = plans.iter().flatten().copied().collect();
    let expected = typing::cancelled_with(&flat, latency);
    let close = flat
        .iter()
        .filter(|p| {
            p.superseded_at.is_some_and(|s| {
                ((s - p.send_at).as_secs_f64() - latency.as_secs_f64()).abs() < 0.040
            })
        })
        .count();
    assert!(
        (a.cancelled as i64 - expected as i64).unsigned_abs() as usize <= close,
        "cancelled {} vs {expected} from the latency ({close} too close to call)",
        a.cancelled
    );
    assert!(
        a.cancelled >= 5 && a.completed >= 3,
        "{} cancelled, {} completed",
        a.cancelled,
        a.completed
    );
    // Latency from the keystroke is the debounce plus the TTFT.
    let from_key = a.ttft_from_keystroke_s.p50.unwrap();
    let ttft = a.shown.ttft_s.p50.unwrap();
    assert!(
        (from_key - ttft - debounce).abs() < 0.030,
        "{from_key} vs {ttft} + {debounce}"
    );
    assert!((ttft - cfg.ttft.as_secs_f64()).abs() < 0.030, "TTFT {ttft}");
}

/// The mock's record of the stream a request was sent as (by the seed that tags it); `None`
/// for a request dropped before it reached the mock.
fn log_of(logs: &[StreamLog], r: &RequestRecord) -> Option<StreamLog> {
    logs.iter()
        .find(|l| l.seed == Some(SEED_TAG + r.index))
        .cloned()
}

/// When the client dropped a record's stream, Unix seconds.
fn dropped_at(r: &RequestRecord) -> f64 {
    r.sent_unix_s + r.end.as_secs_f64()
}

/// Each superseded record's injected time to stop: the mock's release of its stream, minus
/// the client's drop.
fn injected_stops(m: &FimMock, recs: &[RequestRecord]) -> Vec<f64> {
    let logs = m.logs();
    let mut out: Vec<f64> = recs
        .iter()
        .filter(|r| r.outcome == Outcome::Superseded)
        .filter_map(|r| {
            let log = log_of(&logs, r)?;
            assert!(log.disconnect.is_some(), "the mock saw the client leave");
            Some(log.release - dropped_at(r))
        })
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

/// The truth, from the mock: superseded requests whose stream began after the drop, and those
/// within a reading interval of it (a reading may fall either side).
fn started_late(m: &FimMock, recs: &[RequestRecord], poll_s: f64) -> (u64, u64) {
    let logs = m.logs();
    let gaps: Vec<f64> = recs
        .iter()
        .filter(|r| r.outcome == Outcome::Superseded)
        .filter_map(|r| Some(log_of(&logs, r)?.start - dropped_at(r)))
        .collect();
    let late = gaps.iter().filter(|g| **g > 0.0).count() as u64;
    let close = gaps.iter().filter(|g| g.abs() <= poll_s + 0.010).count() as u64;
    (late, close)
}

fn median(v: &[f64]) -> f64 {
    v[v.len() / 2]
}

fn abandoned_tokens(m: &FimMock) -> u64 {
    m.logs()
        .iter()
        .filter(|l| l.disconnect.is_some())
        .map(|l| l.generated as u64)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llamacpp_infill_cancels_on_the_keystroke_and_slots_time_the_stop() {
    let cfg = FimCfg {
        reaction: Duration::from_millis(150),
        ..FimCfg::new(Server::Llamacpp)
    };
    let m = mock_fim(cfg.clone()).await;
    let dir = corpus_dir();
    let ac = settings(dir.path(), 3, 5.0);
    let (r, recs) = run(&m, Api::Llamacpp, &cfg.model, ac.clone()).await;
    check_schedule_and_cancels(&cfg, &ac, &r, &recs);
    let a = phase(&r);
    assert_eq!(a.fim_method, "infill");
    assert!(a.suffix_probe.as_ref().unwrap().honoured);
    let bodies = m.state.bodies.lock().unwrap().clone();
    assert!(
        bodies
            .iter()
            .all(|(p, b)| p == "/infill" && b["input_suffix"].is_string())
    );
    // The two suffix probes ask for 16 tokens, the workload for its 64.
    assert_eq!(
        bodies.iter().filter(|(_, b)| b["n_predict"] == 64).count(),
        bodies.len() - 2
    );
    // Windows sized by the server's tokenizer: four characters a token.
    assert!(
        (a.windows.chars_per_token - 4.0).abs() < 0.1,
        "{}",
        a.windows.chars_per_token
    );
    // Time to stop: the mock's reaction after it noticed the client leave.
    let s = &a.stopping;
    assert_eq!(s.source.as_deref(), Some("slots"));
    // Every abandoned task is matched in /slots but for one or two dropped within a reading
    // interval of being sent (whose task may start and end between two readings).
    assert!(
        s.measured + 2 >= a.cancelled,
        "{} of {} timed",
        s.measured,
        a.cancelled
    );
    let injected = injected_stops(&m, &recs);
    let measured = s.time_to_stop_s.p50.unwrap();
    assert!(
        (measured - median(&injected)).abs() <= ac.poll_s + 0.015,
        "time to stop p50 {measured} vs injected {}",
        median(&injected)
    );
    assert!(measured >= 0.150 - 0.005, "{measured}");
    assert_eq!(s.kept_generating, Some(false));
    // Nothing waits for a slot, but a request dropped just after it was sent may reach the
    // mock after the drop: those, and only those, started after it.
    let (late, close) = started_late(&m, &recs, ac.poll_s);
    let seen = s.started_after_drop.unwrap();
    assert!(
        seen.abs_diff(late) <= close,
        "started after the drop: {seen} reported, {late} by the mock ({close} too close to call)"
    );
    // Wasted tokens: n_decoded when last seen, short of the truth by at most two tokens a
    // request (one 10 ms reading interval at 10 ms a token, plus the reading in flight).
    let truth = abandoned_tokens(&m);
    let w = a.wasted.tokens.unwrap();
    assert_eq!(a.wasted.source, "slots");
    assert!(
        w <= truth && truth - w <= 2 * a.cancelled,
        "wasted {w} vs {truth} generated for abandoned streams"
    );
    assert!(a.wasted.share.unwrap() > 0.0 && a.wasted.share.unwrap() < 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_runs_abandoned_queued_requests_is_said_to() {
    // One slot and a prompt the mock processes without watching the client (llama.cpp's one
    // batch): requests queue, and the mock starts some only after their client has left.
    let cfg = FimCfg {
        slots: 1,
        blind_prefill: true,
        ttft: Duration::from_millis(120),
        ..FimCfg::new(Server::Llamacpp)
    };
    let m = mock_fim(cfg.clone()).await;
    let dir = corpus_dir();
    let ac = settings(dir.path(), 2, 3.0);
    let (r, recs) = run(&m, Api::Llamacpp, &cfg.model, ac.clone()).await;
    let a = phase(&r);
    let (late, close) = started_late(&m, &recs, ac.poll_s);
    assert!(late >= 3, "the mock started {late} abandoned requests late");
    let seen = a.stopping.started_after_drop.unwrap();
    assert!(
        seen.abs_diff(late) <= close,
        "started after the drop: {seen} reported, {late} by the mock ({close} too close to call)"
    );
    // Each late one held the slot for its whole prompt: its time to stop is at least the
    // injected TTFT from its start.
    assert!(
        a.stopping.time_to_stop_s.max.unwrap() >= cfg.ttft.as_secs_f64(),
        "{:?}",
        a.stopping
    );
    let md = crate::common::report_md(&r);
    assert!(
        md.contains("abandoned requests only after the client had left"),
        "{md}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_unanswered_after_typing_ends_is_a_timeout_not_a_wait() {
    // After the two suffix probes the mock answers in 60 s; the developer types for 1 s.
    let cfg = FimCfg {
        stall_after: Some(2),
        ..FimCfg::new(Server::Llamacpp)
    };
    let m = mock_fim(cfg.clone()).await;
    let dir = corpus_dir();
    let ac = settings(dir.path(), 1, 1.0);
    let started = std::time::Instant::now();
    let (r, recs) = run(&m, Api::Llamacpp, &cfg.model, ac.clone()).await;
    let typing_began = recs
        .iter()
        .filter(|r| r.phase == Phase::Autocomplete)
        .map(|r| r.sent_unix_s - r.schedule_lag.as_secs_f64())
        .fold(f64::INFINITY, f64::min);
    let took = started.elapsed().as_secs_f64();
    let a = phase(&r);
    let last = recs
        .iter()
        .filter(|r| r.phase == Phase::Autocomplete)
        .max_by_key(|r| r.index)
        .unwrap();
    assert_eq!(last.outcome, Outcome::Timeout, "{last:?}");
    assert!(last.error.as_deref().unwrap().contains("stopped typing"));
    assert_eq!(a.failed, 1);
    assert_eq!(a.completed, 0);
    assert_eq!(a.dropped_at_end, 1);
    // Dropped DRAIN_S after the typing, not 60 s later.
    let drain = DRAIN_S as f64;
    assert!(took < 1.0 + 2.0 * drain, "the run took {took} s");
    // Dropped DRAIN_S after the typing ended, 1 s after the start: the first keystroke came
    // within that second, so the drop is between DRAIN_S and 1 + DRAIN_S after it.
    let waited = dropped_at(last) - typing_began;
    assert!(
        waited >= drain - 0.05 && waited <= 1.0 + drain + 0.2,
        "dropped {waited} s after the first keystroke"
    );
    let md = crate::common::report_md(&r);
    assert!(md.contains("the server fell behind the typing"), "{md}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vllm_raw_template_wasted_tokens_equal_what_the_mock_generated_for_abandoned_streams() {
    let cfg = FimCfg {
        reaction: Duration::from_millis(100),
        ..FimCfg::new(Server::Vllm)
    };
    let m = mock_fim(cfg.clone()).await;
    let dir = corpus_dir();
    let ac = settings(dir.path(), 3, 5.0);
    let (r, recs) = run(&m, Api::Openai, &cfg.model, ac.clone()).await;
    check_schedule_and_cancels(&cfg, &ac, &r, &recs);
    let a = phase(&r);
    assert_eq!(a.fim_method, "raw:qwen");
    let bodies = m.state.bodies.lock().unwrap().clone();
    assert!(bodies.iter().all(|(p, b)| p == "/v1/completions"
        && b["prompt"].as_str().unwrap().starts_with("<|fim_prefix|>")
        && b.get("suffix").is_none()));
    assert_eq!(a.wasted.source, "server_counter");
    assert_eq!(
        a.wasted.tokens,
        Some(abandoned_tokens(&m)),
        "vLLM's counter sees every abandoned token"
    );
    let s = &a.stopping;
    assert_eq!(s.source.as_deref(), Some("running"));
    assert!(s.measured >= 1, "{s:?}");
    let measured = s.time_to_stop_s.p50.unwrap();
    let injected = median(&injected_stops(&m, &recs));
    assert!(
        measured >= 0.100 - 0.005 && measured <= injected + 0.060,
        "{measured} vs {injected}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ollama_suffix_path_counts_cancels_and_says_the_stop_is_not_observable() {
    let cfg = FimCfg::new(Server::Ollama);
    let m = mock_fim(cfg.clone()).await;
    let dir = corpus_dir();
    let ac = settings(dir.path(), 3, 5.0);
    let (r, recs) = run(&m, Api::Ollama, &cfg.model, ac.clone()).await;
    check_schedule_and_cancels(&cfg, &ac, &r, &recs);
    let a = phase(&r);
    assert_eq!(a.fim_method, "suffix");
    let bodies = m.state.bodies.lock().unwrap().clone();
    assert!(
        bodies.iter().all(|(p, b)| p == "/api/generate"
            && b["suffix"].is_string()
            && b.get("raw").is_none())
    );
    assert_eq!(a.stopping.source, None);
    assert_eq!(a.stopping.kept_generating, None);
    assert_eq!(a.wasted.source, "client_received");
    assert_eq!(a.wasted.tokens, Some(a.received_by_cancelled_tokens));
    let md = crate::common::report_md(&r);
    assert!(
        md.contains("## IDE autocomplete") && md.contains("not observable"),
        "{md}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_keeps_generating_is_said_to() {
    let cfg = FimCfg {
        reaction: Duration::from_millis(1_500),
        tokens: 300,
        ..FimCfg::new(Server::Llamacpp)
    };
    let m = mock_fim(cfg.clone()).await;
    let dir = corpus_dir();
    let ac = settings(dir.path(), 1, 3.0);
    let (r, _) = run(&m, Api::Llamacpp, &cfg.model, ac).await;
    let a = phase(&r);
    assert!(a.cancelled >= 1);
    assert_eq!(a.stopping.kept_generating, Some(true), "{:?}", a.stopping);
    let p50 = a.stopping.time_to_stop_s.p50.unwrap();
    assert!((1.5..1.6).contains(&p50), "{p50}");
    let md = crate::common::report_md(&r);
    assert!(
        md.contains("kept generating for abandoned requests"),
        "{md}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_the_suffix_is_reported_not_silently_measured() {
    let cfg = FimCfg {
        ignore_suffix: true,
        ..FimCfg::new(Server::Llamacpp)
    };
    let m = mock_fim(cfg.clone()).await;
    let dir = corpus_dir();
    let ac = settings(dir.path(), 1, 1.0);
    let (r, _) = run(&m, Api::Llamacpp, &cfg.model, ac).await;
    let a = phase(&r);
    assert!(!a.suffix_probe.as_ref().unwrap().honoured);
    assert!(
        a.findings
            .iter()
            .any(|w| w.code == servebench_engine::report::finding::FindingCode::SuffixIgnored),
        "{:?}",
        a.findings
    );
    let md = crate::common::report_md(&r);
    assert!(md.contains("the server ignored the suffix"), "{md}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_without_fim_tokens_fails_naming_the_model_and_the_template_flag() {
    for server in [Server::Llamacpp, Server::Ollama] {
        let cfg = FimCfg {
            no_fim: true,
            ..FimCfg::new(server)
        };
        let m = mock_fim(cfg.clone()).await;
        let dir = corpus_dir();
        let api = if server == Server::Ollama {
            Api::Ollama
        } else {
            Api::Llamacpp
        };
        let (r, _) = run(&m, api, &cfg.model, settings(dir.path(), 1, 1.0)).await;
        let e = r.targets[0].error.clone().unwrap_or_default();
        assert!(
            e.contains(&cfg.model) && e.contains("--fim-template"),
            "{e}"
        );
        assert!(!e.contains('\n'), "one line: {e}");
    }
}

#[tokio::test]
async fn bad_autocomplete_input_exits_2_naming_the_path_or_flag() {
    let empty = tempfile::tempdir().unwrap();
    let url = "http://127.0.0.1:9";
    let quick = |extra: Vec<String>| async move {
        let mut args = vec![
            "run",
            "--api",
            "llamacpp",
            "--url",
            url,
            "--model",
            "m",
            "--workload",
            "autocomplete",
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        args.extend(extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        servebench(&refs).await
    };
    let e = empty.path().display().to_string();
    let o = quick(vec!["--corpus".into(), e.clone()]).await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains(&e) && o.stderr.contains("no text file"),
        "{}",
        o.stderr
    );
    assert_eq!(o.stderr.trim().lines().count(), 1, "{}", o.stderr);
    // A task limit without the tasks it limits.
    let o = quick(vec!["--infill-limit".into(), "3".into()]).await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(
        o.stderr.contains("infill_limit without infill") && o.stderr.contains("--infill"),
        "{}",
        o.stderr
    );
    let missing = empty.path().join("missing");
    let o = quick(vec!["--corpus".into(), missing.display().to_string()]).await;
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("missing") && o.stderr.contains("cannot read"),
        "{}",
        o.stderr
    );
    // An OpenAI-compatible model whose name says no FIM format, without --fim-template.
    let d = corpus_dir();
    let o = servebench(&[
        "run",
        "--api",
        "openai",
        "--url",
        url,
        "--model",
        "llama-3.1-8b",
        "--workload",
        "autocomplete",
        "--corpus",
        d.path().to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("llama-3.1-8b") && o.stderr.contains("--fim-template"),
        "{}",
        o.stderr
    );
    let o = servebench(&[
        "run",
        "--api",
        "openai",
        "--url",
        url,
        "--model",
        "m",
        "--fim-template",
        "nope",
    ])
    .await;
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("qwen, starcoder"), "{}", o.stderr);
    // An autocomplete knob without the workload.
    let o = servebench(&[
        "run",
        "--api",
        "openai",
        "--url",
        url,
        "--model",
        "m",
        "--developers",
        "4",
    ])
    .await;
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("--workload autocomplete"), "{}", o.stderr);
}

#[cfg(unix)]
#[tokio::test]
async fn an_unreadable_corpus_file_exits_2_naming_it() {
    use std::os::unix::fs::PermissionsExt;
    let d = corpus_dir();
    let locked = d.path().join("locked.py");
    std::fs::write(&locked, "x = 1\n").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&locked).is_ok() {
        // Running as root: permissions do not stop reads, nothing to test.
        return;
    }
    let e = corpus::load(d.path()).unwrap_err().to_string();
    assert!(e.contains("locked.py"), "{e}");
    let o = servebench(&[
        "run",
        "--api",
        "llamacpp",
        "--url",
        "http://127.0.0.1:9",
        "--model",
        "m",
        "--workload",
        "autocomplete",
        "--corpus",
        d.path().to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("locked.py"), "{}", o.stderr);
}

/// `--editor llama.vscode` sends what llama.vscode sends (its `createRequestPayload`): whole
/// lines around the cursor with the cursor's line as `prompt`, chunks of the places visited as
/// `input_extra`, its sampling and limits, slot 0, no temperature; a request on every
/// keystroke unless one is in flight, never aborted. Two developers on a four-slot server
/// therefore take turns on slot 0: never two requests generating at once.
#[tokio::test(flavor = "multi_thread")]
async fn the_llama_vscode_editor_sends_its_windows_fields_and_one_request_at_a_time() {
    let m = mock_fim(FimCfg {
        ttft: Duration::from_millis(60),
        per_token: Duration::from_millis(5),
        tokens: 12,
        slots: 4,
        ..FimCfg::new(Server::Llamacpp)
    })
    .await;
    let d = corpus_dir();
    let out = d.path().join("out");
    let o = servebench(&[
        "run",
        "--api",
        "llamacpp",
        "--url",
        &m.url(),
        "--model",
        "qwen2.5-coder-mock",
        "--workload",
        "autocomplete",
        "--editor",
        "llama.vscode",
        "--developers",
        "2",
        "--duration",
        "4",
        "--corpus",
        d.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = read_report(&out);
    let a = &r["targets"][0]["workload"]["report"];
    assert_eq!(a["editor"], "llama.vscode");
    assert_eq!(a["max_tokens"], 128);
    let bodies: Vec<Value> = m
        .state
        .bodies
        .lock()
        .unwrap()
        .iter()
        .filter(|(p, b)| p == "/infill" && b["id_slot"] == 0)
        .map(|(_, b)| b.clone())
        .collect();
    assert!(bodies.len() >= 10, "{} llama.vscode requests", bodies.len());
    for b in &bodies {
        for (k, v) in [
            ("n_predict", json!(128)),
            ("top_k", json!(40)),
            ("top_p", json!(0.99)),
            ("samplers", json!(["top_k", "top_p", "infill"])),
            ("t_max_prompt_ms", json!(500)),
            ("t_max_predict_ms", json!(500)),
            ("cache_prompt", json!(true)),
        ] {
            assert_eq!(b[k], v, "{k} in {b}");
        }
        assert!(b.get("temperature").is_none(), "{b}");
        let prefix = b["input_prefix"].as_str().unwrap();
        assert!(prefix.is_empty() || prefix.ends_with('\n'), "{prefix:?}");
        assert!(!b["prompt"].as_str().unwrap().contains('\n'));
        assert!(b["input_suffix"].as_str().unwrap().starts_with('\n'));
        let extra = b["input_extra"].as_array().unwrap();
        assert!((1..=16).contains(&extra.len()), "{} chunks", extra.len());
    }
    // Slot 0 for everyone: the streams never overlap, and none was abandoned by the client.
    let mut logs: Vec<_> = m
        .logs()
        .into_iter()
        .filter(|l| l.path == "/infill")
        .collect();
    logs.sort_by(|a, b| a.start.total_cmp(&b.start));
    assert!(
        logs.iter().all(|l| l.disconnect.is_none()),
        "a request was aborted"
    );
    for w in logs.windows(2) {
        assert!(
            w[1].start >= w[0].release - 1e-3,
            "two at once on slot 0: {w:?}"
        );
    }
}
