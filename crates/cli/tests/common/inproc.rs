//! Running plans in-process, collecting what the engine publishes.

use servebench_engine::events::{Event, Observer};
use servebench_engine::plan::{Api, Plan, RunSettings, TargetSpec};
use servebench_engine::record::RequestRecord;
use servebench_engine::report::Report;

/// Collects every finished request.
#[derive(Default)]
pub struct Collect(pub Vec<RequestRecord>);

impl Observer for Collect {
    fn on_event(&mut self, e: &Event<'_>) -> std::io::Result<()> {
        match e {
            Event::RequestFinished(r) => self.0.push((*r).clone()),
            // Shown with a failing test's output: why the grader (not the model) failed.
            Event::TaskGraded(t)
                if t.graded.verdict == servebench_engine::eval::grade::Verdict::Error =>
            {
                eprintln!("grader error on {}: {:?}", t.task_id, t.graded.reason)
            }
            _ => {}
        }
        Ok(())
    }
}

/// A capacity search whose developers only send the prompt set, back to back (always on),
/// held to a first-token p90 of `ttft_p90_s`; the search's steps as the plan's defaults.
pub fn prompts_capacity(ttft_p90_s: f64) -> servebench_engine::plan::Team {
    use servebench_engine::report::capacity::{ClassSlo, Developer};
    let mut team =
        servebench_engine::plan::Team::new(servebench_engine::plan::TeamMix::default(), 1.0);
    team.capacity = true;
    team.developer = Developer {
        typing: 0.0,
        chat: 0.0,
        agent: 0.0,
        prompts: 1.0,
        ..Developer::default()
    };
    team.slo.prompts = ClassSlo {
        ttft_p90_s: Some(ttft_p90_s),
        tpot_p90_s: None,
        max_failure_rate: 0.01,
    };
    team
}

pub fn target(name: &str, api: Api, url: &str, model: &str) -> TargetSpec {
    TargetSpec::new(name, api, url, model)
}

/// Run targets in-process with `warm` requests; returns the report and every record.
pub async fn run_targets(
    targets: Vec<TargetSpec>,
    warm: u32,
    tweak: impl FnOnce(&mut RunSettings),
) -> (Report, Vec<RequestRecord>) {
    run_targets_gpu(
        targets,
        warm,
        tweak,
        servebench_engine::telemetry::gpu::open(),
    )
    .await
}

/// [`run_targets`] with a given GPU source.
pub async fn run_targets_gpu(
    targets: Vec<TargetSpec>,
    warm: u32,
    tweak: impl FnOnce(&mut RunSettings),
    gpu: Result<Box<dyn servebench_engine::telemetry::gpu::GpuSource>, String>,
) -> (Report, Vec<RequestRecord>) {
    let mut settings = RunSettings {
        warm,
        ..Default::default()
    };
    tweak(&mut settings);
    let plan = Plan { settings, targets };
    plan.validate().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut c = Collect::default();
    let cancel = tokio_util::sync::CancellationToken::new();
    let report = servebench_engine::runner::run_with_gpu(
        &plan,
        &servebench_engine::prompts::builtin(),
        out.path(),
        &mut c,
        &cancel,
        gpu,
    )
    .await
    .unwrap();
    (report, c.0)
}
