//! The sandbox for model-written code. Each program runs in a fresh process that servebench
//! starts by re-executing itself as a small helper (`servebench __sandbox …`): the helper, a
//! new single-threaded process, sets every restriction on itself and then `exec`s the
//! interpreter, so nothing is built between `fork` and `exec`.
//!
//! Layers, all applied by the helper:
//! - rlimits: CPU seconds, address space (1 GiB), file size, open files (64), processes, no core;
//! - as root: fresh network and IPC namespaces (no interface but loopback, down; no one else's
//!   System V or POSIX IPC) when the kernel allows, for grading a private tmpfs of
//!   [`TMPFS_SIZE`] over the (empty) directory in a mount namespace of its own, then an
//!   unprivileged uid/gid (RLIMIT_NPROC is not enforced for uid 0);
//! - Landlock, required (a kernel that does not enforce it is refused): read-only access to the
//!   system's program and library folders only ([`READ_ROOTS`] and the interpreter's prefix) —
//!   not `/proc`, `/sys`, `/tmp`, `/home` or `/root` —, the Execute right on the interpreter
//!   and its ELF loader alone, and every right but Execute on the program's own directory;
//!   TCP bind/connect denied;
//! - seccomp: no socket of any family, no new process (`fork`, `vfork`, `clone` without
//!   `CLONE_THREAD`; `clone3` answers ENOSYS so threads fall back to `clone`), no `execve`
//!   after start-up, no reaching another process (`kill` and friends and `prlimit64` aimed at
//!   any process but itself, a descriptor's owner signal through `fcntl`/`ioctl`,
//!   `setpriority`, `ioprio_set`, `sched_set*`, `ptrace`, `process_vm_readv`/`writev`,
//!   `pidfd_*`, `kcmp`), no System V or POSIX IPC, no leaving the process group (`setsid`,
//!   `setpgid`), no namespaces, mounts, `bpf`, `perf_event_open`, `userfaultfd`, `io_uring` or
//!   keyrings, and on x86-64 no x32 system call at all.
//!
//! `/proc` is closed by Landlock rather than by a mount or PID namespace: Landlock needs no
//! privilege (a PID namespace needs root or user namespaces, and a fork with a waiting parent),
//! and what a PID namespace would add — no signals, ptrace or memory reads of other processes —
//! the seccomp filter denies by pid.
//!
//! The one `exec` the filter allows is the helper's own: `execveat` on descriptor [`EXEC_FD`],
//! which the helper opens on the interpreter before the limits, marks close-on-exec, and which
//! the open-files limit (64) keeps anyone from opening again once the program runs; an
//! `execveat` given a path instead meets Landlock's Execute rule.
//!
//! The parent puts the helper in its own process group, kills the group at the wall-clock
//! limit and again when the program ends, and reads at most [`OUTPUT_CAP`] bytes of output.

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::os::fd::AsRawFd;
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

/// Read `r` to its end, keeping at most [`OUTPUT_CAP`] bytes.
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

/// A sandboxed program started by [`Sandbox::spawn`], its standard streams piped. Dropping it
/// kills its process group.
#[derive(Debug)]
pub struct Spawned {
    /// The helper's process (the program once it has exec'd).
    pub child: tokio::process::Child,
    /// Its standard input (taken by whoever writes to it).
    pub stdin: Option<tokio::process::ChildStdin>,
    /// Its standard output (taken by whoever reads it).
    pub stdout: Option<tokio::process::ChildStdout>,
    /// Its standard error, read to the end (at most [`OUTPUT_CAP`] bytes) in a task of its own
    /// so that the program never blocks on a full pipe; taken by [`Spawned::stderr`].
    stderr: Option<tokio::task::JoinHandle<String>>,
    pgid: Option<Pid>,
}

impl Spawned {
    /// Kill the program and everything in its process group.
    pub fn kill(&self) {
        if let Some(g) = self.pgid {
            let _ = killpg(g, Signal::SIGKILL);
        }
    }

    /// Kill it; then its standard error, waiting at most `grace` for the pipe to close (empty
    /// when it was taken before).
    pub async fn stderr(&mut self, grace: Duration) -> String {
        self.kill();
        let Some(reader) = self.stderr.take() else {
            return String::new();
        };
        tokio::time::timeout(grace, reader)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.kill();
    }
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

    /// Start `program args…` in `dir` (its only writable place, and its working directory)
    /// under every restriction, with its standard streams piped. With `layers`, the helper
    /// writes what it enforced to [`LAYERS_FILE`] in `dir` before the program starts. With
    /// `tmpfs` (for an empty `dir`), a root helper covers `dir` with a private tmpfs of
    /// [`TMPFS_SIZE`] that only the program sees: nothing it writes reaches the host.
    pub fn spawn(
        &self,
        dir: &Path,
        program: &Path,
        args: &[&str],
        layers: bool,
        tmpfs: bool,
    ) -> Result<Spawned, SandboxError> {
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
            .arg(if layers { LAYERS_FILE } else { "-" })
            .arg(if tmpfs { "tmpfs" } else { "host" })
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
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|source| SandboxError::Spawn {
            helper: self.helper.display().to_string(),
            source,
        })?;
        let pgid = child.id().map(|p| Pid::from_raw(p as i32));
        let stderr = child.stderr.take().expect("piped above");
        Ok(Spawned {
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            child,
            stderr: Some(tokio::spawn(read_capped(stderr))),
            pgid,
        })
    }

    /// Run `program args…` in `dir` (its only writable place) under every restriction, with
    /// nothing on its standard input, to its end or the wall-clock limit.
    pub async fn run(
        &self,
        dir: &Path,
        program: &Path,
        args: &[&str],
    ) -> Result<Finished, SandboxError> {
        let start = Instant::now();
        let mut p = self.spawn(dir, program, args, true, false)?;
        // Nothing on its standard input: closed at once.
        drop(p.stdin.take());
        let out = tokio::spawn(read_capped(p.stdout.take().expect("piped at spawn")));
        let status = tokio::time::timeout(self.limits.wall, p.child.wait()).await;
        let timed_out = status.is_err();
        // Kill the whole group: at the limit, and whatever the program left behind.
        p.kill();
        let status = match status {
            Ok(s) => s.ok(),
            Err(_) => p.child.wait().await.ok(),
        };
        // Pipes close once every process holding them is dead; never wait long for that.
        let grace = Duration::from_secs(2);
        let stdout = tokio::time::timeout(grace, out)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let stderr = p.stderr(grace).await;
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

/// The descriptor the helper execs the interpreter through (see the module doc): above any
/// open-files limit the sandbox sets, so no program can open it again.
pub const EXEC_FD: i32 = 1000;

/// The folders a sandboxed program may read (and run programs from), where they exist; with
/// the interpreter's own prefix. Everything else — `/proc`, `/sys`, `/tmp`, `/home`, `/root`,
/// `/var`, other programs' directories — is out of its view.
pub const READ_ROOTS: [&str; 9] = [
    "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/opt",
];

/// What the helper managed to enforce, written to standard error when something is missing.
#[derive(Debug, Default)]
struct Enforced {
    netns: bool,
    /// A private tmpfs mounted over the directory (root only).
    tmpfs: bool,
    landlock: String,
}

/// Size of the private tmpfs a root sandbox gets as its directory.
pub const TMPFS_SIZE: &str = "64m";

/// The helper: `servebench __sandbox DIR LAYERS tmpfs|host CPU MEM FSIZE NOFILE NPROC PROGRAM
/// ARGS…`. Restricts itself, writes what it enforced to DIR/LAYERS (unless LAYERS is `-`),
/// then `exec`s PROGRAM; returns only on failure (the caller exits with 126).
pub fn helper_main(args: &[String]) -> String {
    let [
        dir,
        layers_file,
        dir_kind,
        cpu,
        mem,
        fsize,
        nofile,
        nproc,
        program,
        rest @ ..,
    ] = args
    else {
        return "usage: servebench __sandbox DIR LAYERS tmpfs|host CPU MEM FSIZE NOFILE NPROC PROGRAM [ARGS…]"
            .into();
    };
    let num = |s: &String| s.parse::<u64>().unwrap_or(0);
    let limits = Limits {
        wall: Duration::ZERO,
        cpu_s: num(cpu),
        mem_bytes: num(mem),
        fsize_bytes: num(fsize),
        nofile: num(nofile),
        nproc: num(nproc),
    };
    if limits.nofile == 0 || limits.nofile >= EXEC_FD as u64 {
        return format!("sandbox: the open-files limit must be 1 to {}", EXEC_FD - 1);
    }
    // Opened before any limit: the only file the seccomp filter lets this process exec.
    let exe = match open_exec_fd(Path::new(program)) {
        Ok(fd) => fd,
        Err(m) => return format!("sandbox: cannot open {program}: {m}"),
    };
    // Opened on the host's directory before a private tmpfs may cover it.
    let mut layers_out = (layers_file != "-")
        .then(|| std::fs::File::create(Path::new(dir).join(layers_file)).ok())
        .flatten();
    match restrict(
        Path::new(dir),
        dir_kind == "tmpfs",
        Path::new(program),
        &limits,
    ) {
        Ok(e) => {
            // What was enforced, for the report (the directory is the one writable place).
            let layers = format!(
                "rlimits, seccomp, landlock {}, uid {}, {}{}",
                e.landlock,
                nix::unistd::getuid(),
                if e.netns {
                    "network and IPC namespaces"
                } else {
                    "host network namespace"
                },
                if e.tmpfs {
                    format!(", private {TMPFS_SIZE} tmpfs")
                } else {
                    String::new()
                }
            );
            if let Some(f) = layers_out.as_mut() {
                use std::io::Write;
                let _ = f.write_all(layers.as_bytes());
            }
            drop(layers_out);
        }
        Err(m) => return format!("sandbox: {m}"),
    }
    if let Err(m) = seccomp(exe.as_raw_fd()) {
        return format!("sandbox: {m}");
    }
    let cstr = |s: &str| std::ffi::CString::new(s).unwrap_or_default();
    let argv: Vec<_> = std::iter::once(program.as_str())
        .chain(rest.iter().map(String::as_str))
        .map(cstr)
        .collect();
    let env: Vec<_> = std::env::vars()
        .map(|(k, v)| cstr(&format!("{k}={v}")))
        .collect();
    let err = nix::unistd::execveat(&exe, c"", &argv, &env, nix::fcntl::AtFlags::AT_EMPTY_PATH);
    format!("sandbox: cannot run {program}: {err:?}")
}

/// `program` opened close-on-exec at [`EXEC_FD`] (or the first free descriptor above it).
fn open_exec_fd(program: &Path) -> Result<std::os::fd::OwnedFd, String> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl, open};
    use std::os::fd::FromRawFd;
    let fd = open(
        program,
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| e.to_string())?;
    let high = fcntl(&fd, FcntlArg::F_DUPFD_CLOEXEC(EXEC_FD)).map_err(|e| e.to_string())?;
    // SAFETY: `high` is a descriptor F_DUPFD_CLOEXEC has just created and nothing else owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(high) })
}

fn restrict(dir: &Path, tmpfs: bool, program: &Path, l: &Limits) -> Result<Enforced, String> {
    use nix::sys::resource::{Resource, setrlimit};
    let mut e = Enforced::default();
    let root = nix::unistd::geteuid().is_root();
    if root {
        use nix::sched::{CloneFlags, unshare};
        // Best effort: a new network namespace has no route anywhere; a new IPC namespace has no
        // System V or POSIX message queue, shared memory or semaphore of anyone else's.
        e.netns = unshare(CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWIPC).is_ok();
        e.tmpfs = tmpfs && private_tmpfs(dir).is_ok();
        let id = nix::unistd::Gid::from_raw(NOBODY);
        nix::unistd::setgroups(&[]).map_err(|x| format!("setgroups: {x}"))?;
        nix::unistd::setgid(id).map_err(|x| format!("setgid: {x}"))?;
        nix::unistd::setuid(nix::unistd::Uid::from_raw(NOBODY))
            .map_err(|x| format!("setuid: {x}"))?;
    }
    let procs = processes_of(nix::unistd::getuid().as_raw());
    for (r, v) in [
        (Resource::RLIMIT_CPU, l.cpu_s),
        (Resource::RLIMIT_AS, l.mem_bytes),
        (Resource::RLIMIT_FSIZE, l.fsize_bytes),
        (Resource::RLIMIT_NOFILE, l.nofile),
        (Resource::RLIMIT_NPROC, procs + l.nproc),
        (Resource::RLIMIT_CORE, 0),
    ] {
        setrlimit(r, v, v).map_err(|x| format!("setrlimit {r:?}: {x}"))?;
    }
    e.landlock = landlock_fs_and_tcp(dir, program)?;
    Ok(e)
}

/// A size-limited tmpfs over `dir`, in a mount namespace of this process's own: the program's
/// writes never reach the host's disk and vanish with it, and it cannot fill more than
/// [`TMPFS_SIZE`] in all (RLIMIT_FSIZE bounds each file, not their number).
fn private_tmpfs(dir: &Path) -> Result<(), String> {
    use nix::mount::{MsFlags, mount};
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).map_err(|e| e.to_string())?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| e.to_string())?;
    mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(format!("size={TMPFS_SIZE},mode=0700,uid={NOBODY},gid={NOBODY}").as_str()),
    )
    .map_err(|e| e.to_string())?;
    // The working directory still points at the covered folder: enter the tmpfs.
    std::env::set_current_dir(dir).map_err(|e| e.to_string())
}

/// The ELF interpreter (dynamic loader) `program` names, if it is a 64-bit little-endian ELF
/// file with one: the kernel opens it to run the program, so it needs the Execute right too.
fn elf_interpreter(program: &Path) -> Option<PathBuf> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(program).ok()?;
    let mut h = [0u8; 64];
    f.read_exact(&mut h).ok()?;
    if &h[..4] != b"\x7fELF" || h[4] != 2 || h[5] != 1 {
        return None;
    }
    let u16_at = |b: &[u8], i: usize| u64::from(u16::from_le_bytes([b[i], b[i + 1]]));
    let u64_at = |b: &[u8], i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
    let (phoff, phentsize, phnum) = (u64_at(&h, 0x20), u16_at(&h, 0x36), u16_at(&h, 0x38));
    if phentsize < 56 {
        return None;
    }
    let mut ph = vec![0u8; phentsize as usize];
    for i in 0..phnum.min(64) {
        f.seek(SeekFrom::Start(phoff + i * phentsize)).ok()?;
        f.read_exact(&mut ph).ok()?;
        if u32::from_le_bytes([ph[0], ph[1], ph[2], ph[3]]) == 3 {
            let (off, size) = (u64_at(&ph, 8), u64_at(&ph, 32).min(4096));
            let mut name = vec![0u8; size as usize];
            f.seek(SeekFrom::Start(off)).ok()?;
            f.read_exact(&mut name).ok()?;
            let name = name.split(|b| *b == 0).next()?;
            return Some(PathBuf::from(String::from_utf8_lossy(name).into_owned()));
        }
    }
    None
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

/// The folders the program may read: [`READ_ROOTS`] and the interpreter's prefix (the folder
/// above its `bin/`, for a virtual environment's `pyvenv.cfg`), those that exist.
fn read_roots(program: &Path) -> Vec<PathBuf> {
    let prefix = |p: &Path| p.parent().and_then(Path::parent).map(Path::to_path_buf);
    let mut roots: Vec<PathBuf> = READ_ROOTS.iter().map(PathBuf::from).collect();
    roots.extend(prefix(program));
    roots.extend(std::fs::canonicalize(program).ok().and_then(|p| prefix(&p)));
    roots.retain(|r| r.exists() && r != Path::new("/"));
    roots
}

fn landlock_fs_and_tcp(dir: &Path, program: &Path) -> Result<String, String> {
    use landlock::{
        ABI, Access, AccessFs, AccessNet, Ruleset, RulesetAttr, RulesetCreatedAttr,
        path_beneath_rules,
    };
    let abi = ABI::V5;
    // Only the interpreter and its loader may be executed: no `execve` of anything else, even
    // by a path the seccomp filter cannot read.
    let interpreter = std::fs::canonicalize(program).unwrap_or_else(|_| program.to_path_buf());
    let mut executables = vec![interpreter.clone()];
    executables.extend(elf_interpreter(&interpreter).and_then(|l| std::fs::canonicalize(l).ok()));
    let status = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .and_then(|r| r.handle_access(AccessNet::BindTcp | AccessNet::ConnectTcp))
        .and_then(|r| r.create())
        .and_then(|r| {
            r.add_rules(path_beneath_rules(
                read_roots(program),
                AccessFs::ReadFile | AccessFs::ReadDir,
            ))
        })
        .and_then(|r| {
            r.add_rules(path_beneath_rules(
                executables,
                AccessFs::Execute | AccessFs::ReadFile,
            ))
        })
        .and_then(|r| {
            r.add_rules(path_beneath_rules(
                [dir],
                AccessFs::from_all(abi) & !AccessFs::Execute,
            ))
        })
        .and_then(|r| {
            r.add_rules(path_beneath_rules(
                ["/dev/null"],
                AccessFs::ReadFile | AccessFs::WriteFile,
            ))
        })
        .and_then(|r| {
            r.add_rules(path_beneath_rules(
                ["/dev/urandom", "/dev/random", "/dev/zero"],
                AccessFs::ReadFile,
            ))
        })
        .and_then(|r| r.restrict_self())
        .map_err(|e| format!("landlock: {e}"))?;
    // Without Landlock the program could read /proc and other sandboxes' descriptors: refuse.
    if status.ruleset == landlock::RulesetStatus::NotEnforced {
        return Err("Landlock is not enforced by this kernel: code answers cannot be run safely; grade on Linux 5.13 or later with Landlock enabled (the lsm= boot list)".into());
    }
    Ok(format!("{:?}", status.ruleset))
}

/// The seccomp filters (see the module doc); `exe` is the one descriptor `execveat` may use.
fn seccomp(exe: i32) -> Result<(), String> {
    use seccompiler::{
        BpfProgram, SeccompAction, SeccompCmpArgLen as Len, SeccompCmpOp as Op,
        SeccompCondition as Cond, SeccompFilter, SeccompRule,
    };
    let me = nix::unistd::getpid().as_raw() as u64;
    let err = |e: seccompiler::BackendError| format!("seccomp: {e}");
    let rule = |conds: Vec<Cond>| SeccompRule::new(conds).map_err(err);
    let arg = |i: u8, op: Op, v: u64| Cond::new(i, Len::Dword, op, v).map_err(err);
    // Aimed at a process other than this one (pid 0, this process group, is this process's own
    // group: the parent starts it in a group of its own).
    let other_process = |i: u8| -> Result<Vec<SeccompRule>, String> {
        Ok(vec![rule(vec![arg(i, Op::Ne, me)?, arg(i, Op::Ne, 0)?])?])
    };
    let always = Vec::new;
    let mut denied: std::collections::BTreeMap<i64, Vec<SeccompRule>> = [
        (libc::SYS_socket, always()),
        (libc::SYS_socketpair, always()),
        (libc::SYS_execve, always()),
        (
            libc::SYS_execveat,
            vec![rule(vec![arg(0, Op::Ne, exe as u64)?])?],
        ),
        (
            libc::SYS_clone,
            vec![rule(vec![
                Cond::new(0, Len::Qword, Op::MaskedEq(libc::CLONE_THREAD as u64), 0)
                    .map_err(err)?,
            ])?],
        ),
        (libc::SYS_kill, other_process(0)?),
        (libc::SYS_prlimit64, other_process(0)?),
        // A signal by way of a descriptor's owner (SIGIO, or any signal F_SETSIG names).
        (
            libc::SYS_fcntl,
            // F_SETOWN, F_SETSIG, F_SETOWN_EX (the same on x86-64 and aarch64).
            [8u64, 10, 15]
                .into_iter()
                .map(|cmd| rule(vec![arg(1, Op::Eq, cmd)?]))
                .collect::<Result<_, _>>()?,
        ),
        (
            libc::SYS_ioctl,
            // FIOSETOWN, SIOCSPGRP.
            [0x8901u64, 0x8902]
                .into_iter()
                .map(|req| rule(vec![arg(1, Op::Eq, req)?]))
                .collect::<Result<_, _>>()?,
        ),
        (libc::SYS_setpriority, always()),
        (libc::SYS_ioprio_set, always()),
        (libc::SYS_sched_setaffinity, always()),
        (libc::SYS_sched_setscheduler, always()),
        (libc::SYS_sched_setparam, always()),
        (libc::SYS_sched_setattr, always()),
        // System V and POSIX IPC: memory that outlives the process, a channel between answers.
        (libc::SYS_shmget, always()),
        (libc::SYS_shmat, always()),
        (libc::SYS_shmctl, always()),
        (libc::SYS_msgget, always()),
        (libc::SYS_msgsnd, always()),
        (libc::SYS_msgrcv, always()),
        (libc::SYS_msgctl, always()),
        (libc::SYS_semget, always()),
        (libc::SYS_semop, always()),
        (libc::SYS_semtimedop, always()),
        (libc::SYS_semctl, always()),
        (libc::SYS_mq_open, always()),
        (libc::SYS_mq_unlink, always()),
        (libc::SYS_tkill, other_process(0)?),
        (libc::SYS_tgkill, other_process(0)?),
        (libc::SYS_rt_sigqueueinfo, other_process(0)?),
        (libc::SYS_rt_tgsigqueueinfo, other_process(0)?),
        (libc::SYS_setsid, always()),
        (libc::SYS_setpgid, always()),
        (libc::SYS_ptrace, always()),
        (libc::SYS_process_vm_readv, always()),
        (libc::SYS_process_vm_writev, always()),
        (libc::SYS_pidfd_open, always()),
        (libc::SYS_pidfd_getfd, always()),
        (libc::SYS_pidfd_send_signal, always()),
        (libc::SYS_kcmp, always()),
        (libc::SYS_unshare, always()),
        (libc::SYS_setns, always()),
        (libc::SYS_mount, always()),
        (libc::SYS_umount2, always()),
        (libc::SYS_pivot_root, always()),
        (libc::SYS_chroot, always()),
        (libc::SYS_bpf, always()),
        (libc::SYS_perf_event_open, always()),
        (libc::SYS_userfaultfd, always()),
        (libc::SYS_io_uring_setup, always()),
        (libc::SYS_io_uring_enter, always()),
        (libc::SYS_io_uring_register, always()),
        (libc::SYS_keyctl, always()),
        (libc::SYS_add_key, always()),
        (libc::SYS_request_key, always()),
    ]
    .into_iter()
    .collect();
    #[cfg(target_arch = "x86_64")]
    denied.extend([(libc::SYS_fork, always()), (libc::SYS_vfork, always())]);
    let arch = std::env::consts::ARCH
        .try_into()
        .map_err(|e| format!("seccomp: {e:?}"))?;
    let compile = |rules, errno: i32| -> Result<BpfProgram, String> {
        SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(errno as u32),
            arch,
        )
        .map_err(|e| format!("seccomp: {e}"))?
        .try_into()
        .map_err(|e| format!("seccomp: {e:?}"))
    };
    let eperm = compile(denied, libc::EPERM)?;
    // clone3 passes its flags in memory a filter cannot read: ENOSYS sends the C library back
    // to clone, whose flags the rule above checks.
    let enosys = compile(
        [(libc::SYS_clone3, always())].into_iter().collect(),
        libc::ENOSYS,
    )?;
    seccompiler::apply_filter(&eperm).map_err(|e| format!("seccomp: {e}"))?;
    seccompiler::apply_filter(&enosys).map_err(|e| format!("seccomp: {e}"))?;
    #[cfg(target_arch = "x86_64")]
    seccompiler::apply_filter(&no_x32()).map_err(|e| format!("seccomp: {e}"))?;
    Ok(())
}

/// A filter refusing every x32 system call (numbers with bit 30 set): x32 calls carry the
/// x86-64 architecture value, so the filters above, keyed by x86-64 numbers, would let
/// `syscall(0x40000000 | SYS_fork)` through on a kernel built with x32 support.
#[cfg(target_arch = "x86_64")]
fn no_x32() -> seccompiler::BpfProgram {
    use seccompiler::sock_filter;
    const X32_BIT: u32 = 0x4000_0000;
    let stmt = |code: u32, k: u32| sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    vec![
        // A = the system call number (offset 0 of struct seccomp_data).
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0),
        // Below the x32 bit: allow; else fail with ENOSYS.
        sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16,
            jt: 1,
            jf: 0,
            k: X32_BIT,
        },
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
        stmt(
            libc::BPF_RET | libc::BPF_K,
            libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        ),
    ]
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
