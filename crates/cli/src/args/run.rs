//! `servebench run`: its flags and their conversion into a [`RunJob`].

use super::target::{EndpointArg, RunJob, TargetArgs, build_plan, out_dir, prepare_quality};
use anyhow::Context;
use clap::Args;
use servebench_engine::fim::Template;
use servebench_engine::load::profile::{Profile, Slo};
use servebench_engine::load::sessions::{Source, Think};
use servebench_engine::load::synthetic::LengthDist;
use servebench_engine::plan::{Endpoint, FimStop, Plan, RunOverrides, Workload, WorkloadKind};
use servebench_engine::prompts;
use std::path::PathBuf;

/// `servebench run` arguments.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Plan file (TOML) with [[targets]] and an optional [run] table.
    pub plan: Option<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub history: super::target::StoreArgs,
    /// Warm requests per target [default: 10].
    #[arg(help_heading = "Workload", long, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub warm: Option<u32>,
    /// Generation limit per request [default: 256].
    #[arg(help_heading = "Workload", long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_tokens: Option<u32>,
    /// Output directory [default: servebench-results/<YYYYMMDD_HHMMSS>/].
    #[arg(help_heading = "Output", long)]
    pub out: Option<PathBuf>,
    /// Run the whole plan N times (OUT/repeat-1 … repeat-N, managed servers started afresh
    /// each time) and summarise per metric over runs in OUT/repeats.json: the mean, its 95 %
    /// t-interval and the CV, beside the pooled per-request distributions [default: 1].
    #[arg(help_heading = "Output", long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: Option<u32>,
    /// OpenAI endpoint to use [default: chat].
    #[arg(help_heading = "Workload", long, value_enum)]
    pub endpoint: Option<EndpointArg>,
    /// Prompt file, JSONL: {"prompt": ...} or {"messages": [...]} per line [default: built-in coding prompts].
    #[arg(help_heading = "Workload", long)]
    pub prompts: Option<PathBuf>,
    /// Sampling seed [default: 42].
    #[arg(help_heading = "Workload", long)]
    pub seed: Option<u64>,
    /// Sampling temperature, 0..=2 [default: 0].
    #[arg(help_heading = "Workload", long)]
    pub temperature: Option<f64>,
    /// Whole-request time limit in seconds [default: 600].
    #[arg(help_heading = "Limits", long)]
    pub timeout: Option<f64>,
    /// Send → first-token limit in seconds; a server that accepts and never answers is
    /// recorded as a timeout after it [default: only --timeout].
    #[arg(help_heading = "Limits", long)]
    pub ttft_timeout: Option<f64>,
    /// Re-send a request answered HTTP 429 or 503 up to N times, waiting as its Retry-After
    /// says (else 0.25 s, doubling); retried requests are marked [default: 0, failures counted].
    #[arg(help_heading = "Limits", long, value_parser = clap::value_parser!(u32).range(0..=20))]
    pub retries: Option<u32>,
    /// Load after the warm phase: sequential | concurrency:N | rate:R:poisson | rate:R:constant |
    /// rate:R:gamma:B | sweep | sweep:N,N,... [default: sequential].
    #[arg(help_heading = "Load", long, value_parser = |s: &str| s.parse::<Profile>().map_err(|e| e.to_string()))]
    pub profile: Option<Profile>,
    /// Requests per load phase or sweep step [default: max(16, 4 × concurrency); rate: 30 s worth].
    #[arg(help_heading = "Load", long, value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: Option<u64>,
    /// Seconds per load phase or sweep step (stops sending after it; with --requests, whichever comes first).
    #[arg(help_heading = "Load", long)]
    pub duration: Option<f64>,
    /// Warm-up requests before each load phase or sweep step, excluded from its numbers [default: 0].
    #[arg(help_heading = "Load", long)]
    pub warmup: Option<u64>,
    /// Objectives for goodput, seconds from the scheduled time: ttft=0.5,tpot=0.05,e2e=10.
    #[arg(help_heading = "Load", long, value_parser = |s: &str| s.parse::<Slo>())]
    pub slo: Option<Slo>,
    /// ShareGPT-format JSON (or JSONL) prompt file; the first human turn of each conversation
    /// (with the sessions workload, every human turn: not with --sessions).
    #[arg(help_heading = "Workload", long, conflicts_with = "sessions")]
    pub sharegpt: Option<PathBuf>,
    /// Synthetic prompts of this many server tokens: N, uniform:a:b or normal:mean:sd
    /// (calibrated per target with its /tokenize or usage).
    #[arg(help_heading = "Workload", long, value_parser = |s: &str| s.parse::<LengthDist>())]
    pub input_tokens: Option<LengthDist>,
    /// Ask for exactly this many output tokens (ignore_eos/min_tokens; num_predict on Ollama):
    /// N, uniform:a:b or normal:mean:sd. Whether the server honoured it is reported.
    #[arg(help_heading = "Workload", long, value_parser = |s: &str| s.parse::<LengthDist>())]
    pub output_tokens: Option<LengthDist>,
    /// Cold loads per target: managed servers are stopped and started again, Ollama models
    /// unloaded and reloaded; the load time reported is their median [default: 1].
    #[arg(help_heading = "Workload", long, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub cold: Option<u32>,
    /// GPU and server-process readings per second, (0, 100] [default: 10].
    #[arg(help_heading = "Output", long)]
    pub sample_hz: Option<f64>,
    /// Send the prompts as they are, so a server may answer from its prompt cache (by default
    /// every measured prompt starts with a tag unique to the run and the request).
    #[arg(help_heading = "Workload", long)]
    pub allow_prompt_cache: bool,
    /// Print every request as a line (no progress bar, no thinning to one a second).
    #[arg(help_heading = "Output", long, short)]
    pub verbose: bool,
    /// Also grade coding quality after the performance phases: builtin, humaneval or a
    /// HumanEval-format JSONL(.gz) file (see `servebench eval` for the knobs).
    #[arg(help_heading = "Quality", long, value_parser = |s: &str| s.parse::<servebench_engine::eval::suite::Dataset>())]
    pub quality: Option<servebench_engine::eval::suite::Dataset>,
    /// First N tasks of each quality scenario.
    #[arg(help_heading = "Quality", long)]
    pub quality_limit: Option<usize>,
    /// Built-in quality scenarios to run, comma-separated.
    #[arg(help_heading = "Quality", long, value_delimiter = ',')]
    pub quality_scenarios: Option<Vec<String>>,
    /// How HumanEval-format tasks are asked: servebench or qwen (see `servebench eval --help`).
    #[arg(help_heading = "Quality", long, value_parser = |s: &str| s.parse::<servebench_engine::eval::suite::PromptStyle>())]
    pub quality_prompt_style: Option<servebench_engine::eval::suite::PromptStyle>,
    /// Ask every quality task once more while the server is under this load (concurrency:N or
    /// rate:R), and report pass@1 under load, paired with the sequential answers, and answer drift.
    #[arg(help_heading = "Quality", long, value_parser = quality_load_parser)]
    pub quality_load: Option<Profile>,
    /// What to send: chat (cold, warm and the load profile), sessions (multi-turn
    /// conversations, see --sessions), context (the long-context ladder, see --ladder),
    /// autocomplete (simulated developers typing, fill-in-the-middle requests dropped at the
    /// next keystroke) or team (several of those at once, see --team) [default: chat].
    #[arg(help_heading = "Autocomplete", long, value_parser = |s: &str| s.parse::<WorkloadKind>())]
    pub workload: Option<WorkloadKind>,
    /// The team mix: how many of each class run at once against each target for --duration
    /// seconds [default: 60] — autocomplete (developers typing), chat (sessions over the
    /// repository), agent (agent sessions), prompts (closed-loop streams of the prompt set);
    /// e.g. autocomplete=4,chat=2,agent=1 [default: autocomplete=2,chat=1,agent=1]. Implies
    /// --workload team. The autocomplete and sessions knobs apply to their classes.
    #[arg(help_heading = "Workload", long, value_parser = |s: &str| s.parse::<servebench_engine::plan::TeamMix>())]
    pub team: Option<servebench_engine::plan::TeamMix>,
    /// Developers typing at once [default: 4]; they type for --duration seconds [default: 60].
    #[arg(help_heading = "Autocomplete", long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub developers: Option<u32>,
    /// Directory of source files to type through, any language [default: the top level of
    /// Python's standard library on this machine].
    #[arg(help_heading = "Autocomplete", long)]
    pub corpus: Option<PathBuf>,
    /// Quiet time after a keystroke before a completion is requested, ms [default: 150].
    #[arg(help_heading = "Autocomplete", long)]
    pub debounce_ms: Option<f64>,
    /// Mean typing speed, characters per second [default: 6].
    #[arg(help_heading = "Autocomplete", long)]
    pub typing_cps: Option<f64>,
    /// Code before the cursor sent with each request, server tokens [default: 1500].
    #[arg(help_heading = "Autocomplete", long)]
    pub prefix_tokens: Option<u32>,
    /// Code after the cursor sent with each request, server tokens [default: 500].
    #[arg(help_heading = "Autocomplete", long)]
    pub suffix_tokens: Option<u32>,
    /// Stop sequences: line (the rest of the line) or block (up to a blank line) [default: line].
    #[arg(help_heading = "Autocomplete", long, value_parser = |s: &str| s.parse::<FimStop>())]
    pub fim_stop: Option<FimStop>,
    /// Send a raw prompt in this model family's FIM template: qwen, starcoder, codellama,
    /// deepseek or codestral [default: llama.cpp /infill, Ollama suffix, OpenAI-compatible: from
    /// the model name].
    #[arg(help_heading = "Autocomplete", long, value_parser = |s: &str| s.parse::<Template>())]
    pub fim_template: Option<Template>,
    /// Whose autocomplete requests to send: llama.vscode (its line windows, ring of extra
    /// context, sampling, slot 0 and no-abort triggering) or window (a sliding window with a
    /// debounce, dropped at the next keystroke) [default: window; capacity: llama.vscode].
    #[arg(help_heading = "Autocomplete", long, value_parser = |s: &str| s.parse::<servebench_engine::fim::Editor>())]
    pub editor: Option<servebench_engine::fim::Editor>,
    /// Completion quality after the typing: HumanEval infilling tasks with one line (line) or
    /// a block of three lines (block) of each solution taken out, filled on the same FIM path
    /// and graded in the sandbox (pass@1 and exact match).
    #[arg(help_heading = "Autocomplete", long, value_parser = |s: &str| s.parse::<FimStop>())]
    pub infill: Option<FimStop>,
    /// Only the first N HumanEval tasks for --infill [default: all 164].
    #[arg(help_heading = "Autocomplete", long, value_parser = clap::value_parser!(u64).range(1..))]
    pub infill_limit: Option<u64>,
    /// Where sessions come from: repo (questions about a shared context of code from
    /// --corpus), agent (growing contexts with tool-result file reads) or a JSONL session file
    /// (see README); --sharegpt FILE uses every human turn of its conversations [default: repo].
    #[arg(help_heading = "Sessions", long, value_parser = |s: &str| s.parse::<Source>())]
    pub sessions: Option<Source>,
    /// Turns per synthetic session [default: 4 for repo, 8 for agent].
    #[arg(help_heading = "Sessions", long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub turns: Option<u32>,
    /// Synthetic sessions to generate [default: 16].
    #[arg(help_heading = "Sessions", long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub session_count: Option<u32>,
    /// Tokens of shared code context each synthetic session starts with, in the server's
    /// tokens [default: 2000 for repo, 8000 for agent].
    #[arg(help_heading = "Sessions", long, value_parser = clap::value_parser!(u32).range(1..))]
    pub context_tokens: Option<u32>,
    /// Agent sessions: tokens of the file read inserted each turn [default: 1000].
    #[arg(help_heading = "Sessions", long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub insert_tokens: Option<u32>,
    /// Think time between a reply and the next turn, seconds: exp:MEAN, const:S or
    /// uniform:MIN:MAX [default: exp:3].
    #[arg(help_heading = "Sessions", long, value_parser = |s: &str| s.parse::<Think>())]
    pub think_time: Option<Think>,
    /// Context ladder: prompt lengths in the server's tokens, increasing, k = 1024
    /// [default: 1k, 2k, 4k, … up to the context the server reports]; a length beyond it is
    /// skipped with the reason.
    #[arg(help_heading = "Long context", long, value_parser = |s: &str| servebench_engine::load::ladder::parse_steps(s).map(LadderSteps))]
    pub ladder: Option<LadderSteps>,
    /// Replay a Mooncake-format trace (JSONL: timestamp ms, input_length, output_length,
    /// hash_ids of shared 512-token blocks) as the load phase, at its recorded times.
    #[arg(help_heading = "Load", long)]
    pub trace: Option<PathBuf>,
    /// Time scale of --trace: 2 replays it twice as fast [default: 1].
    #[arg(help_heading = "Load", long)]
    pub trace_speed: Option<f64>,
    /// Context ladder: requests per length [default: 3].
    #[arg(help_heading = "Long context", long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub ladder_requests: Option<u32>,
}

/// `--ladder`: the lengths, as one value (clap would read a `Vec` as many).
#[derive(Debug, Clone)]
pub struct LadderSteps(pub Vec<u32>);

/// `--quality-load`: a profile that puts load on the server (concurrency or rate).
pub fn quality_load_parser(s: &str) -> Result<Profile, String> {
    match s.parse::<Profile>().map_err(|e| e.to_string())? {
        p @ (Profile::Sequential
        | Profile::Sweep(_)
        | Profile::Sessions(_)
        | Profile::Ramp { .. }) => Err(format!(
            "{p} puts no load on the server while the tasks are asked: use concurrency:N or rate:R[:poisson|:constant|:gamma:B]"
        )),
        p => Ok(p),
    }
}

/// Read what the workload needs (corpora, session files, the trace, the infilling tasks) and
/// check that every target can be asked to fill in the middle where the workload types.
fn prepare_workload(plan: &mut Plan) -> anyhow::Result<()> {
    if let Workload::Autocomplete(ac) = &mut plan.settings.workload
        && let Some(i) = &mut ac.infill
    {
        i.eval.helper = Some(
            std::env::current_exe().context("cannot find the servebench binary for the sandbox")?,
        );
        i.load(ac.infill_limit)?;
    }
    plan.settings.load_workload().map_err(anyhow::Error::msg)?;
    plan.check_fim().map_err(anyhow::Error::msg)
}

// A method rather than `TryFrom<RunArgs> for RunJob`: an impl belongs to its type's module, and
// `target` (where `RunJob` lives) must not depend on the commands built on it.
impl RunArgs {
    /// The validated run job these arguments describe.
    pub fn into_job(self) -> anyhow::Result<RunJob> {
        self.into_job_as("run", |_| Ok(()))
    }

    /// The validated run job of command `cmd`, its overrides completed by `more`.
    fn into_job_as(
        self,
        cmd: &str,
        more: impl FnOnce(&mut RunOverrides) -> anyhow::Result<()>,
    ) -> anyhow::Result<RunJob> {
        let a = self;
        a.history.location().map_err(|e| anyhow::anyhow!(e))?;
        let mut overrides = RunOverrides {
            warm: a.warm,
            max_tokens: a.max_tokens,
            seed: a.seed,
            temperature: a.temperature,
            endpoint: a.endpoint.map(|e| match e {
                EndpointArg::Chat => Endpoint::Chat,
                EndpointArg::Completions => Endpoint::Completions,
            }),
            prompts: a.prompts.clone(),
            timeout_s: a.timeout,
            out: a.out.clone(),
            profile: a.profile.clone(),
            requests: a.requests,
            duration_s: a.duration,
            warmup: a.warmup,
            slo: a.slo,
            sharegpt: a.sharegpt.clone(),
            input_tokens: a.input_tokens,
            output_tokens: a.output_tokens,
            cold: a.cold,
            ttft_timeout_s: a.ttft_timeout,
            retries: a.retries,
            sample_hz: a.sample_hz,
            unique_prompts: a.allow_prompt_cache.then_some(false),
            quality: a.quality.clone(),
            quality_limit: a.quality_limit,
            quality_scenarios: a.quality_scenarios.clone(),
            quality_prompt_style: a.quality_prompt_style,
            quality_load: a.quality_load.clone(),
            workload: a.workload,
            developers: a.developers,
            corpus: a.corpus.clone(),
            debounce_ms: a.debounce_ms,
            typing_cps: a.typing_cps,
            prefix_tokens: a.prefix_tokens,
            suffix_tokens: a.suffix_tokens,
            fim_stop: a.fim_stop,
            fim_template: a.fim_template,
            editor: a.editor,
            infill: a.infill,
            infill_limit: a.infill_limit,
            sessions: a.sessions.clone(),
            turns: a.turns,
            session_count: a.session_count,
            context_tokens: a.context_tokens,
            insert_tokens: a.insert_tokens,
            think_time: a.think_time,
            ladder: a.ladder.clone().map(|l| l.0),
            ladder_requests: a.ladder_requests,
            trace: a.trace.clone(),
            trace_speed: a.trace_speed,
            team: a.team,
            ..RunOverrides::default()
        };
        more(&mut overrides)?;
        let mut plan = build_plan(cmd, a.plan.as_ref(), a.target, &overrides)?;
        prepare_quality(&mut plan)?;
        prepare_workload(&mut plan)?;
        if plan.settings.warm == 0 && plan.settings.workload.kind() == WorkloadKind::Chat {
            eprintln!(
                "servebench: warning: --warm 0: no warm phase, so every warm row of the summary stays empty and the recommendations have no warm numbers to go on"
            );
        }
        let s = &plan.settings;
        let prompts = match (&s.prompts, &s.sharegpt) {
            (Some(p), _) => prompts::load(p).context("--prompts")?,
            (None, Some(p)) => prompts::load_sharegpt(p).context("--sharegpt")?,
            (None, None) => prompts::builtin(),
        };
        let out_dir = out_dir(plan.settings.out.clone());
        Ok(RunJob {
            verbose: a.verbose,
            plan,
            prompts,
            out_dir,
            resume: false,
            repeat: a.repeat.unwrap_or(1),
            store: a.history.clone(),
        })
    }
}

/// `servebench capacity` arguments: a run's, plus the search's budget.
#[derive(Debug, Args)]
pub struct CapacityArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Time limit of each target's search (`30m`, `90s`, `1h`, or seconds); the search ends
    /// with the interval it bought, and says so.
    #[arg(help_heading = "Capacity search", long, value_parser = budget_parser)]
    pub budget: Option<f64>,
    /// Go on with the interrupted search in DIR (its finished steps are kept; the plan must
    /// be the one it ran). Writes into DIR instead of --out.
    #[arg(
        help_heading = "Capacity search",
        long,
        value_name = "DIR",
        conflicts_with = "out"
    )]
    pub resume: Option<PathBuf>,
}

/// `--budget`: `30m`, `90s`, `1h` or plain seconds.
fn budget_parser(s: &str) -> Result<f64, String> {
    let (num, unit) = match s.trim().strip_suffix(['s', 'm', 'h']) {
        Some(n) => (n, &s.trim()[s.trim().len() - 1..]),
        None => (s.trim(), "s"),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a duration: use e.g. 30m, 90s or 1h"))?;
    let secs = v * match unit {
        "m" => 60.0,
        "h" => 3600.0,
        _ => 1.0,
    };
    if (1.0..=7.0 * 86_400.0).contains(&secs) {
        Ok(secs)
    } else {
        Err(format!("`{s}` out of range: use 1s..=7d (e.g. 30m)"))
    }
}

impl CapacityArgs {
    /// The run job of a capacity search: the team workload with its search on.
    pub fn into_job(mut self) -> anyhow::Result<RunJob> {
        let budget = self.budget;
        let resume = self.resume.take();
        if let Some(dir) = &resume {
            self.run.out = Some(dir.clone());
        }
        let mut job = self.run.into_job_as("capacity", |o| {
            if o.workload.is_some_and(|w| w != WorkloadKind::Team) {
                anyhow::bail!(
                    "--workload: the capacity search runs the team mix: drop --workload"
                );
            }
            if o.team.is_some() {
                anyhow::bail!(
                    "--team: the capacity search sizes the team itself from [team.developer]: drop --team"
                );
            }
            o.capacity = true;
            o.budget_s = budget;
            Ok(())
        })?;
        if resume.is_some() && job.repeat > 1 {
            anyhow::bail!(
                "--resume with --repeat: a repeated search cannot be resumed: resume without --repeat, or start the set again"
            );
        }
        job.resume = resume.is_some();
        Ok(job)
    }
}
