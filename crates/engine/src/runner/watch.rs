//! Attributes telemetry to phases: a [`Mark`] at a phase's start, [`Watch::end`] at its end
//! collects the readings in between (GPU, server process, `/metrics`, and the resident model's
//! memory where the dialect reports it, e.g. Ollama's `/api/ps`).

use crate::backend::Client;
use crate::report::build::Window;
use crate::report::{OllamaPs, PsSize};
use crate::telemetry::sampler::{Scraper, Telemetry};
use crate::telemetry::{Sample, Scrape, now_unix_s, window};

/// What is watched while a target runs.
pub(super) struct Watch<'a> {
    pub tel: &'a Telemetry,
    pub scraper: Option<Scraper>,
    /// Set when the dialect reports the resident model (`Capabilities::resident_model`): it
    /// is read at phase ends.
    pub resident: Option<Client>,
}

/// The start of a phase.
pub(super) struct Mark {
    t: f64,
    ps: Option<PsSize>,
}

/// Readings of one phase (or of several windows, e.g. repeated cold loads).
#[derive(Default)]
pub(super) struct Resources {
    samples: Vec<Sample>,
    scrapes: Vec<Scrape>,
    ps: Option<OllamaPs>,
    pid: Option<u32>,
}

impl Resources {
    /// Add another window's readings.
    pub fn extend(&mut self, other: Resources) {
        self.samples.extend(other.samples);
        self.scrapes.extend(other.scrapes);
        self.pid = other.pid.or(self.pid);
        self.ps = match (self.ps.take(), other.ps) {
            (Some(a), Some(b)) => Some(OllamaPs {
                start: a.start,
                end: b.end,
            }),
            (a, b) => a.or(b),
        };
    }

    /// Energy over the readings taken at or after `from` (Unix s): a step without its
    /// warm-up.
    pub fn energy_since(
        &self,
        from: f64,
        tel: &Telemetry,
    ) -> Option<crate::report::energy::Energy> {
        let after: Vec<Sample> = self
            .samples
            .iter()
            .filter(|s| s.t_unix_s >= from)
            .cloned()
            .collect();
        window::energy(&after, tel.devices(), tel.rapl())
    }

    /// The phase's resource statistics, as the facts of its window.
    pub fn window(&self, tel: &Telemetry) -> Window {
        let mut server_metrics = window::metrics_phase(&self.scrapes);
        if let Some(ps) = &self.ps {
            server_metrics
                .get_or_insert_with(Default::default)
                .ollama_ps = Some(ps.clone());
        }
        Window {
            gpu: window::gpu_phase(&self.samples, tel.devices()),
            energy: window::energy(&self.samples, tel.devices(), tel.rapl()),
            server_process: self
                .pid
                .and_then(|pid| window::process_phase(&self.samples, pid)),
            server_metrics,
            ..Window::default()
        }
    }
}

impl Watch<'_> {
    async fn ps(&self) -> Option<PsSize> {
        let c = self.resident.as_ref()?;
        let (size_bytes, size_vram_bytes) = c.resident().await.ok()??;
        Some(PsSize {
            size_bytes,
            size_vram_bytes,
        })
    }

    async fn read_now(&self) {
        self.tel.sample_now();
        if let Some(s) = &self.scraper {
            s.scrape_now().await;
        }
    }

    /// Mark a phase's start.
    pub async fn begin(&self) -> Mark {
        let ps = self.ps().await;
        self.read_now().await;
        Mark {
            t: now_unix_s(),
            ps,
        }
    }

    /// Collect a phase's readings, ending now.
    pub async fn end(&self, m: &Mark) -> Resources {
        self.read_now().await;
        let to = now_unix_s();
        let ps = if self.resident.is_some() {
            Some(OllamaPs {
                start: m.ps,
                end: self.ps().await,
            })
        } else {
            None
        };
        Resources {
            samples: self.tel.between(m.t, to),
            // The scrape taken at `begin` is the counters' starting point.
            scrapes: self
                .scraper
                .as_ref()
                .map(|s| s.between(m.t - 5.0, to))
                .map(|v| trim_to_start(v, m.t))
                .unwrap_or_default(),
            ps,
            pid: self.tel.watched(),
        }
    }
}

/// Keep the last scrape at or before `start` (the phase's starting point) and every later one.
fn trim_to_start(v: Vec<Scrape>, start: f64) -> Vec<Scrape> {
    let first = v.iter().rposition(|s| s.t_unix_s <= start).unwrap_or(0);
    v.into_iter().skip(first).collect()
}
