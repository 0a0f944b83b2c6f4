//! The sandbox for model-written code. Each program runs in a fresh process that servebench
//! starts by re-executing itself as a small helper (`servebench __sandbox …`): the helper, a
//! new single-threaded process, sets every restriction on itself and then `exec`s the
//! interpreter, so nothing is built between `fork` and `exec`.
//!
//! Layers, all applied by the helper:
//! - rlimits: CPU seconds, address space (1 GiB), file size, open files, processes, no core;
//! - as root: a fresh network namespace (no interface but loopback, down) when the kernel
//!   allows, then an unprivileged uid/gid (RLIMIT_NPROC is not enforced for uid 0);
//! - Landlock: the filesystem is read-only except the task's temp dir; TCP bind/connect denied
//!   (best effort: what the kernel supports is reported);
//! - seccomp: `socket(AF_INET | AF_INET6)`, `setsid`, `setpgid`, `ptrace`, `io_uring_setup`
//!   fail with EPERM — no network, and no way out of the process group, so killing the group
//!   at the end leaves nothing running.
//!
//! The parent puts the helper in its own process group, kills the group at the wall-clock
//! limit and again when the program ends, and reads at most [`OUTPUT_CAP`] bytes of output.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Output kept per stream; the rest is read and dropped.
pub const OUTPUT_CAP: usize = 1 << 20;
/// The unprivileged user and group a root servebench drops to (`nobody`).
pub const NOBODY: u32 = 65534;

/// Limits of one sandboxed program.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Wall-clock limit.
    pub wall: Duration,
    /// CPU seconds.
    pub cpu_s: u64,
    /// Address space, bytes.
    pub mem_bytes: u64,
    /// Largest file it may write, bytes.
    pub fsize_bytes: u64,
    /// Open files.
    pub nofile: u64,
    /// Processes (of the sandbox user) beyond those already running.
    pub nproc: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall: Duration::from_secs(10),
            cpu_s: 10,
            mem_bytes: 1 << 30,
            fsize_bytes: 16 << 20,
            nofile: 64,
            nproc: 32,
        }
    }
}

/// Why a program could not be run at all (not: the program failed).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The helper could not be started.
    #[error("cannot start the sandbox helper {helper}: {source}")]
    Spawn {
        /// Helper path.
        helper: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The task directory could not be prepared.
    #[error("cannot prepare the sandbox directory {dir}: {message}")]
    Dir {
        /// Directory.
        dir: String,
        /// What failed.
        message: String,
    },
}

/// How a sandboxed program ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// Exit code, when it exited.
    pub code: Option<i32>,
    /// Signal that ended it, when one did.
    pub signal: Option<i32>,
    /// True when the wall-clock limit killed it.
    pub timed_out: bool,
    /// Standard output (at most [`OUTPUT_CAP`] bytes).
    pub stdout: String,
    /// Standard error (at most [`OUTPUT_CAP`] bytes).
    pub stderr: String,
    /// Wall time.
    pub elapsed: Duration,
    /// The restrictions the helper enforced ("rlimits, seccomp, landlock FullyEnforced, …");
    /// empty when it never got that far.
    pub layers: String,
}

/// Runs programs under the sandbox.
#[derive(Debug, Clone)]
pub struct Sandbox {
    helper: PathBuf,
    limits: Limits,
}

async fn read_capped(mut r: impl AsyncRead + Unpin) -> String {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = r.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let room = OUTPUT_CAP.saturating_sub(kept.len());
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
    String::from_utf8_lossy(&kept).into_owned()
}

impl Sandbox {
    /// A sandbox whose helper is `helper` (the servebench binary).
    pub fn new(helper: PathBuf, limits: Limits) -> Sandbox {
        Sandbox { helper, limits }
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Run `program args…` in `dir` (its only writable place) under every restriction.
    pub async fn run(
        &self,
        dir: &Path,
        program: &Path,
        args: &[&str],
    ) -> Result<Finished, SandboxError> {
        if nix::unistd::geteuid().is_root() {
            chown_tree(dir, NOBODY).map_err(|e| SandboxError::Dir {
                dir: dir.display().to_string(),
                message: e.to_string(),
            })?;
        }
        let l = &self.limits;
        let mut cmd = tokio::process::Command::new(&self.helper);
        cmd.arg(HELPER_ARG)
            .arg(dir)
            .arg(l.cpu_s.to_string())
            .arg(l.mem_bytes.to_string())
            .arg(l.fsize_bytes.to_string())
            .arg(l.nofile.to_string())
            .arg(l.nproc.to_string())
            .arg(program)
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", dir)
            .env("TMPDIR", dir)
            .env("LANG", "C.UTF-8")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let start = Instant::now();
        let mut child = cmd.spawn().map_err(|source| SandboxError::Spawn {
            helper: self.helper.display().to_string(),
            source,
        })?;
        let pgid = child.id().map(|p| Pid::from_raw(p as i32));
        let out = tokio::spawn(read_capped(child.stdout.take().expect("piped")));
        let err = tokio::spawn(read_capped(child.stderr.take().expect("piped")));
        let status = tokio::time::timeout(l.wall, child.wait()).await;
        let timed_out = status.is_err();
        // Kill the whole group: at the limit, and whatever the program left behind.
        if let Some(g) = pgid {
            let _ = killpg(g, Signal::SIGKILL);
        }
        let status = match status {
            Ok(s) => s.ok(),
            Err(_) => child.wait().await.ok(),
        };
        // Pipes close once every process holding them is dead; never wait long for that.
        let grace = Duration::from_secs(2);
        let stdout = tokio::time::timeout(grace, out)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let stderr = tokio::time::timeout(grace, err)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        use std::os::unix::process::ExitStatusExt;
        Ok(Finished {
            code: status.and_then(|s| s.code()),
            signal: status.and_then(|s| s.signal()),
            timed_out,
            stdout,
            stderr,
            elapsed: start.elapsed(),
            layers: std::fs::read_to_string(dir.join(LAYERS_FILE)).unwrap_or_default(),
        })
    }
}

fn chown_tree(dir: &Path, id: u32) -> std::io::Result<()> {
    let uid = Some(nix::unistd::Uid::from_raw(id));
    let gid = Some(nix::unistd::Gid::from_raw(id));
    nix::unistd::chown(dir, uid, gid)?;
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            chown_tree(&p, id)?;
        } else {
            nix::unistd::chown(&p, uid, gid)?;
        }
    }
    Ok(())
}

/// Where the helper writes the layers it enforced, inside the task directory.
pub const LAYERS_FILE: &str = ".sandbox-layers";

/// The first argument that turns the servebench binary into the sandbox helper.
pub const HELPER_ARG: &str = "__sandbox";

/// What the helper managed to enforce, written to standard error when something is missing.
#[derive(Debug, Default)]
struct Enforced {
    netns: bool,
    landlock: String,
}

/// The helper: `servebench __sandbox DIR CPU MEM FSIZE NOFILE NPROC PROGRAM ARGS…`. Restricts
/// itself, then `exec`s PROGRAM; returns only on failure (the caller exits with 126).
pub fn helper_main(args: &[String]) -> String {
    let [dir, cpu, mem, fsize, nofile, nproc, program, rest @ ..] = args else {
        return "usage: servebench __sandbox DIR CPU MEM FSIZE NOFILE NPROC PROGRAM [ARGS…]".into();
    };
    let num = |s: &String| s.parse::<u64>().unwrap_or(0);
    match restrict(
        Path::new(dir),
        num(cpu),
        num(mem),
        num(fsize),
        num(nofile),
        num(nproc),
    ) {
        Ok(e) => {
            // What was enforced, for the report (the directory is the one writable place).
            let layers = format!(
                "rlimits, seccomp, landlock {}, uid {}, {}",
                e.landlock,
                nix::unistd::getuid(),
                if e.netns {
                    "network namespace"
                } else {
                    "host network namespace"
                }
            );
            let _ = std::fs::write(Path::new(dir).join(LAYERS_FILE), layers);
        }
        Err(m) => return format!("sandbox: {m}"),
    }
    use std::os::unix::process::CommandExt;
    let err = std::process::Command::new(program).args(rest).exec();
    format!("sandbox: cannot run {program}: {err}")
}

fn restrict(
    dir: &Path,
    cpu: u64,
    mem: u64,
    fsize: u64,
    nofile: u64,
    nproc: u64,
) -> Result<Enforced, String> {
    use nix::sys::resource::{Resource, setrlimit};
    let mut e = Enforced::default();
    let root = nix::unistd::geteuid().is_root();
    if root {
        // Best effort: a new network namespace has no route anywhere.
        e.netns = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).is_ok();
        let id = nix::unistd::Gid::from_raw(NOBODY);
        nix::unistd::setgroups(&[]).map_err(|x| format!("setgroups: {x}"))?;
        nix::unistd::setgid(id).map_err(|x| format!("setgid: {x}"))?;
        nix::unistd::setuid(nix::unistd::Uid::from_raw(NOBODY))
            .map_err(|x| format!("setuid: {x}"))?;
    }
    let procs = processes_of(nix::unistd::getuid().as_raw());
    for (r, v) in [
        (Resource::RLIMIT_CPU, cpu),
        (Resource::RLIMIT_AS, mem),
        (Resource::RLIMIT_FSIZE, fsize),
        (Resource::RLIMIT_NOFILE, nofile),
        (Resource::RLIMIT_NPROC, procs + nproc),
        (Resource::RLIMIT_CORE, 0),
    ] {
        setrlimit(r, v, v).map_err(|x| format!("setrlimit {r:?}: {x}"))?;
    }
    e.landlock = landlock_fs_and_tcp(dir)?;
    seccomp()?;
    Ok(e)
}

/// Processes the user `uid` runs now (RLIMIT_NPROC counts them all).
fn processes_of(uid: u32) -> u64 {
    procfs::process::all_processes()
        .map(|it| {
            it.flatten()
                .filter(|p| p.uid().is_ok_and(|u| u == uid))
                .count() as u64
        })
        .unwrap_or(0)
}

fn landlock_fs_and_tcp(dir: &Path) -> Result<String, String> {
    use landlock::{
        ABI, Access, AccessFs, AccessNet, Ruleset, RulesetAttr, RulesetCreatedAttr,
        path_beneath_rules,
    };
    let abi = ABI::V5;
    let status = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .and_then(|r| r.handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp))
        .and_then(|r| r.create())
        .and_then(|r| r.add_rules(path_beneath_rules(["/"], AccessFs::from_read(abi))))
        .and_then(|r| r.add_rules(path_beneath_rules([dir], AccessFs::from_all(abi))))
        .and_then(|r| {
            r.add_rules(path_beneath_rules(
                ["/dev/null"],
                AccessFs::ReadFile | AccessFs::WriteFile,
            ))
        })
        .and_then(|r| r.restrict_self())
        .map_err(|e| format!("landlock: {e}"))?;
    Ok(format!("{:?}", status.ruleset))
}

fn seccomp() -> Result<(), String> {
    use seccompiler::{
        BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule,
    };
    let family = |af: i32| {
        SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, af as u64)
            .and_then(|c| SeccompRule::new(vec![c]))
    };
    let ip = vec![
        family(libc::AF_INET).map_err(|e| e.to_string())?,
        family(libc::AF_INET6).map_err(|e| e.to_string())?,
    ];
    let rules = [
        (libc::SYS_socket, ip),
        (libc::SYS_setsid, vec![]),
        (libc::SYS_setpgid, vec![]),
        (libc::SYS_ptrace, vec![]),
        (libc::SYS_io_uring_setup, vec![]),
    ]
    .into_iter()
    .collect();
    let arch = std::env::consts::ARCH
        .try_into()
        .map_err(|e| format!("seccomp: {e:?}"))?;
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| format!("seccomp: {e}"))?;
    let prog: BpfProgram = filter.try_into().map_err(|e| format!("seccomp: {e:?}"))?;
    seccompiler::apply_filter(&prog).map_err(|e| format!("seccomp: {e}"))
}

/// Find a Python 3 the sandbox can run: `explicit` if given, else the first of
/// `/usr/bin/python3`, `/usr/local/bin/python3` and `python3` on `PATH` that starts under the
/// sandbox (a root servebench runs it as `nobody`, who cannot enter `/root/.pyenv`). Checked once
/// at start, so a missing interpreter is one clear error, not one per task.
///
/// Returns the interpreter and the sandbox layers its check ran under.
pub async fn find_python(
    sb: &Sandbox,
    explicit: Option<&Path>,
) -> Result<(PathBuf, String), String> {
    let mut candidates: Vec<PathBuf> = match explicit {
        Some(p) => vec![p.to_path_buf()],
        None => vec!["/usr/bin/python3".into(), "/usr/local/bin/python3".into()],
    };
    if explicit.is_none()
        && let Ok(o) = std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
        && o.status.success()
    {
        candidates.push(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    }
    let mut tried = Vec::new();
    for p in candidates {
        if !p.is_file() {
            tried.push(format!("{} (missing)", p.display()));
            continue;
        }
        let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
        let check = "import sys; assert sys.version_info >= (3, 8); print('ok')";
        match sb.run(dir.path(), &p, &["-I", "-c", check]).await {
            Ok(f) if f.stdout.trim() == "ok" => return Ok((p, f.layers)),
            Ok(f) => tried.push(format!(
                "{} ({})",
                p.display(),
                f.stderr.lines().last().unwrap_or("did not start")
            )),
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!(
        "no Python 3.8+ that the sandbox can run: tried {}; install python3 or pass --python PATH",
        tried.join(", ")
    ))
}
