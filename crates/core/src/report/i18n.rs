//! Every human-facing string of the comparison document, one catalogue per language. Korean
//! uses the seed document's own vocabulary (초기 로딩 = cold, 연속 응답 = warm). Templates take
//! `{name}` placeholders, filled by [`fill`]; the sentences they fill are [`Message`]s.

pub use super::lang::{Lang, fill};
pub use super::message::{Arg, Code, Message};
use super::metric::MetricId;

/// The strings of one language.
#[derive(Debug)]
pub struct Catalog {
    /// Document title.
    pub title: &'static str,
    /// Intro line: `{targets}`, `{date}`.
    pub intro: &'static str,
    /// Summary heading.
    pub summary: &'static str,
    /// First column header.
    pub metric_col: &'static str,
    /// Comparison column header: `{b}` vs `{a}`.
    pub compare_col: &'static str,
    /// Better column header.
    pub better_col: &'static str,
    /// Significance column header.
    pub significance_col: &'static str,
    /// "tie".
    pub tie: &'static str,
    /// "not a goodness measure".
    pub neither: &'static str,
    /// Faster / slower / higher / lower words for the delta cell.
    pub faster: &'static str,
    /// Slower.
    pub slower: &'static str,
    /// Higher.
    pub higher: &'static str,
    /// Lower.
    pub lower: &'static str,
    /// Significant cell: `{p}`.
    pub significant: &'static str,
    /// Not significant cell: `{p}`.
    pub not_significant: &'static str,
    /// Not significant although p < 0.05, because the interval of the difference includes 0:
    /// `{p}`, `{lo}`, `{hi}`.
    pub not_significant_ci: &'static str,
    /// Marks a cold value that may not follow a fresh load.
    pub unverified: &'static str,
    /// Too few samples cell: `{na}`, `{nb}`.
    pub too_few: &'static str,
    /// No per-request samples.
    pub no_samples: &'static str,
    /// Quality row label: pass@1.
    pub pass_at_1: &'static str,
    /// Significance cell of a quality row without per-task outcomes on both sides.
    pub untestable: &'static str,
    /// Significance cell of a quality row tested by task: `{yes}`, `{p}`, `{n}`, `{how}`.
    pub paired_cell: &'static str,
    /// Significance cell of a row of two repeated runs: `{yes}`, `{na}`, `{nb}`, `{p}`.
    pub run_level_cell: &'static str,
    /// Column head of the paired test in the quality table: `{a}`, `{b}`.
    pub paired_col: &'static str,
    /// "yes" and "no" of a significance cell.
    pub yes_no: [&'static str; 2],
    /// The paired tests' names: McNemar's exact test, the paired bootstrap with a sign test.
    pub how: [&'static str; 2],
    /// Footnote on the comparison column: `{a}`, `{b}`.
    pub delta_note: &'static str,
    /// Footnote on bold and significance.
    pub bold_note: &'static str,
    /// Caveats heading.
    pub caveats: &'static str,
    /// Workload findings heading.
    pub findings: &'static str,
    /// Recommendations heading.
    pub recommendations: &'static str,
    /// The lead of a report over several targets: what a reader should conclude.
    pub conclude: &'static str,
    /// Quality heading.
    pub quality: &'static str,
    /// Scenario column.
    pub scenario_col: &'static str,
    /// "Average score".
    pub average: &'static str,
    /// A single target cannot be compared.
    pub single: &'static str,
    /// Recommendation scenario names.
    pub rec_interactive: &'static str,
    /// Throughput.
    pub rec_throughput: &'static str,
    /// Memory.
    pub rec_memory: &'static str,
    /// Quality.
    pub rec_quality: &'static str,
    /// "no choice" cell.
    pub no_choice: &'static str,
    /// Reasons: `{x}` the target, `{v}` the value.
    pub why_interactive: &'static str,
    /// Throughput reason.
    pub why_throughput: &'static str,
    /// Memory reason.
    pub why_memory: &'static str,
    /// Quality reason.
    pub why_quality: &'static str,
    /// Missing data reason: `{what}`.
    pub why_missing: &'static str,
    /// What is missing: warm TTFT, GPU memory, quality scores.
    pub what_ttft: &'static str,
    /// The cold phase, as a word inside sentences.
    pub phase_cold: &'static str,
    /// The warm phase, as a word inside sentences.
    pub phase_warm: &'static str,
    /// GPU memory.
    pub what_gpu_mem: &'static str,
    /// Quality scores.
    pub what_quality: &'static str,
    /// Seconds, as a delta's unit.
    pub unit_seconds: &'static str,
    /// Tokens per second, as a delta's unit.
    pub unit_tok_s: &'static str,
    /// Said before the run report's detail when that detail is in English (it is written in
    /// English only).
    pub details_in_english: &'static str,
    /// "saturation throughput" (what the throughput recommendation compared).
    pub what_saturation: &'static str,
    /// "single-stream warm throughput".
    pub what_single_stream: &'static str,
    /// "the highest throughput under load" (the best load step or sweep step of each).
    pub what_load_peak: &'static str,
    /// "load data for every target" (when only some have it).
    pub what_load_all: &'static str,
    /// Memory reason when only device memory % is known: `{x}`, `{v}`.
    pub why_memory_pct: &'static str,
    /// Not distinguishable: `{x}`.
    pub why_not_significant: &'static str,
    /// Same model, answering alike: `{a}`, `{b}`, `{pct}`.
    pub same_alike: &'static str,
    /// Same model, different pass rates: `{a}`, `{b}`, `{pct}`, `{oa}`, `{ob}`, `{p}`.
    pub same_quality: &'static str,
    /// Same model, different text, same quality: `{a}`, `{b}`, `{pct}`, `{oa}`, `{ob}`, `{p}`.
    pub same_text: &'static str,
    /// Same model, different text, no pass/fail to pair: `{a}`, `{b}`, `{pct}`.
    pub same_untested: &'static str,
    /// Quality scores within the tie band: `{x}`, `{y}`, `{v}`.
    pub why_quality_tie: &'static str,
    /// Same model, its weights stored differently: `{a}`, `{b}`, `{qa}`, `{qb}`.
    pub same_differs_quant: &'static str,
    /// Same model, served by different servers: `{a}`, `{b}`, `{sa}`, `{sb}`.
    pub same_differs_server: &'static str,
    /// A quality lead with no per-task data to test it: `{x}`.
    pub why_untestable: &'static str,
    /// The same-model section's heading.
    pub same_heading: &'static str,
    /// Its intro: `{a}`, `{b}`.
    pub same_intro: &'static str,
    /// Its table's column heads: scenario, tasks compared, identical answers, median first
    /// divergence (character).
    pub same_cols: [&'static str; 4],
    /// The paired pass/fail line: `{both}`, `{oa}`, `{ob}`, `{neither}`, `{a}`, `{b}`.
    pub same_table: &'static str,
    /// Caveat templates.
    pub cav_quant: &'static str,
    /// Quantisation unknown: `{x}`.
    pub cav_quant_unknown: &'static str,
    /// The label of the saturation point on the throughput chart.
    pub saturation: &'static str,
    /// Unrequested prompt-cache hits: `{x}`, `{phase}`, `{n}` of `{of}` requests.
    pub cav_prompt_cache: &'static str,
    /// An unstable warm phase: `{x}`, `{spread}` (max / median), `{cv}`.
    pub cav_unstable: &'static str,
    /// Per-request mean and phase throughput disagree: `{a}`, `{b}`, `{mean}`, `{phase}`
    /// (the better side by each).
    pub cav_contradiction: &'static str,
    /// A recommendation resting on an unstable or contradicted metric: `{x}`.
    pub why_unstable: &'static str,
    /// A CPU-starved server: `{x}`, `{cpu}` %, `{threads}`.
    pub cav_cpu_starved: &'static str,
    /// Different models: `{a}`, `{b}`.
    pub cav_models: &'static str,
    /// Pre-allocation: `{x}`, `{pct}`.
    pub cav_prealloc: &'static str,
    /// Single stream: `{x}`.
    pub cav_single_stream: &'static str,
    /// Different workload: `{what}`.
    pub cav_workload: &'static str,
    /// Cold not verified: `{x}`.
    pub cav_cold: &'static str,
    /// Fallback: `{x}`, `{tried}`, `{model}`.
    pub cav_fallback: &'static str,
    /// No GPU: `{x}`, `{reason}`.
    pub cav_no_gpu: &'static str,
    /// Same report twice: `{x}`.
    pub cav_same: &'static str,
    /// Both repeated, rows tested over runs: `{x}`, `{y}`, `{na}`, `{nb}`.
    pub cav_run_level: &'static str,
    /// One side repeated, the other not: `{x}` (repeated, `{n}` runs), `{y}`.
    pub cav_repeated_one_side: &'static str,
    /// A repeated run's capacity and load tables are its first repeat's: `{x}`, `{n}` runs.
    pub cav_repeat_views: &'static str,
    /// A repeat measured with a fallback model, in its entry's means: `{x}`, `{k}` (the
    /// repeat), `{tried}`, `{model}`.
    pub cav_fallback_repeat: &'static str,
    /// Failed target: `{x}`, `{error}`.
    pub cav_failed: &'static str,
    /// Caveat: answers the grader could not grade: `{x}`, `{errors}`, `{scored}`, `{tasks}`.
    pub cav_grader_errors: &'static str,
    /// GPU utilisation note.
    pub util_note: &'static str,
    /// Charts heading.
    pub charts: &'static str,
    /// CDF chart title: `{m}` (TTFT, E2E).
    pub chart_cdf: &'static str,
    /// Share-of-requests axis.
    pub axis_share: &'static str,
    /// Throughput by concurrency.
    pub chart_tput: &'static str,
    /// TTFT by concurrency.
    pub chart_ttft_conc: &'static str,
    /// Concurrency axis.
    pub axis_concurrency: &'static str,
    /// GPU timeline title: `{x}`.
    pub chart_gpu: &'static str,
    /// The capacity section's heading.
    pub cap_heading: &'static str,
    /// A target's capacity: `{x}`, `{n}`, `{interval}`.
    pub cap_line: &'static str,
    /// Which class broke first: `{class}`, `{metric}`, `{v}`, `{limit}`.
    pub cap_broke: &'static str,
    /// Capacity intervals apart: `{x}`, `{y}`.
    pub cap_significant: &'static str,
    /// Capacity intervals overlapping: `{x}`, `{y}`.
    pub cap_overlap: &'static str,
    /// The by-team-size line's lead.
    pub cap_by_size: &'static str,
    /// A band from one developer: `{to}`.
    pub band_upto: &'static str,
    /// A band: `{from}`, `{to}`.
    pub band_range: &'static str,
    /// Past every capacity: `{n}`.
    pub band_beyond: &'static str,
    /// Several stacks serve a band: `{x}`.
    pub band_either: &'static str,
    /// How the capacity comparison decides.
    pub cap_method: &'static str,
    /// The step-by-step load comparison's heading: `{a}`, `{b}`.
    pub load_heading: &'static str,
    /// Its column heads: load, throughput a, throughput b, TTFT p90 a, TTFT p90 b, ahead.
    pub load_cols: &'static str,
    /// A concurrency load: `{n}`.
    pub load_streams: &'static str,
    /// A rate load: `{n}`.
    pub load_rate: &'static str,
    /// Neither ahead (within 2 %, the comparison's tie band).
    pub tie_word: &'static str,
    /// A crossover: `{x}`, `{from}`, `{y}`, `{to}`, `{unit}`.
    pub crossover: &'static str,
    /// No crossover: `{x}`.
    pub no_crossover: &'static str,
    /// The unit word of a concurrency load.
    pub unit_streams: &'static str,
    /// The unit word of a rate load.
    pub unit_rate: &'static str,
    /// Metric labels (with their unit) by metric.
    pub metric: fn(MetricId) -> &'static str,
}

/// The catalogue of `lang`.
pub fn catalog(lang: Lang) -> &'static Catalog {
    match lang {
        Lang::En => &EN,
        Lang::Ko => &KO,
    }
}

impl Catalog {
    /// The label of metric `id` (quality rows are built from the scenario name).
    pub fn label(&self, id: &str) -> String {
        if let Some(s) = id.strip_prefix("quality_") {
            return match s {
                "average" => self.average.to_string(),
                "pass_at_1" => self.pass_at_1.to_string(),
                _ => format!("`{s}`"),
            };
        }
        MetricId::from_key(id).map_or(id.to_string(), |m| (self.metric)(m).to_string())
    }
}

impl Catalog {
    /// The template of `code`.
    pub fn text(&self, code: Code) -> &'static str {
        match code {
            Code::WhyInteractive => self.why_interactive,
            Code::WhyThroughput => self.why_throughput,
            Code::WhyMemory => self.why_memory,
            Code::WhyQuality => self.why_quality,
            Code::WhyMissing => self.why_missing,
            Code::WhatTtft => self.what_ttft,
            Code::PhaseCold => self.phase_cold,
            Code::PhaseWarm => self.phase_warm,
            Code::WhatGpuMem => self.what_gpu_mem,
            Code::WhatQuality => self.what_quality,
            Code::WhatSaturation => self.what_saturation,
            Code::WhatSingleStream => self.what_single_stream,
            Code::WhatLoadPeak => self.what_load_peak,
            Code::WhatLoadAll => self.what_load_all,
            Code::WhyMemoryPct => self.why_memory_pct,
            Code::WhyNotSignificant => self.why_not_significant,
            Code::SameAlike => self.same_alike,
            Code::SameQuality => self.same_quality,
            Code::SameText => self.same_text,
            Code::SameUntested => self.same_untested,
            Code::WhyQualityTie => self.why_quality_tie,
            Code::SameDiffersQuant => self.same_differs_quant,
            Code::SameDiffersServer => self.same_differs_server,
            Code::WhyUntestable => self.why_untestable,
            Code::CavQuant => self.cav_quant,
            Code::CavQuantUnknown => self.cav_quant_unknown,
            Code::CavPromptCache => self.cav_prompt_cache,
            Code::CavUnstable => self.cav_unstable,
            Code::CavContradiction => self.cav_contradiction,
            Code::WhyUnstable => self.why_unstable,
            Code::CavCpuStarved => self.cav_cpu_starved,
            Code::CavModels => self.cav_models,
            Code::CavPrealloc => self.cav_prealloc,
            Code::CavSingleStream => self.cav_single_stream,
            Code::CavWorkload => self.cav_workload,
            Code::CavCold => self.cav_cold,
            Code::CavFallback => self.cav_fallback,
            Code::CavNoGpu => self.cav_no_gpu,
            Code::CavSame => self.cav_same,
            Code::CavRunLevel => self.cav_run_level,
            Code::CavRepeatedOneSide => self.cav_repeated_one_side,
            Code::CavRepeatViews => self.cav_repeat_views,
            Code::CavFallbackRepeat => self.cav_fallback_repeat,
            Code::CavFailed => self.cav_failed,
            Code::CavGraderErrors => self.cav_grader_errors,
            Code::CapSignificant => self.cap_significant,
            Code::CapOverlap => self.cap_overlap,
            Code::Crossover => self.crossover,
            Code::NoCrossover => self.no_crossover,
            Code::UnitStreams => self.unit_streams,
            Code::UnitRate => self.unit_rate,
        }
    }

    /// `m` in this catalogue's language.
    pub fn render(&self, m: &Message) -> String {
        let values: Vec<(String, String)> = m
            .values
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Arg::Text(t) => t.clone(),
                    Arg::Word { word } => self.text(*word).to_string(),
                };
                (k.clone(), v)
            })
            .collect();
        let vars: Vec<(&str, &str)> = values
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        fill(self.text(m.code), &vars)
    }

    /// Several messages in this language, one after another.
    pub fn render_all(&self, ms: &[Message]) -> String {
        ms.iter()
            .map(|m| self.render(m))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// English metric labels.
fn en_metric(m: MetricId) -> &'static str {
    use MetricId::*;
    match m {
        LoadS => "Load time (s)",
        ColdE2eS => "Cold response time (s)",
        ColdTokS => "Cold TPS (tok/s)",
        ColdGpuMemPct => "Cold GPU memory (%)",
        ColdGpuUtilPct => "Cold GPU utilisation (%)",
        WarmE2eS => "Warm response time (s)",
        WarmTokS => "Warm TPS (tok/s)",
        WarmGpuMemPct => "Warm GPU memory (%)",
        WarmGpuUtilPct => "Warm GPU utilisation (%)",
        WarmTtftS => "Warm TTFT p50 (s)",
        WarmTpotS => "Warm TPOT p50 (s)",
        WarmDecodeTokS => "Warm decode rate (tok/s)",
        SaturationTokS => "Saturation throughput (tok/s)",
        ColdTtftS => "Cold TTFT (s)",
        WarmOutputTokS => "Warm throughput (tok/s)",
        QualityAverage => "Average quality score (0-5)",
    }
}

/// The run report's headline labels (English; the unit and direction are added by the table).
pub fn headline_label(m: MetricId) -> &'static str {
    use MetricId::*;
    match m {
        LoadS => "Load time",
        ColdTtftS => "Cold TTFT",
        ColdE2eS => "Cold response time (E2E)",
        ColdTokS => "Cold TPS (e2e)",
        ColdGpuMemPct => "Cold GPU memory",
        ColdGpuUtilPct => "Cold GPU utilisation",
        WarmE2eS => "Warm response time (E2E, mean)",
        WarmTokS => "Warm TPS (e2e, mean)",
        WarmGpuMemPct => "Warm GPU memory",
        WarmGpuUtilPct => "Warm GPU utilisation",
        WarmTtftS => "Warm TTFT p50",
        WarmTpotS => "Warm TPOT p50",
        WarmDecodeTokS => "Warm decode rate (mean)",
        WarmOutputTokS => "Warm throughput (phase output)",
        SaturationTokS => "Saturation throughput",
        QualityAverage => "Average quality score",
    }
}

static EN: Catalog = Catalog {
    title: "servebench comparison",
    intro: "Compared: {targets}. Generated {date} from servebench reports.",
    summary: "Performance summary",
    metric_col: "Metric (unit)",
    compare_col: "Comparison ({b} vs {a})",
    better_col: "Better",
    significance_col: "Significant?",
    tie: "tie",
    neither: "not a goodness measure",
    faster: "faster",
    slower: "slower",
    higher: "higher",
    lower: "lower",
    significant: "yes (p = {p})",
    not_significant: "no (p = {p})",
    not_significant_ci: "no: p = {p}, but the 95 % interval of the difference ({lo} … {hi}) includes 0",
    unverified: "unverified cold",
    too_few: "too few samples (n = {na} / {nb})",
    no_samples: "no per-request samples",
    pass_at_1: "pass@1 (code tasks, 0–1)",
    untestable: "not testable: a side has no per-task outcomes (or they share no task)",
    paired_cell: "{yes} ({how} by task, n = {n}, p = {p})",
    run_level_cell: "{yes} (Welch's t over runs, {na} vs {nb} runs, p = {p})",
    paired_col: "{b} vs {a}: significant?",
    yes_no: ["yes", "no"],
    how: ["McNemar exact", "paired bootstrap + sign test"],
    delta_note: "The comparison column is {b} minus {a}.",
    bold_note: "A winner is in bold only when the difference is significant (Mann–Whitney U p < 0.05 and a 95 % bootstrap interval of the difference that excludes 0); differences under 2 % are a tie.",
    caveats: "What needs care",
    findings: "What the workloads found",
    recommendations: "Recommendations",
    conclude: "What to conclude",
    quality: "Coding quality",
    scenario_col: "Scenario",
    average: "Average score",
    single: "One target: nothing to compare it with, so no recommendation is made.",
    rec_interactive: "interactive",
    rec_throughput: "throughput",
    rec_memory: "memory",
    rec_quality: "quality",
    no_choice: "none",
    why_interactive: "{x} has the lowest warm TTFT p50 ({v} s): what a person waiting for the first word feels.",
    why_throughput: "{x} has the highest {what} ({v} tok/s).",
    why_memory: "{x} used the least GPU memory ({v} GiB).",
    why_quality: "{x} has the highest average quality score ({v} of 5).",
    why_missing: "Not enough data: {what}.",
    what_ttft: "warm TTFT of at least two targets",
    phase_cold: "cold",
    phase_warm: "warm",
    what_gpu_mem: "GPU memory of at least two targets",
    what_quality: "quality scores of at least two targets (run with --quality)",
    unit_seconds: "s",
    unit_tok_s: "tok/s",
    details_in_english: "The measurement details below are in English.",
    what_saturation: "saturation throughput",
    what_single_stream: "single-stream warm throughput",
    what_load_peak: "output throughput under load (its best load or sweep step)",
    what_load_all: "load data for every target (only some were run under load, so their single-stream numbers are not compared against it)",
    why_memory_pct: "{x} used the least GPU memory ({v} % of the device while warm).",
    why_not_significant: "{x} is ahead, but the difference is not significant.",
    same_alike: "{a} and {b} gave the same greedy answer to {pct} % of the tasks: the model answers alike on both stacks, so a speed difference between them is the server's, and a quality difference this small is noise.",
    same_quality: "{a} and {b} answer differently ({pct} % identical) and pass different tasks (only {a}: {oa}, only {b}: {ob}; McNemar p = {p}): the quality gap comes from the model bits (quantisation or file), not from the server's speed.",
    why_quality_tie: "{x} and {y} have the same average quality score ({v} of 5, within 2 %): the data name no winner.",
    same_differs_quant: "What differs — the quantisation: {a} serves {qa}, {b} {qb}.",
    same_differs_server: "What differs — the server: {a} is {sa}, {b} {sb}.",
    same_text: "{a} and {b} answer differently ({pct} % identical) but pass about the same tasks (only {a}: {oa}, only {b}: {ob}; McNemar p = {p}): the data show different text, not a different quality.",
    same_untested: "{a} and {b} answer differently ({pct} % identical); with no one-answer-per-task pass/fail to pair, the data cannot say whether their quality differs.",
    why_untestable: "{x} is ahead, but the reports hold no per-task outcomes to test the difference with.",
    same_heading: "Same model?",
    same_intro: "{a} and {b} serve the same model (the same name, or the same family and size in their model facts) and were asked the same tasks greedily, so their answers can be compared task by task.",
    same_cols: [
        "Scenario",
        "Tasks compared",
        "Identical answers",
        "Median first divergence (character)",
    ],
    same_table: "Code tasks: both pass {both}, only {a} {oa}, only {b} {ob}, neither {neither}.",
    cav_quant: "Different quantisation: {a} vs {b} — not the same model bits; speed and quality differences are partly the quantisation's.",
    cav_quant_unknown: "The quantisation of {x} is not stated by its server; it is not guessed here.",
    saturation: "saturation",
    cav_unstable: "{x}: the warm latencies are unstable (the slowest request took {spread}× the median; coefficient of variation {cv}) — a busy machine or a stalled server; its means and its phase throughput are a few slow requests' numbers: rerun it before deciding on them.",
    cav_contradiction: "The per-request mean (warm TPS) calls {mean} better but the phase throughput calls {phase} better: the phase throughput divides all tokens by the wall time, so a few very slow requests dominate it while the mean hides them — the distribution is unstable, and neither figure alone describes it.",
    why_unstable: "It rests on an unstable or contradicted measurement of {x} (see the caveats).",
    cav_cpu_starved: "{x}: the server was started with {threads} thread(s) but its process got only {cpu} % CPU on average while warm (under 80 % of {threads} × 100 %): the machine was busy, and its speed is the machine's, not the stack's.",
    cav_prompt_cache: "{x}: {n} of {of} {phase} requests were prompt-cache hits (more than half of the prompt from the server's cache) although every prompt was made unique: their TTFT does not measure prompt processing.",
    cav_models: "Different models: {a} vs {b}.",
    cav_prealloc: "{x} pre-allocates {pct} % of GPU memory at start: its GPU memory % is a reservation, not what the model needs.",
    cav_single_stream: "{x} was measured one request at a time only: no concurrency sweep, so throughput under load is not compared.",
    cav_workload: "The runs differ in {what}: the numbers are not from the same workload.",
    cav_cold: "{x}'s cold phase was not verified: the first request may have found the model already loaded.",
    cav_fallback: "{x}: {tried} could not run; measured with the fallback {model}.",
    cav_no_gpu: "{x}: no GPU readings ({reason}).",
    cav_same: "{x} appears twice: a report is being compared with itself.",
    cav_run_level: "{x} and {y} were each repeated ({na} and {nb} runs): every row of theirs is the mean of the runs' values, tested at the run level (Welch's t over runs) where the runs vary, else as single runs are.",
    cav_repeated_one_side: "{x} was repeated ({n} runs) and {y} was not: {x}'s rows are its means over runs, tested against {y} on per-request samples ({x}'s repeats pooled); repeat both for run-level tests.",
    cav_repeat_views: "{x} was repeated ({n} runs): its rows are means over runs, but its capacity and load-by-load tables show repeat 1 alone.",
    cav_fallback_repeat: "{x} (repeat {k}): {tried} could not run; that repeat measured the fallback {model}, and its values are in {x}'s means over runs.",
    cav_failed: "{x} failed: {error}",
    cav_grader_errors: "{x}: {errors} answer(s) could not be graded (servebench's own failure, not the model's): its pass@1 is over {scored} of {tasks} code tasks.",
    util_note: "GPU utilisation says the GPU was busy, not that it was used well: no side is called better on it.",
    charts: "Charts",
    chart_cdf: "{m} CDF (warm)",
    axis_share: "share of requests",
    chart_tput: "Output throughput by concurrency",
    chart_ttft_conc: "TTFT p50 by concurrency",
    axis_concurrency: "concurrency",
    chart_gpu: "GPU over the run ({x})",
    cap_heading: "Capacity at the team's objectives",
    cap_line: "{x}: {n} developers (95 % interval {interval})",
    cap_broke: "{class} breaks first, on {metric} ({v} against {limit})",
    cap_significant: "{x} serves more developers than {y}: their 95 % intervals do not overlap (significant).",
    cap_overlap: "{x} and {y}: their 95 % intervals overlap, so the capacities are not told apart (not significant).",
    cap_by_size: "By team size",
    band_upto: "up to {to} developers",
    band_range: "{from}–{to} developers",
    band_beyond: "more than {n}: no stack measured",
    band_either: "either ({x})",
    cap_method: "Capacities from `servebench capacity`; two differ significantly when their 95 % intervals do not overlap (a conservative test). The team-size bands use the point capacities.",
    load_heading: "{b} vs {a}, step by step at the loads both measured",
    load_cols: "Load|{a} (tok/s)|{b} (tok/s)|{a} TTFT p90 (s)|{b} TTFT p90 (s)|Ahead on throughput",
    load_streams: "{n} streams",
    load_rate: "{n} req/s",
    tie_word: "tie (within 2 %)",
    crossover: "{x} ahead at {unit} {from}, {y} from {unit} {to} on.",
    no_crossover: "{x} ahead at every load both measured.",
    unit_streams: "concurrency",
    unit_rate: "rate (req/s)",
    metric: en_metric,
};

/// Korean metric labels.
fn ko_metric(m: MetricId) -> &'static str {
    use MetricId::*;
    match m {
        LoadS => "초기 로딩 시간 (초)",
        ColdE2eS => "초기 로딩 응답 시간 (초)",
        ColdTokS => "초기 로딩 TPS (토큰/초)",
        ColdGpuMemPct => "초기 로딩 GPU 메모리 (%)",
        ColdGpuUtilPct => "초기 로딩 GPU 사용률 (%)",
        WarmE2eS => "연속 응답 시간 (초)",
        WarmTokS => "연속 응답 TPS (토큰/초)",
        WarmGpuMemPct => "연속 응답 GPU 메모리 (%)",
        WarmGpuUtilPct => "연속 응답 GPU 사용률 (%)",
        WarmTtftS => "연속 응답 TTFT 중앙값 (초)",
        WarmTpotS => "연속 응답 TPOT 중앙값 (초)",
        WarmDecodeTokS => "연속 응답 디코딩 속도 (토큰/초)",
        SaturationTokS => "포화 처리량 (토큰/초)",
        ColdTtftS => "초기 로딩 TTFT (초)",
        WarmOutputTokS => "연속 응답 처리량 (토큰/초)",
        QualityAverage => "평균 품질 점수 (0-5)",
    }
}

static KO: Catalog = Catalog {
    title: "servebench 성능 비교",
    intro: "비교 대상: {targets}. servebench 보고서로부터 {date}에 생성했습니다.",
    summary: "성능 지표 비교 요약",
    metric_col: "지표 항목 (단위)",
    compare_col: "비교 ({b} vs {a})",
    better_col: "더 나은 쪽",
    significance_col: "유의미한 차이?",
    tie: "동일",
    neither: "좋고 나쁨의 척도가 아님",
    faster: "더 빠름",
    slower: "더 느림",
    higher: "더 높음",
    lower: "더 낮음",
    significant: "예 (p = {p})",
    not_significant: "아니오 (p = {p})",
    not_significant_ci: "아니오: p = {p}이지만 차이의 95 % 구간({lo} … {hi})이 0을 포함함",
    unverified: "초기 로딩 미확인",
    too_few: "표본 부족 (n = {na} / {nb})",
    no_samples: "요청별 표본 없음",
    pass_at_1: "pass@1 (코드 과제, 0–1)",
    untestable: "검정 불가: 한쪽에 과제별 결과가 없거나 공통 과제가 없음",
    paired_cell: "{yes} (과제별 {how}, n = {n}, p = {p})",
    run_level_cell: "{yes} (실행 단위 Welch t 검정, 실행 {na}회 대 {nb}회, p = {p})",
    paired_col: "{b} 대 {a}: 유의한가?",
    yes_no: ["예", "아니오"],
    how: ["McNemar 정확 검정", "짝지은 부트스트랩 + 부호 검정"],
    delta_note: "비교 열은 {b} 수치에서 {a} 수치를 뺀 값입니다.",
    bold_note: "굵은 글씨는 차이가 통계적으로 유의미할 때만 표시합니다 (Mann–Whitney U p < 0.05, 차이의 95 % 부트스트랩 구간이 0을 포함하지 않음). 2 % 미만의 차이는 동일로 봅니다.",
    caveats: "해석에 주의가 필요한 점",
    findings: "워크로드에서 발견된 점",
    recommendations: "권장 사용 시나리오",
    conclude: "결론",
    quality: "코딩 능력 평가 비교",
    scenario_col: "시나리오",
    average: "평균 점수",
    single: "대상이 하나뿐이므로 비교할 수 없으며, 권장 사항을 제시하지 않습니다.",
    rec_interactive: "대화형 (첫 응답 속도)",
    rec_throughput: "처리량",
    rec_memory: "메모리",
    rec_quality: "코딩 품질",
    no_choice: "없음",
    why_interactive: "{x}의 연속 응답 TTFT 중앙값이 가장 낮습니다 ({v} 초): 첫 단어를 기다리는 사람이 체감하는 속도입니다.",
    why_throughput: "{what} 기준으로 {x} 쪽이 가장 높습니다 ({v} 토큰/초).",
    why_memory: "{x}가 GPU 메모리를 가장 적게 사용했습니다 ({v} GiB).",
    why_quality: "{x}의 평균 코딩 점수가 가장 높습니다 (5점 만점에 {v}점).",
    why_missing: "데이터가 부족합니다: {what}.",
    what_ttft: "두 대상 이상의 연속 응답 TTFT",
    phase_cold: "초기 로딩",
    phase_warm: "연속 응답",
    what_gpu_mem: "두 대상 이상의 GPU 메모리",
    what_quality: "두 대상 이상의 코딩 점수 (--quality로 실행)",
    unit_seconds: "초",
    unit_tok_s: "TPS",
    details_in_english: "아래의 세부 측정 내역은 영어로 제공됩니다.",
    what_saturation: "포화 처리량",
    what_single_stream: "단일 스트림 연속 응답 처리량",
    what_load_peak: "부하 상태의 최고 출력 처리량 (가장 좋은 부하 단계 또는 스윕 단계)",
    what_load_all: "모든 대상의 부하 데이터 (일부만 부하 상태로 실행되어 단일 스트림 수치와 비교하지 않습니다)",
    why_memory_pct: "{x}가 GPU 메모리를 가장 적게 사용했습니다 (연속 응답 중 장치의 {v} %).",
    why_not_significant: "{x}가 앞서지만 차이가 통계적으로 유의미하지 않습니다.",
    same_alike: "{a}, {b} 두 대상은 과제의 {pct} %에 같은 탐욕적(greedy) 답을 냈습니다. 두 스택에서 모델이 같게 답하므로, 속도 차이는 서버의 차이이고 이만큼 작은 품질 차이는 잡음입니다.",
    same_quality: "{a}, {b} 두 대상은 다르게 답하고(동일 {pct} %) 통과한 과제도 다릅니다({a}만: {oa}, {b}만: {ob}; McNemar p = {p}). 품질 차이는 서버 속도가 아니라 모델 파일(양자화 등)에서 옵니다.",
    why_quality_tie: "{x}, {y} 두 대상의 평균 코딩 점수가 같습니다 (5점 만점에 {v}점, 2 % 이내): 데이터로는 우열을 가릴 수 없습니다.",
    same_differs_quant: "다른 점 — 양자화: {a}는 {qa}, {b}는 {qb}로 서비스합니다.",
    same_differs_server: "다른 점 — 서버: {a}는 {sa}, {b}는 {sb}입니다.",
    same_text: "{a}, {b} 두 대상은 다르게 답하지만(동일 {pct} %) 통과한 과제는 거의 같습니다({a}만: {oa}, {b}만: {ob}; McNemar p = {p}). 데이터가 보여 주는 것은 다른 문장이지 다른 품질이 아닙니다.",
    same_untested: "{a}, {b} 두 대상은 다르게 답합니다(동일 {pct} %). 과제마다 답 하나의 통과/실패를 짝지을 수 없어, 품질이 다른지는 데이터로 말할 수 없습니다.",
    why_untestable: "{x}가 앞서지만 차이를 검정할 과제별 결과가 보고서에 없습니다.",
    same_heading: "같은 모델인가?",
    same_intro: "{a}, {b} 두 대상은 같은 모델(같은 이름, 또는 모델 정보상 같은 계열과 크기)을 서비스하고 같은 과제를 탐욕적으로 받았으므로, 답을 과제별로 비교할 수 있습니다.",
    same_cols: [
        "시나리오",
        "비교한 과제",
        "동일한 답",
        "첫 차이 위치 중앙값(문자)",
    ],
    same_table: "코드 과제: 둘 다 통과 {both}, {a}만 {oa}, {b}만 {ob}, 둘 다 실패 {neither}.",
    cav_quant: "양자화가 다릅니다: {a} vs {b} — 같은 모델 가중치가 아니므로 속도와 품질의 차이 일부는 양자화 때문입니다.",
    cav_quant_unknown: "{x}의 양자화 방식은 서버가 알려주지 않았으며, 여기서 추정하지 않습니다.",
    saturation: "포화 지점",
    cav_unstable: "{x}: 연속 응답 시간이 불안정합니다 (가장 느린 요청이 중앙값의 {spread}배, 변동계수 {cv}) — 바쁜 머신이거나 서버가 멈췄던 것으로 보입니다. 평균과 구간 처리량은 소수의 느린 요청이 좌우하므로, 판단 전에 다시 측정하십시오.",
    cav_contradiction: "요청별 평균(연속 응답 TPS)으로는 {mean} 쪽이, 구간 처리량으로는 {phase} 쪽이 더 낫습니다. 구간 처리량은 전체 토큰을 전체 시간으로 나누므로 소수의 매우 느린 요청이 좌우하고, 평균은 그런 요청을 가립니다. 분포가 불안정하여 어느 한 수치만으로는 설명되지 않습니다.",
    why_unstable: "{x}의 측정이 불안정하거나 서로 모순됩니다 (주의 사항 참고).",
    cav_cpu_starved: "{x}: 서버를 스레드 {threads}개로 시작했지만 연속 응답 구간에서 프로세스가 평균 CPU {cpu} %만 사용했습니다 ({threads} × 100 %의 80 % 미만). 머신이 바빴으므로 이 속도는 서빙 스택이 아니라 머신의 상태를 보여 줍니다.",
    cav_prompt_cache: "{x}: 모든 프롬프트를 고유하게 만들었는데도 {phase} 요청 {of}개 중 {n}개가 프롬프트 캐시에서 처리되었습니다 (프롬프트의 절반 이상을 서버 캐시에서 읽음). 이 요청들의 TTFT는 프롬프트 처리 시간을 나타내지 않습니다.",
    cav_models: "모델이 다릅니다: {a} vs {b}.",
    cav_prealloc: "{x}는 시작할 때 GPU 메모리의 {pct} %를 미리 할당합니다: GPU 메모리 사용률은 모델이 실제로 필요한 양이 아니라 예약량입니다.",
    cav_single_stream: "{x}는 한 번에 요청 하나씩만 측정했습니다: 동시성 스윕이 없으므로 부하 상태의 처리량은 비교하지 않았습니다.",
    cav_workload: "두 실행은 다음 설정이 다릅니다: {what}. 같은 작업량에서 얻은 수치가 아닙니다.",
    cav_cold: "{x}의 초기 로딩 단계는 검증되지 않았습니다: 첫 요청 시점에 모델이 이미 로드되어 있었을 수 있습니다.",
    cav_fallback: "{x}: {tried} 실행에 실패하여 대체 모델 {model}로 측정했습니다.",
    cav_no_gpu: "{x}: GPU 측정값 없음 ({reason}).",
    cav_same: "{x}가 두 번 나옵니다: 같은 보고서를 자기 자신과 비교하고 있습니다.",
    cav_run_level: "{x}와 {y}는 각각 반복 실행되었습니다 (실행 {na}회와 {nb}회): 모든 행은 실행별 값의 평균이며, 실행 간 값이 달라지는 경우 실행 단위로 검정했고 (실행 간 Welch t 검정), 그렇지 않으면 단일 실행처럼 검정했습니다.",
    cav_repeated_one_side: "{x}는 반복 실행되었고 ({n}회) {y}는 그렇지 않습니다: {x}의 행은 실행별 값의 평균이며, {y}와는 요청별 표본으로 검정했습니다 ({x}의 반복 실행을 합침); 실행 단위 검정을 하려면 둘 다 반복하십시오.",
    cav_repeat_views: "{x}는 반복 실행되었습니다 (실행 {n}회): 행의 값은 실행별 평균이지만, 용량 표와 부하별 표는 첫 번째 반복 실행만 보여 줍니다.",
    cav_fallback_repeat: "{x} (반복 {k}): {tried} 실행에 실패하여 이 반복 실행은 대체 모델 {model}로 측정했으며, 그 값이 {x}의 실행별 평균에 포함되어 있습니다.",
    cav_failed: "{x} 측정 실패: {error}",
    cav_grader_errors: "{x}: 답변 {errors}개를 채점하지 못했습니다 (모델이 아니라 servebench 자체의 실패): pass@1은 코드 과제 {tasks}개 중 {scored}개에 대한 값입니다.",
    util_note: "GPU 사용률은 GPU가 바빴다는 뜻일 뿐 잘 활용했다는 뜻이 아니므로, 이 지표로는 어느 쪽도 더 낫다고 하지 않습니다.",
    charts: "그래프",
    chart_cdf: "{m} 누적 분포 (연속 응답)",
    axis_share: "요청 비율",
    chart_tput: "동시성별 출력 처리량",
    chart_ttft_conc: "동시성별 TTFT 중앙값",
    axis_concurrency: "동시성",
    chart_gpu: "실행 중 GPU ({x})",
    cap_heading: "팀 목표(SLO) 기준 수용 개발자 수",
    cap_line: "{x}: 개발자 {n}명 (95 % 구간 {interval})",
    cap_broke: "{class}가 먼저 한계에 도달 ({metric}: {v}, 목표 {limit})",
    cap_significant: "{x}가 {y}보다 많은 개발자를 수용합니다: 95 % 구간이 겹치지 않습니다(유의함).",
    cap_overlap: "{x}와 {y}: 95 % 구간이 겹쳐 수용 인원 차이를 가릴 수 없습니다(유의하지 않음).",
    cap_by_size: "팀 규모별",
    band_upto: "개발자 {to}명까지",
    band_range: "개발자 {from}–{to}명",
    band_beyond: "{n}명 초과: 측정된 스택 없음",
    band_either: "어느 쪽이든 ({x})",
    cap_method: "수용 인원은 `servebench capacity`의 결과입니다. 두 95 % 구간이 겹치지 않을 때만 유의한 차이로 봅니다(보수적 검정). 팀 규모 구간은 점추정치를 씁니다.",
    load_heading: "{b} 대 {a}: 두 실행이 모두 측정한 부하별 비교",
    load_cols: "부하|{a} (tok/s)|{b} (tok/s)|{a} TTFT p90 (s)|{b} TTFT p90 (s)|처리량 우세",
    load_streams: "스트림 {n}개",
    load_rate: "{n} req/s",
    tie_word: "동률 (2 % 이내)",
    crossover: "{unit} {from}에서는 {x}가 앞서고, {unit} {to}부터는 {y}가 앞섭니다.",
    no_crossover: "두 실행이 측정한 모든 부하에서 {x}가 앞섭니다.",
    unit_streams: "동시 요청",
    unit_rate: "요청률(req/s)",
    metric: ko_metric,
};

#[cfg(test)]
mod tests {
    /// A Korean reader expects the particle the name takes, not both written out: the
    /// sentences are worded so no particle follows a name or a value that could be Latin.
    #[test]
    fn the_korean_catalogue_writes_no_double_particles() {
        let source = include_str!("i18n.rs");
        for (a, b) in [("이", "가"), ("을", "를"), ("은", "는"), ("과", "와")] {
            let both = format!("{a}({b})");
            assert!(!source.contains(&both), "`{both}` in the Korean catalogue");
        }
    }
}
