//! Managed servers: servebench starts a target's server (`launch = [...]`), times spawn → API
//! ready as the load time, streams its output to `server-<name>.log`, and always stops its
//! whole process group — SIGTERM, then SIGKILL — when done, on error, or when dropped.
//!
//! Every start gets a private `TMPDIR` (unless the launch environment names one), removed after
//! the stop with what the server left there (vLLM's `vllm_dist_*` rendezvous files, its cache
//! root, torch's scratch folders), and the shared-memory files that Intel OpenMP registers per
//! process (`/dev/shm/__KMP_REGISTERED_LIB_<pid>_<uid>`) are removed for the group's processes.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::fs::File;
use std::future::Future;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// Why a managed server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The command could not be spawned.
    #[error("cannot start {cmd:?}: {source}: check the launch command")]
    Spawn {
        /// Program.
        cmd: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The log file could not be created.
    #[error("cannot create server log {path}: {source}")]
    Log {
        /// Log path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The server's private temporary directory could not be made.
    #[error(
        "cannot create a temporary directory for the server in {path}: {source}: check that it is writable, or set TMPDIR in the target's env"
    )]
    TmpDir {
        /// Where it was to be made.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Something already listens where the server should.
    #[error("{addr} is already in use before launch: stop what listens there or change the port")]
    PortInUse {
        /// host:port.
        addr: String,
    },
    /// The process exited before its API answered.
    #[error("server exited with {status} before it was ready; its log ends: {last}; see {log}")]
    Exited {
        /// Exit status.
        status: String,
        /// Log path.
        log: String,
        /// The log's last lines, joined with ` | ` (`(empty)` when it wrote nothing).
        last: String,
    },
    /// The API did not answer in time.
    #[error("server not ready after {secs:.0} s; see {log} or raise ready_timeout_s")]
    NotReady {
        /// Timeout.
        secs: f64,
        /// Log path.
        log: String,
    },
}

/// A server process group owned by servebench.
#[derive(Debug)]
pub struct ManagedServer {
    child: Child,
    pgid: Pid,
    log: String,
    spawned: Instant,
    /// The private `TMPDIR`, removed when the server is stopped or dropped.
    tmp: Option<tempfile::TempDir>,
    /// Every pid seen in the group (while waiting for readiness, and at the stop): whose
    /// leftovers to remove, even of a process that has exited by then.
    seen: std::collections::BTreeSet<i32>,
}

/// True when something accepts TCP connections at `host:port`.
pub fn port_in_use(host: &str, port: u16) -> bool {
    (host, port)
        .to_socket_addrs()
        .map(|mut addrs| {
            addrs.any(|a| TcpStream::connect_timeout(&a, Duration::from_millis(300)).is_ok())
        })
        .unwrap_or(false)
}

impl ManagedServer {
    /// Spawn `cmd` in its own process group (with `env` added, in `cwd` when given), output
    /// to `log` (appended to, when `append`: a restart keeps the earlier starts' output).
    pub fn spawn(
        cmd: &[String],
        env: &std::collections::BTreeMap<String, String>,
        cwd: Option<&Path>,
        log: &Path,
        append: bool,
    ) -> Result<ManagedServer, ServerError> {
        let log_s = log.display().to_string();
        let out = File::options()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(log)
            .map_err(|source| ServerError::Log {
                path: log_s.clone(),
                source,
            })?;
        let err = out.try_clone().map_err(|source| ServerError::Log {
            path: log_s.clone(),
            source,
        })?;
        let tmp = if env.contains_key("TMPDIR") {
            None
        } else {
            Some(
                tempfile::Builder::new()
                    .prefix("servebench-server-")
                    .tempdir()
                    .map_err(|source| ServerError::TmpDir {
                        path: std::env::temp_dir().display().to_string(),
                        source,
                    })?,
            )
        };
        let spawned = Instant::now();
        let mut command = Command::new(&cmd[0]);
        if let Some(dir) = cwd {
            command.current_dir(dir);
        }
        if let Some(t) = &tmp {
            command.env("TMPDIR", t.path());
        }
        let child = command
            .args(&cmd[1..])
            .envs(env)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|source| ServerError::Spawn {
                cmd: cmd[0].clone(),
                source,
            })?;
        let pgid = Pid::from_raw(child.id().map(|id| id as i32).unwrap_or(0));
        Ok(ManagedServer {
            child,
            pgid,
            log: log_s,
            spawned,
            tmp,
            seen: Default::default(),
        })
    }

    /// The server's pid (the root of its process tree).
    pub fn pid(&self) -> Option<u32> {
        (self.pgid.as_raw() > 0).then_some(self.pgid.as_raw() as u32)
    }

    /// The log file.
    pub fn log_path(&self) -> &str {
        &self.log
    }

    /// Poll `ready` every 100 ms until it answers true; returns spawn → ready.
    pub async fn wait_ready<F, Fut>(
        &mut self,
        timeout: Duration,
        mut ready: F,
    ) -> Result<Duration, ServerError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        loop {
            self.seen.extend(group_pids(self.pgid.as_raw()));
            if let Ok(Some(status)) = self.child.try_wait() {
                let tail = log_tail(Path::new(&self.log), 3);
                return Err(ServerError::Exited {
                    status: status.to_string(),
                    log: self.log.clone(),
                    last: if tail.is_empty() {
                        "(empty)".into()
                    } else {
                        tail.join(" | ")
                    },
                });
            }
            if ready().await {
                return Ok(self.spawned.elapsed());
            }
            if self.spawned.elapsed() > timeout {
                return Err(ServerError::NotReady {
                    secs: timeout.as_secs_f64(),
                    log: self.log.clone(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM the group, wait up to `grace`, then SIGKILL it; then remove its leftovers.
    pub async fn stop(mut self, grace: Duration) {
        if self.pgid.as_raw() <= 0 {
            return;
        }
        self.seen.extend(group_pids(self.pgid.as_raw()));
        let _ = killpg(self.pgid, Signal::SIGTERM);
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            let _ = killpg(self.pgid, Signal::SIGKILL);
            let _ = self.child.wait().await;
        }
        // Children the server left behind in its group.
        let _ = killpg(self.pgid, Signal::SIGKILL);
        wait_gone(self.pgid.as_raw(), Duration::from_secs(5)).await;
        remove_leftovers(&self.seen);
        self.pgid = Pid::from_raw(0);
        self.tmp.take();
    }
}

impl Drop for ManagedServer {
    /// Last resort (error paths, panics, Ctrl-C): never leave a server running, nor its files.
    fn drop(&mut self) {
        if self.pgid.as_raw() > 0 {
            self.seen.extend(group_pids(self.pgid.as_raw()));
            let _ = killpg(self.pgid, Signal::SIGKILL);
            remove_leftovers(&self.seen);
        }
    }
}

/// The pids of the live processes in process group `pgid` (read from `/proc`; empty elsewhere).
pub fn group_pids(pgid: i32) -> Vec<i32> {
    let Ok(all) = procfs::process::all_processes() else {
        return Vec::new();
    };
    all.filter_map(Result::ok)
        .filter_map(|p| p.stat().ok())
        .filter(|st| st.pgrp == pgid && st.state != 'Z')
        .map(|st| st.pid)
        .collect()
}

/// Wait (up to `limit`) until no live process is left in group `pgid`.
async fn wait_gone(pgid: i32, limit: Duration) {
    let start = Instant::now();
    while !group_pids(pgid).is_empty() && start.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Files a stopped server's processes leave in shared memory: Intel OpenMP registers each
/// process that loads it as `/dev/shm/__KMP_REGISTERED_LIB_<pid>_<uid>` and never removes it
/// when the process is killed. Only the files of the given pids are touched.
fn remove_leftovers(pids: &std::collections::BTreeSet<i32>) {
    let Ok(dir) = std::fs::read_dir("/dev/shm") else {
        return;
    };
    for entry in dir.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix("__KMP_REGISTERED_LIB_"))
        else {
            continue;
        };
        let pid = rest.split('_').next().and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Lines kept from a failed server's log.
pub const LOG_TAIL_LINES: usize = 20;

/// The last `n` lines of a log file (empty when it cannot be read).
pub fn log_tail(path: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.chars().take(500).collect())
        .collect()
}

/// Out-of-memory messages of the common servers and runtimes (matched case-insensitively).
pub const OOM_SIGNATURES: &[&str] = &[
    "cuda out of memory",
    "outofmemoryerror",
    "cudamalloc failed",
    "cudaerrormemoryallocation",
    "cuda error: out of memory",
    "requires more system memory",
    "failed to allocate",
    "unable to allocate",
    "ggml_backend_alloc",
    "not enough memory",
    "insufficient memory",
    "no available memory for the cache blocks",
    "std::bad_alloc",
    "can't allocate memory",
    "larger than the available kv cache memory",
    "less than requested memory for kv",
];

/// The out-of-memory signature found in `text`, if any.
pub fn oom_signature(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    OOM_SIGNATURES.iter().copied().find(|s| lower.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_messages_of_each_stack_are_recognised() {
        for msg in [
            "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
            "RuntimeError: cudaMalloc failed: out of memory",
            "Error: model requires more system memory (12.3 GiB) than is available (8.0 GiB)",
            "ggml_backend_cpu_buffer_type_alloc_buffer: failed to allocate buffer of size 123",
            "ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization`",
            "ValueError: Available memory on node 0 (17.61/23.54 GiB) on kv cache allocation is less than requested memory for kv (64.00 GiB). Decrease --kv-cache-memory-bytes, VLLM_CPU_KVCACHE_SPACE, or reduce CPU memory used by other processes.",
            "RuntimeError: [enforce fail at alloc_cpu.cpp:121] DefaultCPUAllocator: can't allocate memory: you tried to allocate 8589934592 bytes",
        ] {
            assert!(oom_signature(msg).is_some(), "{msg}");
        }
        assert_eq!(oom_signature("listening on 127.0.0.1:8080"), None);
    }

    #[test]
    fn log_tail_keeps_the_last_lines() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("log");
        std::fs::write(&p, "a\nb\n\nc\nd\n").unwrap();
        assert_eq!(log_tail(&p, 2), vec!["c", "d"]);
        assert!(log_tail(&d.path().join("missing"), 2).is_empty());
    }
}
