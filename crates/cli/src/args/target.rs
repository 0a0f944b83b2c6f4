//! A target from the quick-form flags, the plan built from them or from a file, and the
//! validated run job every command turns into.

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use servebench_engine::plan::{Api, Plan, RunOverrides, RunSettings, Spelling, TargetSpec};
use servebench_engine::prompts::Prompt;
use std::path::PathBuf;

/// `--api`: every dialect the engine has, each with its one-line description.
pub fn api_parser() -> impl clap::builder::TypedValueParser<Value = Api> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(
        Api::ALL
            .iter()
            .map(|a| PossibleValue::new(a.name()).help(a.about())),
    )
    .map(|s| s.parse::<Api>().expect("only listed dialects get here"))
}

/// OpenAI endpoint.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EndpointArg {
    /// /v1/chat/completions.
    Chat,
    /// /v1/completions.
    Completions,
}

/// One target described by flags (the quick form, without a plan).
#[derive(Debug, Args)]
#[command(next_help_heading = "Target (quick form, without a plan)")]
pub struct TargetArgs {
    /// API dialect of the server (quick form, without a plan).
    #[arg(long, value_parser = api_parser())]
    pub api: Option<Api>,
    /// Base URL of the server, e.g. http://localhost:8000.
    #[arg(long)]
    pub url: Option<String>,
    /// Model name to request.
    #[arg(long)]
    pub model: Option<String>,
    /// Label for the target in reports (default: the api).
    #[arg(long)]
    pub name: Option<String>,
    /// Pid of the (unmanaged) server whose process tree CPU and memory are sampled.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Environment variable holding the API key (sent as a Bearer token; never logged). With
    /// a plan, it applies to targets that name none.
    #[arg(long)]
    pub api_key_env: Option<String>,
    /// A JSON object merged into every generation request's body, e.g.
    /// '{"options": {"num_ctx": 8192}}' (Ollama) or '{"cache_prompt": false}' (llama.cpp).
    /// With a plan, it applies to targets without their own extra_body.
    #[arg(long, value_parser = extra_body_parser)]
    pub extra_body: Option<serde_json::Value>,
}

/// `--extra-body`: a JSON object.
fn extra_body_parser(s: &str) -> Result<serde_json::Value, String> {
    match serde_json::from_str::<serde_json::Value>(s) {
        Ok(v @ serde_json::Value::Object(_)) => Ok(v),
        Ok(_) => Err("expected a JSON object, e.g. '{\"cache_prompt\": false}'".into()),
        Err(e) => Err(format!(
            "not JSON ({e}): give an object, e.g. '{{\"cache_prompt\": false}}'"
        )),
    }
}

/// The plan: from a file, or one target from the quick-form flags; `overrides` applied.
pub fn build_plan(
    command: &str,
    file: Option<&PathBuf>,
    t: TargetArgs,
    overrides: &RunOverrides,
) -> anyhow::Result<Plan> {
    let quick = t.api.is_some()
        || t.url.is_some()
        || t.model.is_some()
        || t.name.is_some()
        || t.server_pid.is_some();
    match (file, quick) {
        (Some(p), true) => bail!(
            "{}: --api/--url/--model/--name/--server-pid describe one target; with a plan file, put them in [[targets]]",
            p.display()
        ),
        (Some(p), false) => {
            let mut plan = Plan::from_file(p, overrides)?;
            for target in plan.targets.iter_mut().filter(|x| x.api_key_env.is_none()) {
                target.api_key_env = t.api_key_env.clone();
            }
            for target in plan.targets.iter_mut().filter(|x| x.extra_body.is_none()) {
                target.extra_body = t.extra_body.clone();
            }
            Ok(plan)
        }
        (None, _) => {
            let (Some(api), Some(url), Some(model)) = (t.api, t.url, t.model) else {
                bail!(
                    "{command} needs a plan file, or all of --api, --url and --model (e.g. --api openai --url http://localhost:8000 --model NAME)"
                );
            };
            let mut settings = RunSettings::default();
            overrides.apply(&mut settings);
            if let Some(why) = overrides.misplaced(&settings, Spelling::Flag) {
                bail!("{why}");
            }
            let plan = Plan {
                settings,
                targets: vec![TargetSpec {
                    server_pid: t.server_pid,
                    api_key_env: t.api_key_env,
                    extra_body: t.extra_body,
                    ..TargetSpec::new(
                        &t.name.unwrap_or_else(|| api.to_string()),
                        api,
                        &url,
                        &model,
                    )
                }],
            };
            plan.validate()?;
            Ok(plan)
        }
    }
}

/// Load the quality tasks of `plan`, if any, and point the sandbox at this binary.
pub fn prepare_quality(plan: &mut Plan) -> anyhow::Result<()> {
    if let Some(q) = &mut plan.settings.quality {
        q.settings.helper = Some(
            std::env::current_exe().context("cannot find the servebench binary for the sandbox")?,
        );
        q.load()?;
    }
    Ok(())
}

/// The output directory: as given, else `servebench-results/<YYYYMMDD_HHMMSS>/`.
pub fn out_dir(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| {
        PathBuf::from("servebench-results")
            .join(chrono::Local::now().format("%Y%m%d_%H%M%S").to_string())
    })
}

/// A validated run: the plan, its prompts and where results go.
pub struct RunJob {
    pub verbose: bool,
    pub plan: Plan,
    pub prompts: Vec<Prompt>,
    pub out_dir: PathBuf,
    /// Go on with the interrupted run in `out_dir` (`capacity --resume`).
    pub resume: bool,
    /// Times the whole plan runs (`--repeat`; 1: a run of its own).
    pub repeat: u32,
    /// Where the finished run is recorded (`None`: `--no-store`), and its labels.
    pub store: StoreArgs,
}

/// Where a finished run is recorded, and the labels it carries.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StoreArgs {
    /// The history store: a SQLite file, or postgres://user@host/db for a team [default:
    /// ~/.local/share/servebench/history.sqlite].
    #[arg(
        help_heading = "History",
        long,
        env = "SERVEBENCH_STORE",
        hide_env_values = true,
        value_name = "FILE|URL"
    )]
    pub store: Option<String>,
    /// Do not record this run in the history store (whatever --store or SERVEBENCH_STORE say).
    #[arg(help_heading = "History", long)]
    pub no_store: bool,
    /// A label on the run (repeatable): `--label team=infra --label server=vllm-0.32`.
    #[arg(help_heading = "History", long = "label", value_name = "KEY=VALUE", value_parser = label_parser)]
    pub labels: Vec<(String, String)>,
}

impl StoreArgs {
    /// The store to use: `--store`/`SERVEBENCH_STORE`, else the default; `None` with
    /// `--no-store`. A value that is neither a file nor a PostgreSQL URL is refused, naming
    /// its scheme alone (checked here, not by clap, whose error would echo the whole value
    /// and a password in it).
    pub fn location(&self) -> Result<Option<servebench_engine::store::Location>, String> {
        if self.no_store {
            return Ok(None);
        }
        Ok(Some(match &self.store {
            Some(s) => servebench_engine::store::Location::parse(s)?,
            None => servebench_engine::store::default_location(),
        }))
    }
}

/// `KEY=VALUE`, the key non-empty.
pub fn label_parser(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!(
            "`{s}` is not a label: use KEY=VALUE (e.g. server=vllm-0.32)"
        )),
    }
}
