//! One attempt at one target: launch (if managed), probe, model facts, the cold load(s), the
//! warm phase and the load profile, with telemetry attributed to each phase.

use super::attempt::Attempt;
use super::ctx::{Abort, Ctx, READY_TIMEOUT_S, UNLOAD_WAIT, stop_grace};
use super::error::TargetError;
use super::watch::{Resources, Watch};
use crate::backend::BackendError;
use crate::backend::Client;
use crate::events::{Event, Observer};
use crate::load::driver::{Schedule, Step};
use crate::load::profile::Profile;
use crate::load::synthetic;
use crate::plan::TargetSpec;
use crate::plan::Workload;
use crate::record::{Outcome, Phase, RequestRecord};
use crate::report::build::{Builder, TargetFacts};
use crate::report::{
    LoadSample, LoadSource, MemoryFacts, ModelCheck, PhaseReport, TargetReport, explain_memory,
};
use crate::server::ServerError;
use crate::server::{ManagedServer, port_in_use};
use crate::server_metrics::{self, Role};
use crate::stats::quantile_sorted;
use crate::telemetry::prometheus::CacheConfig;
use crate::telemetry::sampler::Scraper;
use std::time::Duration;

fn target_err(e: impl Into<TargetError>) -> Abort {
    Abort::Target(e.into())
}

/// Measure one attempt. `log_name` is the managed server's log file name.
pub(super) async fn measure(
    spec: &TargetSpec,
    client: &Client,
    ctx: &Ctx<'_>,
    obs: &mut dyn Observer,
    t: &mut TargetReport,
    server: &mut Option<ManagedServer>,
    log_name: &str,
) -> Result<(), Abort> {
    let mut a = Attempt {
        spec,
        client,
        ctx: Ctx {
            prompts: ctx.prompts.clone(),
            tags: ctx.tags.clone(),
            ..*ctx
        },
        obs,
        t,
        built: Builder::new(ctx.plan.settings.slo),
        server,
        log_name,
        launches: Vec::new(),
        cache: None,
        workload: None,
        answered_at_capacity: None,
    };
    let result = a.phases().await;
    // The attempt's statistics, from the function `report --from-journal` also uses: the
    // target's facts and the workload's own.
    let facts = TargetFacts::of_attempt(a.t, a.ctx.attempt).with_workload(a.workload.take());
    *a.t = a
        .built
        .target(&facts, &a.ctx.plan.settings.profile.to_string());
    a.t.memory = explain_memory(&memory_facts(a.t, &a.ctx, a.cache.as_ref()));
    result
}

impl<'a> Attempt<'a, '_> {
    async fn phases(&mut self) -> Result<(), Abort> {
        if self.spec.launch.is_some() {
            let d = self.launch(false).await?;
            self.launches.push(d);
        } else {
            self.ctx.telemetry.watch(self.spec.server_pid);
        }
        self.identify().await?;
        if self.ctx.plan.settings.output_tokens.is_some()
            && !self.client.capabilities().exact_output
        {
            self.note(
                "--output-tokens: this API cannot be told to ignore end-of-sequence, so a model may stop early; whether each request got its length is counted (output_length)".into(),
            )?;
        }
        self.size_prompts().await?;
        // The run's workload, then the quality evaluation when one is asked for.
        let plan = self.ctx.plan;
        if plan.settings.workload == Workload::Quality {
            return self.quality().await;
        }
        let mut watch = self.watch().await?;
        match &plan.settings.workload {
            Workload::Chat { .. } => {
                let cold_records = self.cold(&mut watch).await?;
                self.warm(&watch, &cold_records).await?;
                self.load(&watch).await?;
            }
            Workload::Autocomplete(ac) => self.autocomplete(ac, &watch).await?,
            Workload::Sessions(ss) => self.sessions(ss, &watch).await?,
            Workload::Context(ls) => self.ladder(ls, &watch).await?,
            // Boxed: the mix holds every workload's state at once, too large for a thread's
            // stack.
            Workload::Team(team) if team.capacity => Box::pin(self.capacity(team, &watch)).await?,
            Workload::Team(team) => Box::pin(self.team(team, &watch)).await?,
            Workload::Quality => {}
        }
        self.quality().await
    }

    /// Start the managed server; returns spawn → ready, s.
    async fn launch(&mut self, restart: bool) -> Result<f64, Abort> {
        let spec = self.spec;
        let Some(cmd) = &spec.launch else {
            return Err(target_err(TargetError::NoLaunchCommand));
        };
        let url = url::Url::parse(&spec.url).map_err(target_err)?;
        let (host, port) = (
            url.host_str().unwrap_or("localhost"),
            url.port_or_known_default().unwrap_or(80),
        );
        if port_in_use(host, port) {
            return Err(target_err(ServerError::PortInUse {
                addr: format!("{host}:{port}"),
            }));
        }
        self.note(format!("launching {} ({})", spec.model, cmd[0]))?;
        let log = self.ctx.out_dir.join(self.log_name);
        let s = self.server.insert(
            ManagedServer::spawn(cmd, &spec.env, spec.cwd.as_deref(), &log, restart)
                .map_err(target_err)?,
        );
        let timeout = Duration::from_secs_f64(spec.ready_timeout_s.unwrap_or(READY_TIMEOUT_S));
        let client = self.client;
        let ready = tokio::select! {
            r = s.wait_ready(timeout, || async { client.ready().await }) => r,
            _ = self.ctx.cancel.cancelled() => return Err(Abort::Cancelled),
        };
        let d = ready.map_err(target_err)?.as_secs_f64();
        self.ctx.telemetry.watch(s.pid());
        self.note(format!("ready after {d:.2} s"))?;
        Ok(d)
    }

    /// The server's version and the model's facts (from the API, and the model file a managed
    /// server was started with).
    async fn identify(&mut self) -> Result<(), Abort> {
        self.t.server_version = self.client.probe().await.map_err(target_err)?;
        let check = self.client.check_model().await.map_err(target_err)?;
        if check == ModelCheck::Unverified {
            self.note(format!(
                "could not verify the model name {}: the server lists no models",
                self.spec.model
            ))?;
        }
        self.t.model_check = Some(check);
        self.t.model_info = self.client.model_info().await.map_err(target_err)?;
        if let Some(path) = self
            .spec
            .launch
            .as_deref()
            .and_then(|cmd| crate::modelfile::local_models(cmd, self.spec.cwd.as_deref()).pop())
        {
            crate::modelfile::fill_from_file(&mut self.t.model_info, &path);
        }
        Ok(())
    }

    /// Synthetic prompts are sized in this server's own tokens.
    async fn size_prompts(&mut self) -> Result<(), Abort> {
        let s = &self.ctx.plan.settings;
        let Some(input) = s.input_tokens else {
            return Ok(());
        };
        let cal = self.client.calibrate().await.map_err(target_err)?;
        self.note(format!(
            "synthetic prompts: {:.3} words per token (measured with {})",
            cal.words_per_token, cal.method
        ))?;
        let s = &self.ctx.plan.settings;
        self.ctx.prompts = synthetic::prompts(
            crate::plan::SYNTHETIC_PROMPTS,
            input,
            s.output_tokens,
            cal.words_per_token,
            s.seed,
        )
        .into();
        self.t.prompt_calibration = Some(cal);
        Ok(())
    }

    /// What each phase's telemetry is read from: the sampler, the server's `/metrics` and
    /// the resident model's memory, as far as the dialect offers them.
    async fn watch(&mut self) -> Result<Watch<'a>, Abort> {
        let caps = self.client.capabilities();
        let mut watch = Watch {
            tel: self.ctx.telemetry,
            scraper: None,
            resident: caps.resident_model.then(|| self.client.clone()),
        };
        if !caps.servers.is_empty() {
            match Scraper::start(self.client.http().clone(), self.client.base(), caps.servers).await
            {
                Ok(s) => watch.scraper = Some(s),
                Err(reason) => self.note(format!("no server metrics: {reason}"))?,
            }
        }
        self.cache = watch
            .scraper
            .as_ref()
            .and_then(|s| s.cache_config().cloned());
        Ok(watch)
    }

    /// The cold load(s): make sure each cold request pays for a load, or say that it may not
    /// have. Returns the cold requests.
    async fn cold(&mut self, watch: &mut Watch<'_>) -> Result<Vec<RequestRecord>, Abort> {
        let (spec, client) = (self.spec, self.client);
        let managed = spec.launch.is_some();
        let caps = client.capabilities();
        let cold_n = self.cold_count()?;
        let mut cold_records: Vec<RequestRecord> = Vec::new();
        let mut cold_res = Resources::default();
        for k in 0..cold_n {
            if self.ctx.cancel.is_cancelled() {
                return Err(Abort::Cancelled);
            }
            if k > 0 && managed {
                self.note(format!("cold load {}/{cold_n}: restarting", k + 1))?;
                watch.scraper = None;
                self.ctx.telemetry.watch(None);
                if let Some(old) = self.server.take() {
                    old.stop(stop_grace(spec)).await;
                }
                let d = self.launch(true).await?;
                self.launches.push(d);
                if !caps.servers.is_empty() {
                    watch.scraper =
                        Scraper::start(client.http().clone(), client.base(), caps.servers)
                            .await
                            .ok();
                }
            }
            let unloaded = if caps.cold_unload {
                self.note(format!("cold load {}/{cold_n}: unloading the model", k + 1))?;
                client.unload(UNLOAD_WAIT).await.map_err(target_err)?
            } else {
                managed
            };
            let cold = self.sequential(Phase::Cold, 1, 0, watch).await?;
            let Some(first) = cold.first else {
                return Err(Abort::Cancelled);
            };
            first_request_ok(client, &first).await?;
            self.record_load(k, &first, unloaded);
            cold_res.extend(cold.resources);
            cold_records.push(first);
        }
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            (!v.is_empty()).then(|| quantile_sorted(&v, 0.5))
        };
        let t = &mut *self.t;
        t.load.seconds = median(t.load.samples.iter().map(|l| l.seconds).collect());
        t.load.source = t.load.samples.first().map(|l| l.source);
        t.load.launch_s = median(std::mem::take(&mut self.launches));
        if caps.resident_model
            && let Ok(Some((size, vram))) = client.resident().await
        {
            t.model_info.loaded_bytes = Some(size);
            t.model_info.loaded_vram_bytes = Some(vram);
        }
        let window = cold_res.window(self.ctx.telemetry);
        self.t.phases.cold = self.built.phase(self.who(), Phase::Cold, Some(&window));
        if self.ctx.cancel.is_cancelled() {
            return Err(Abort::Cancelled);
        }
        Ok(cold_records)
    }

    /// How many cold loads can be measured: a server servebench did not start (and that
    /// cannot unload its model) cannot be reloaded.
    fn cold_count(&mut self) -> Result<u32, Abort> {
        let cold = self.ctx.plan.settings.cold;
        if self.spec.launch.is_some() || self.client.capabilities().cold_unload {
            return Ok(cold);
        }
        if cold > 1 {
            self.note(format!(
                "--cold {cold}: servebench cannot reload a server it did not start; measuring one cold request"
            ))?;
        }
        Ok(1)
    }

    /// The load sample of cold request `k`: the server's own load time where it reports one,
    /// or a managed server's launch; `unloaded` says the model really was not loaded before it.
    fn record_load(&mut self, k: u32, first: &RequestRecord, unloaded: bool) {
        let server_load = first
            .server_timings
            .as_ref()
            .and_then(|st| st.load)
            .map(|d| d.as_secs_f64());
        let server_times_load = self.client.capabilities().server_load_time;
        let sample = match (server_times_load, self.launches.get(k as usize)) {
            (true, _) => server_load.map(|l| (l, LoadSource::Server)),
            (false, Some(l)) => Some((*l, LoadSource::Launch)),
            (false, None) => None,
        };
        let t = &mut *self.t;
        if let Some((seconds, source)) = sample {
            t.load.samples.push(LoadSample {
                seconds,
                source,
                verified: unloaded,
                cold_ttft_s: first
                    .outcome
                    .is_ok()
                    .then(|| first.ttft.map(|d| d.as_secs_f64()))
                    .flatten(),
            });
        }
        t.cold_verified = if k == 0 {
            unloaded
        } else {
            t.cold_verified && unloaded
        };
    }

    /// `requests` of the run's prompts one after another, from prompt `offset`, as `phase`.
    async fn sequential(
        &mut self,
        phase: Phase,
        requests: u64,
        offset: usize,
        watch: &Watch<'_>,
    ) -> Result<super::phase::PhaseDone, Abort> {
        let job = std::sync::Arc::new(crate::load::driver::Prompts {
            prompts: self.ctx.prompts.clone(),
            offset,
        });
        let step = Step {
            schedule: Schedule::Closed(1),
            requests: Some(requests),
            duration: None,
        };
        self.run_step(self.request_ctx(phase), job, step, watch)
            .await
    }

    /// The warm phase; the target fails when every request so far failed.
    async fn warm(
        &mut self,
        watch: &Watch<'_>,
        cold_records: &[RequestRecord],
    ) -> Result<(), Abort> {
        let cold = self.t.phases.cold.as_ref();
        let (mut sent, mut ok) = cold.map_or((0, 0), |c| (c.requests, c.ok));
        let warm_n = self.ctx.plan.settings.warm;
        if warm_n > 0 {
            let warm = self
                .sequential(Phase::Warm, warm_n.into(), 1, watch)
                .await?;
            let window = warm.resources.window(self.ctx.telemetry);
            let report = self.built.phase(self.who(), Phase::Warm, Some(&window));
            if let Some(r) = &report {
                sent += r.requests;
                ok += r.ok;
            }
            self.t.phases.warm = report;
        }
        if sent > 0 && ok == 0 && !self.ctx.cancel.is_cancelled() {
            let first = cold_records.first();
            return Err(target_err(TargetError::AllRequestsFailed {
                sent,
                kind: first.map_or(String::new(), |r| r.outcome.kind()),
                detail: first.and_then(|r| r.error.clone()).unwrap_or_default(),
            }));
        }
        Ok(())
    }

    /// The load profile: one closed or open-loop step, or a sweep.
    async fn load(&mut self, w: &Watch<'_>) -> Result<(), Abort> {
        let s = &self.ctx.plan.settings;
        let schedule = match s.profile.clone() {
            // `sessions:N` belongs to the sessions workload (the plan allows it nowhere else).
            Profile::Sequential | Profile::Sessions(_) => None,
            Profile::Concurrency(c) => Some(Schedule::Closed(c)),
            Profile::Rate { rate, arrival } => Some(Schedule::Open {
                rate,
                arrival,
                seed: s.seed,
            }),
            Profile::Sweep(steps) => {
                self.sweep(steps, w).await?;
                None
            }
            p @ Profile::Ramp { kind, .. } => {
                let schedules = p
                    .ramp_values()
                    .into_iter()
                    .map(|v| match kind {
                        crate::load::profile::RampKind::Concurrency => Schedule::Closed(v as u32),
                        crate::load::profile::RampKind::Rate => Schedule::Open {
                            rate: v,
                            arrival: crate::load::profile::Arrival::Poisson,
                            seed: s.seed,
                        },
                    })
                    .collect();
                self.ramp(schedules, w).await?;
                None
            }
        };
        if let Some(tr) = s.trace() {
            self.replay(tr, w).await?;
        }
        if let Some(schedule) = schedule {
            self.t.phases.load = self.load_step(schedule, Phase::Load, None, None, w).await?;
        }
        if self.ctx.cancel.is_cancelled() {
            return Err(Abort::Cancelled);
        }
        Ok(())
    }

    /// The quality evaluation, when asked for, against the server as it stands.
    async fn quality(&mut self) -> Result<(), Abort> {
        let ctx = &self.ctx;
        let (Some(q), Some(grader)) = (&ctx.plan.settings.quality, ctx.grader) else {
            return Ok(());
        };
        let answers = std::sync::Arc::new(self.request_ctx(Phase::Quality));
        let loaded = self.answered_at_capacity.take();
        let mut obs = AddGraded {
            inner: &mut *self.obs,
            built: &mut self.built,
        };
        let report =
            crate::eval::evaluate_with(&answers, &q.tasks, &q.settings, grader, loaded, &mut obs)
                .await
                .map_err(|e| match e {
                    crate::eval::EvalError::Io(io) => Abort::Io(io),
                    other => target_err(TargetError::Quality(other.to_string())),
                })?;
        self.t.quality = Some(report);
        if ctx.cancel.is_cancelled() {
            return Err(Abort::Cancelled);
        }
        Ok(())
    }
}

/// Passes every event on and adds each graded answer to the attempt's builder.
struct AddGraded<'b> {
    inner: &'b mut dyn Observer,
    built: &'b mut Builder,
}

impl Observer for AddGraded<'_> {
    fn on_event(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        if let Event::TaskGraded(r) = event {
            self.built.add_quality(r);
        }
        self.inner.on_event(event)
    }
}

/// A first cold request that shows the target is unusable ends the attempt: the model is not
/// there (with the models that are), the key is refused, or nothing listens.
async fn first_request_ok(client: &Client, first: &RequestRecord) -> Result<(), Abort> {
    match first.outcome {
        Outcome::Http(404) => Err(target_err(client.model_not_found().await)),
        Outcome::Http(status @ (401 | 403)) => Err(target_err(BackendError::Unauthorised {
            url: client.base().to_string(),
            status,
        })),
        Outcome::Connect => Err(target_err(BackendError::NotListening {
            url: client.base().to_string(),
            detail: first
                .error
                .clone()
                .unwrap_or_else(|| "connection failed".into()),
        })),
        _ => Ok(()),
    }
}

/// Gather what [`explain_memory`] needs from the target's phases and the run's GPU baseline.
fn memory_facts(t: &TargetReport, ctx: &Ctx<'_>, cache: Option<&CacheConfig>) -> MemoryFacts {
    let phases: Vec<&PhaseReport> = t
        .phases
        .cold
        .iter()
        .chain(&t.phases.warm)
        .chain(t.phases.load.iter().map(|l| &l.phase))
        .chain(t.phases.sweep.iter().map(|l| &l.phase))
        .collect();
    let max_of = |f: &dyn Fn(&PhaseReport) -> Option<f64>| {
        phases.iter().filter_map(|p| f(p)).reduce(f64::max)
    };
    let sum_devices =
        |p: &PhaseReport, f: &dyn Fn(&crate::report::GpuDeviceStats) -> Option<f64>| {
            let g = p.gpu.as_ref()?;
            g.devices.iter().map(f).sum::<Option<f64>>()
        };
    let server_mem_max = max_of(&|p| sum_devices(p, &|d| d.server_mem_bytes.max));
    let device_max = max_of(&|p| sum_devices(p, &|d| d.mem_used_bytes.max));
    let baseline = ctx.gpu_baseline.and_then(|b| {
        b.devices
            .iter()
            .map(|d| d.mem_used_bytes.mean)
            .sum::<Option<f64>>()
    });
    let kv_cache_usage_max = max_of(&|p| {
        let g = &p.server_metrics.as_ref()?.gauges;
        server_metrics::all(g, Role::KvUsage)
            .filter_map(|k| k.max)
            .reduce(f64::max)
    });
    let weights_source = |sources: &[String]| {
        let has = |p: &str| sources.iter().any(|s| s.starts_with(p));
        if has("gguf:") {
            "GGUF file size"
        } else if has("config.json:") {
            "safetensors files"
        } else if has("/api/tags") {
            "Ollama model size"
        } else {
            "stated by the server"
        }
    };
    MemoryFacts {
        weights: t
            .model_info
            .weights_bytes
            .map(|w| (w, weights_source(&t.model_info.sources).to_string())),
        server_mem_max: server_mem_max.map(|b| b as u64),
        device_mem_above_baseline: match (device_max, baseline) {
            (Some(m), Some(b)) if m > b => Some((m - b) as u64),
            _ => None,
        },
        device_total: ctx
            .telemetry
            .devices()
            .iter()
            .map(|d| d.mem_total_bytes)
            .sum::<Option<u64>>(),
        ollama_vram: t.model_info.loaded_vram_bytes.filter(|v| *v > 0),
        // vLLM states gpu_memory_utilization even on a CPU build, where it reserves nothing
        // on a GPU: a pre-allocation is said only where a GPU was read.
        preallocated_fraction: cache
            .and_then(|c| c.gpu_memory_utilization)
            .filter(|_| !ctx.telemetry.devices().is_empty()),
        kv_cache_usage_max,
        kv_cache_tokens: cache.and_then(CacheConfig::kv_tokens),
        kv_cache_bytes: cache.and_then(|c| c.kv_cache_memory_bytes),
        rss_max: max_of(&|p| p.server_process.as_ref()?.rss_bytes.max).map(|b| b as u64),
        gpu_available: !ctx.telemetry.devices().is_empty(),
    }
}
