//! Background sampling: one thread reads the GPUs and the watched server's process tree at
//! `--sample-hz`; one task per target scrapes the server's `/metrics` at 1 Hz. Phases ask for
//! an immediate reading at their start and end, so even a sub-second phase has its own.

use super::gpu::{DeviceInfo, GpuSource};
use super::process::ProcessTree;
use super::prometheus::{self, CacheConfig};
use super::rapl::Rapl;
use super::{Sample, Scrape, now_unix_s};
use crate::server_metrics::Server;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

struct State {
    gpu: Option<Box<dyn GpuSource>>,
    rapl: Option<Rapl>,
    tree: Option<ProcessTree>,
    samples: Vec<Sample>,
}

impl State {
    fn sample(&mut self) {
        let process = self.tree.as_mut().and_then(ProcessTree::sample);
        let pids = self
            .tree
            .as_ref()
            .map(|t| t.pids().to_vec())
            .unwrap_or_default();
        let gpu = self
            .gpu
            .as_mut()
            .map(|g| g.sample(&pids))
            .unwrap_or_default();
        let rapl_uj = self.rapl.as_ref().map(Rapl::read).unwrap_or_default();
        self.samples.push(Sample {
            t_unix_s: now_unix_s(),
            gpu,
            process,
            rapl_uj,
        });
    }
}

struct Shared {
    state: Mutex<State>,
    stop: AtomicBool,
}

/// The run's sampler of GPUs and the server process.
pub struct Telemetry {
    shared: Arc<Shared>,
    devices: Vec<DeviceInfo>,
    rapl: Result<Vec<Option<u64>>, String>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Telemetry {
    /// Start sampling `gpu` (if any) and the CPU's RAPL counters (or the reason there are
    /// none) every `1 / hz` seconds.
    pub fn start(
        gpu: Option<Box<dyn GpuSource>>,
        rapl: Result<Rapl, String>,
        hz: f64,
    ) -> Telemetry {
        let devices = gpu
            .as_ref()
            .map(|g| g.devices().to_vec())
            .unwrap_or_default();
        let ranges = rapl.as_ref().map(Rapl::ranges).map_err(Clone::clone);
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                gpu,
                rapl: rapl.ok(),
                tree: None,
                samples: Vec::new(),
            }),
            stop: AtomicBool::new(false),
        });
        let period = Duration::from_secs_f64(1.0 / hz.max(0.01));
        let bg = shared.clone();
        let thread = std::thread::Builder::new()
            .name("servebench-telemetry".into())
            .spawn(move || {
                while !bg.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(period);
                    lock(&bg.state).sample();
                }
            })
            .ok();
        Telemetry {
            shared,
            devices,
            rapl: ranges,
            thread,
        }
    }

    /// The GPUs being read.
    pub fn devices(&self) -> &[DeviceInfo] {
        &self.devices
    }

    /// The RAPL zones' wrap points, or why the CPU's energy cannot be read.
    pub fn rapl(&self) -> Result<&[Option<u64>], &str> {
        self.rapl.as_deref().map_err(String::as_str)
    }

    /// Watch the process tree under `pid` from now on (`None`: stop watching).
    pub fn watch(&self, pid: Option<u32>) {
        let mut s = lock(&self.shared.state);
        s.tree = pid.map(ProcessTree::new);
        if s.tree.is_some() {
            // The first reading only sets the CPU baseline.
            s.sample();
        }
    }

    /// The watched root pid.
    pub fn watched(&self) -> Option<u32> {
        lock(&self.shared.state)
            .tree
            .as_ref()
            .map(ProcessTree::root)
    }

    /// Take a reading now.
    pub fn sample_now(&self) {
        lock(&self.shared.state).sample();
    }

    /// Readings with `from < t ≤ to`.
    pub fn between(&self, from: f64, to: f64) -> Vec<Sample> {
        let s = lock(&self.shared.state);
        let lo = s.samples.partition_point(|x| x.t_unix_s <= from);
        let hi = s.samples.partition_point(|x| x.t_unix_s <= to);
        s.samples[lo..hi.max(lo)].to_vec()
    }
}

/// A poisoned lock only means a sampling thread panicked mid-push; the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Scrapes one server's `/metrics` at 1 Hz while it lives.
pub struct Scraper {
    /// The servers whose metrics the target's dialect may meet.
    servers: &'static [&'static Server],
    http: reqwest::Client,
    url: String,
    scrapes: Arc<Mutex<Vec<Scrape>>>,
    cache_config: Option<CacheConfig>,
    task: tokio::task::JoinHandle<()>,
}

/// How long one scrape may take.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);

async fn scrape(
    http: &reqwest::Client,
    url: &str,
) -> Result<Vec<prometheus::MetricSample>, String> {
    let resp = http
        .get(url)
        .timeout(SCRAPE_TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("no answer from {url}: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("{url} answered HTTP {}", resp.status().as_u16()));
    }
    let text = resp
        .text()
        .await
        .map_err(|e| format!("{url}: cannot read the body: {e}"))?;
    Ok(prometheus::parse(&text))
}

impl Scraper {
    /// Start scraping `base/metrics`, or say why the server has no usable metrics (no
    /// endpoint, or none of the serving metrics servebench knows).
    pub async fn start(
        http: reqwest::Client,
        base: &str,
        servers: &'static [&'static Server],
    ) -> Result<Scraper, String> {
        let url = format!("{}/metrics", base.trim_end_matches('/'));
        let first = scrape(&http, &url).await?;
        let values = prometheus::known_values(&first, servers);
        if values.is_empty() {
            return Err(format!(
                "{url} has none of the serving metrics servebench reads"
            ));
        }
        let cache_config = CacheConfig::from_samples(&first);
        let scrapes = Arc::new(Mutex::new(vec![Scrape {
            t_unix_s: now_unix_s(),
            values,
        }]));
        let (bg, bg_http, bg_url) = (scrapes.clone(), http.clone(), url.clone());
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Ok(s) = scrape(&bg_http, &bg_url).await {
                    let values = prometheus::known_values(&s, servers);
                    lock(&bg).push(Scrape {
                        t_unix_s: now_unix_s(),
                        values,
                    });
                }
            }
        });
        Ok(Scraper {
            servers,
            http,
            url,
            scrapes,
            cache_config,
            task,
        })
    }

    /// Scrape now (phase boundaries), ignoring a failure.
    pub async fn scrape_now(&self) {
        if let Ok(s) = scrape(&self.http, &self.url).await {
            let values = prometheus::known_values(&s, self.servers);
            let mut all = lock(&self.scrapes);
            all.push(Scrape {
                t_unix_s: now_unix_s(),
                values,
            });
            // Keep time order: the background task may have pushed a later scrape meanwhile.
            all.sort_by(|a, b| a.t_unix_s.total_cmp(&b.t_unix_s));
        }
    }

    /// vLLM's KV-cache configuration, when exposed.
    pub fn cache_config(&self) -> Option<&CacheConfig> {
        self.cache_config.as_ref()
    }

    /// Scrapes with `from ≤ t ≤ to`.
    pub fn between(&self, from: f64, to: f64) -> Vec<Scrape> {
        lock(&self.scrapes)
            .iter()
            .filter(|s| s.t_unix_s >= from && s.t_unix_s <= to)
            .cloned()
            .collect()
    }
}

impl Drop for Scraper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::DeviceSample;

    /// A GPU whose memory use grows by 1 MiB per reading.
    struct FakeGpu {
        info: Vec<DeviceInfo>,
        reads: u64,
    }

    impl GpuSource for FakeGpu {
        fn devices(&self) -> &[DeviceInfo] {
            &self.info
        }
        fn sample(&mut self, pids: &[u32]) -> Vec<DeviceSample> {
            self.reads += 1;
            vec![DeviceSample {
                index: 0,
                mem_used_bytes: Some(self.reads << 20),
                mem_total_bytes: Some(1 << 30),
                gpu_util_pct: Some(50.0),
                process_mem_bytes: (!pids.is_empty()).then_some(1 << 20),
                ..Default::default()
            }]
        }
    }

    #[test]
    fn samples_at_the_rate_and_by_window() {
        let gpu = FakeGpu {
            info: vec![DeviceInfo {
                index: 0,
                name: "Fake".into(),
                uuid: None,
                mem_total_bytes: Some(1 << 30),
            }],
            reads: 0,
        };
        let t = Telemetry::start(Some(Box::new(gpu)), Err("none".into()), 50.0);
        let start = now_unix_s();
        t.watch(Some(std::process::id()));
        std::thread::sleep(Duration::from_millis(400));
        t.sample_now();
        let end = now_unix_s();
        let w = t.between(start, end);
        // 50 Hz over 0.4 s ≈ 20 readings; the box may be slow, so only bound it loosely.
        assert!((8..=30).contains(&w.len()), "{}", w.len());
        assert!(w.windows(2).all(|p| p[0].t_unix_s <= p[1].t_unix_s));
        assert!(w.iter().all(|s| s.process.is_some()));
        assert!(
            w.iter()
                .all(|s| s.gpu[0].process_mem_bytes == Some(1 << 20))
        );
        assert_eq!(t.watched(), Some(std::process::id()));
        assert!(t.between(end, end + 1.0).len() <= 1);
    }
}
