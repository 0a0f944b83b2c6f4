//! CPU and resident memory of a server's whole process tree (the server and every descendant,
//! e.g. vLLM's engine workers), read from `/proc`. This is the resource picture for CPU-only
//! servers.

use super::ProcessSample;
use std::collections::HashMap;
use std::time::Instant;

/// How often the whole process table is scanned for new children; in between only the
/// known members of the tree are read (a scan of every process costs milliseconds on a busy
/// machine, too much at 10 Hz).
const RESCAN: std::time::Duration = std::time::Duration::from_secs(1);

/// A process tree rooted at one pid, sampled repeatedly (CPU % needs two readings).
#[derive(Debug)]
pub struct ProcessTree {
    root: i32,
    last: Option<(Instant, u64)>,
    pids: Vec<u32>,
    scanned: Option<Instant>,
}

impl ProcessTree {
    /// Watch the tree under `root`.
    pub fn new(root: u32) -> ProcessTree {
        ProcessTree {
            root: root as i32,
            last: None,
            pids: Vec::new(),
            scanned: None,
        }
    }

    /// The root pid.
    pub fn root(&self) -> u32 {
        self.root as u32
    }

    /// Pids of the tree at the last reading.
    pub fn pids(&self) -> &[u32] {
        &self.pids
    }

    /// Read the tree now; `None` when the root no longer exists.
    pub fn sample(&mut self) -> Option<ProcessSample> {
        let now = Instant::now();
        if self.scanned.is_some_and(|t| now.duration_since(t) < RESCAN)
            && let Some(s) = self.sample_known(now)
        {
            return Some(s);
        }
        self.scanned = Some(now);
        let mut stats = HashMap::new();
        let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
        for p in procfs::process::all_processes().ok()?.flatten() {
            // A process may exit between listing and reading: skip it.
            if let Ok(s) = p.stat() {
                children.entry(s.ppid).or_default().push(s.pid);
                stats.insert(s.pid, (s.utime + s.stime, s.rss));
            }
        }
        stats.get(&self.root)?;
        let (mut ticks, mut pages) = (0u64, 0u64);
        let mut stack = vec![self.root];
        self.pids.clear();
        while let Some(pid) = stack.pop() {
            if let Some((t, rss)) = stats.get(&pid) {
                ticks += t;
                pages += rss;
                self.pids.push(pid as u32);
            }
            stack.extend(children.get(&pid).into_iter().flatten());
        }
        Some(self.reading(now, ticks, pages))
    }

    /// Read only the members found by the last scan; `None` when one has gone (rescan).
    fn sample_known(&mut self, now: Instant) -> Option<ProcessSample> {
        let (mut ticks, mut pages) = (0u64, 0u64);
        for pid in &self.pids {
            let s = procfs::process::Process::new(*pid as i32)
                .ok()?
                .stat()
                .ok()?;
            ticks += s.utime + s.stime;
            pages += s.rss;
        }
        Some(self.reading(now, ticks, pages))
    }

    fn reading(&mut self, now: Instant, ticks: u64, pages: u64) -> ProcessSample {
        let cpu_pct = self.last.and_then(|(at, before)| {
            let wall = now.duration_since(at).as_secs_f64();
            // A child that exited takes its ticks with it: never report a negative rate.
            (wall > 0.0).then(|| {
                ticks.saturating_sub(before) as f64 / procfs::ticks_per_second() as f64 / wall
                    * 100.0
            })
        });
        self.last = Some((now, ticks));
        ProcessSample {
            cpu_pct,
            rss_bytes: pages * procfs::page_size(),
            processes: self.pids.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_found_with_memory() {
        let mut t = ProcessTree::new(std::process::id());
        let s = t.sample().expect("this process exists");
        assert!(s.rss_bytes > 1_000_000, "{s:?}");
        assert!(s.cpu_pct.is_none());
        assert!(t.pids().contains(&std::process::id()));
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(t.sample().unwrap().cpu_pct.is_some());
    }

    #[test]
    fn a_missing_root_gives_none() {
        assert!(ProcessTree::new(i32::MAX as u32 - 7).sample().is_none());
    }
}
