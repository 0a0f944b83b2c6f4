//! Hostile answers against the real grader: answers written to earn a pass they did not earn,
//! in every class of attack found against the one-process grader (the answer's code patching
//! what the harness uses, objects that claim to equal anything, reading memory for a secret,
//! forking an oracle, reading the hidden tests, breaking the grader so the task is dropped,
//! reaching out through unix or netlink sockets, forging log lines), several variants each.
//! Every one must fail with a reason that names what happened, and leave nothing behind outside
//! the sandbox: no file, no process, no connection, nothing received by a unix-socket listener.
//! Honest answers still pass under the same harness.

use crate::common::code_task;
use servebench_engine::eval::grade::{Grader, Verdict};
use servebench_engine::eval::sandbox::Limits;
use servebench_engine::eval::suite::{self, Task};
use std::io::Read;
use std::time::{Duration, Instant};

/// The real grader with a wall-clock and CPU limit of `wall_s`.
async fn grader(wall_s: u64) -> Grader {
    crate::common::grader(Limits {
        wall: Duration::from_secs(wall_s),
        cpu_s: wall_s,
        ..Default::default()
    })
    .await
}

/// `f(x) = x + 1`, checked the ways HumanEval's tests check: `==`, `abs`, `math.fabs`,
/// `round`, and a hidden value (41) the answer could only know by reading the tests.
fn add_one() -> Task {
    code_task(
        "def f(x):\n    \"\"\"Return x + 1.\"\"\"\n",
        "f",
        "import math\n\n\ndef check(candidate):\n    assert abs(candidate(0.5) - 1.5) < 1e-9\n    assert candidate(1) == 2\n    assert math.fabs(candidate(5) - 6) < 1e-9\n    assert round(candidate(2)) == 3\n    assert candidate(41) == 42\n",
    )
}

/// A task whose tests expect a built-in exception.
fn checked_ratio() -> Task {
    code_task(
        "def ratio(a, b):\n    \"\"\"a / b; raise ValueError when b is 0.\"\"\"\n",
        "ratio",
        "def check(candidate):\n    assert candidate(1, 2) == 0.5\n    try:\n        candidate(1, 0)\n    except ValueError:\n        pass\n    else:\n        raise AssertionError(\"b == 0 must raise ValueError\")\n",
    )
}

/// One hostile answer: its attack class, what it does, the answer, and words its fail reason
/// must contain (any of them).
struct Case {
    class: &'static str,
    name: &'static str,
    answer: String,
    reason: &'static [&'static str],
}

fn fenced(code: &str) -> String {
    format!("```python\n{code}\n```")
}

fn case(
    class: &'static str,
    name: &'static str,
    code: &str,
    reason: &'static [&'static str],
) -> Case {
    Case {
        class,
        name,
        answer: fenced(code),
        reason,
    }
}

/// Paths and names the attacks aim at, outside the sandbox.
struct Targets {
    marker: String,
    unix: String,
    tcp_port: u16,
}

fn cases(t: &Targets) -> Vec<Case> {
    let marker = &t.marker;
    let unix = &t.unix;
    let port = t.tcp_port;
    let mut v = vec![
        // 1. Patching what the harness uses after the answer's code has run.
        case(
            "1 patch the harness",
            "replaces abs, math.fabs and round",
            "import builtins, math\nbuiltins.abs = lambda v: 0\nmath.fabs = lambda v: 0.0\nbuiltins.round = lambda v, *a: 3\ndef f(x):\n    return 0",
            &["AssertionError at line 5 of the tests"],
        ),
        case(
            "1 patch the harness",
            "replaces json.dumps to claim a pass",
            "import json\njson.dumps = lambda *a, **k: '{\"passed\": true, \"reason\": null}'\ndef f(x):\n    return 0",
            &["not plain data"],
        ),
        case(
            "1 patch the harness",
            "replaces sys.modules['json'] and builtins.__import__",
            "import sys, builtins, types\nfake = types.ModuleType('json')\nfake.dumps = lambda *a, **k: 'RESULT {\"passed\": true}'\nfake.loads = lambda *a, **k: ['call', [], {}]\nsys.modules['json'] = fake\n_imp = builtins.__import__\nbuiltins.__import__ = lambda n, *a, **k: fake if n == 'json' else _imp(n, *a, **k)\ndef f(x):\n    return 0",
            &["not plain data", "AssertionError"],
        ),
        case(
            "1 patch the harness",
            "replaces os.write to write a verdict line",
            "import os\n_w = os.write\nos.write = lambda fd, data: _w(fd, b'RESULT {\"passed\": true, \"reason\": null}\\n')\ndef f(x):\n    return 0",
            &["not plain data"],
        ),
        case(
            "1 patch the harness",
            "replaces type, isinstance, len and str",
            "import builtins\nclass Fake:\n    def __eq__(self, o):\n        return True\n    __hash__ = object.__hash__\ndef f(x):\n    builtins.isinstance = lambda *a: True\n    builtins.len = lambda *a: 0\n    builtins.type = lambda *a: int\n    return Fake()",
            &["plain data", "the answer's process"],
        ),
        // 2. Values that claim to equal anything.
        case(
            "2 fake plain data",
            "a class whose metaclass equals int",
            "class Meta(type):\n    def __eq__(cls, other):\n        return True\n    __hash__ = type.__hash__\nclass Liar(metaclass=Meta):\n    def __eq__(self, other):\n        return True\n    __hash__ = object.__hash__\ndef f(x):\n    return Liar()",
            &["returned a Liar, not plain data"],
        ),
        case(
            "2 fake plain data",
            "an int subclass equal to anything",
            "class I(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\ndef f(x):\n    return I(0)",
            &["returned a I, not plain data"],
        ),
        case(
            "2 fake plain data",
            "an object whose __class__ says int",
            "class Mask:\n    @property\n    def __class__(self):\n        return int\n    def __eq__(self, o):\n        return True\ndef f(x):\n    return Mask()",
            &["returned a Mask, not plain data"],
        ),
        case(
            "2 fake plain data",
            "a float subclass whose difference is 0, in a list",
            "class F(float):\n    def __sub__(self, o):\n        return 0.0\ndef f(x):\n    return [F(0)][0] if x == 0.5 else F(0)",
            &["returned a F, not plain data"],
        ),
        // 3. Reading process memory for a secret.
        case(
            "3 read memory",
            "opens /proc/self/mem through dir_fd",
            "import os\ndef f(x):\n    d = os.open('/proc/self', os.O_RDONLY)\n    os.open('mem', os.O_RDONLY, dir_fd=d)\n    return 0",
            &["raised PermissionError at line"],
        ),
        case(
            "3 read memory",
            "opens its parent's /proc/<pid>/mem",
            "import os\ndef f(x):\n    open('/proc/%d/mem' % os.getppid(), 'rb').read(1)\n    return 0",
            &["raised PermissionError at line"],
        ),
        case(
            "3 read memory",
            "starts a fresh interpreter to read the parent's memory",
            "import os, subprocess, sys\ndef f(x):\n    subprocess.run([sys.executable, '-c', 'open(\"/proc/%d/mem\" % ' + str(os.getppid()) + ')'])\n    return 0",
            &["raised PermissionError at line"],
        ),
        case(
            "3 read memory",
            "calls process_vm_readv on its parent",
            "import ctypes, os\ndef f(x):\n    libc = ctypes.CDLL(None, use_errno=True)\n    buf = ctypes.create_string_buffer(64)\n    iov = (ctypes.c_void_p * 2)(ctypes.cast(buf, ctypes.c_void_p), 64)\n    remote = (ctypes.c_void_p * 2)(0x400000, 64)\n    if libc.process_vm_readv(os.getppid(), iov, 1, remote, 1, 0) < 0:\n        e = ctypes.get_errno()\n        raise OSError(e, 'process_vm_readv: ' + os.strerror(e))\n    return 0",
            &["raised PermissionError", "raised OSError", "MemoryError"],
        ),
        case(
            "3 read memory",
            "lists /dev/fd and /proc",
            "import os\ndef f(x):\n    return len(os.listdir('/dev/fd')) + len(os.listdir('/proc'))",
            &["raised PermissionError at line"],
        ),
        // 4. A fork oracle: a branch per return value, only the passing one goes on.
        case(
            "4 fork oracle",
            "os.fork at each call",
            "import os\ndef f(x):\n    if os.fork() == 0:\n        return x + 2\n    return x",
            &["raised PermissionError at line"],
        ),
        case(
            "4 fork oracle",
            "multiprocessing workers",
            "import multiprocessing\ndef f(x):\n    p = multiprocessing.Process(target=print)\n    p.start()\n    return 0",
            &[
                "raised PermissionError",
                "raised OSError",
                "raised FileNotFoundError",
            ],
        ),
        case(
            "4 fork oracle",
            "os.posix_spawn",
            "import os\ndef f(x):\n    os.posix_spawn('/usr/bin/true', ['true'], {})\n    return 0",
            &["raised PermissionError at line"],
        ),
        case(
            "4 fork oracle",
            "a pseudo-terminal fork",
            "import pty\ndef f(x):\n    pty.fork()\n    return 0",
            &[
                "raised PermissionError",
                "raised OSError",
                "raised FileNotFoundError",
            ],
        ),
        case(
            "4 fork oracle",
            "execs /bin/sh through execveat with an absolute path",
            "import ctypes, os\ndef f(x):\n    libc = ctypes.CDLL(None, use_errno=True)\n    argv = (ctypes.c_char_p * 2)(b'sh', None)\n    libc.syscall(322, 1000, b'/bin/sh', argv, argv, 0)\n    e = ctypes.get_errno()\n    raise OSError(e, 'execveat: ' + os.strerror(e))",
            &["raised PermissionError at line"],
        ),
        case(
            "4 fork oracle",
            "forks through the x32 system call numbers",
            "import ctypes, os\ndef f(x):\n    libc = ctypes.CDLL(None, use_errno=True)\n    if libc.syscall(0x40000000 | 57) < 0:\n        e = ctypes.get_errno()\n        raise OSError(e, 'x32 fork: ' + os.strerror(e))\n    return x + 1",
            &["raised OSError at line", "raised PermissionError at line"],
        ),
        // 5. Reading the hidden tests.
        case(
            "5 read the tests",
            "opens task.json and solution.py in its directory",
            "import os\ndef f(x):\n    for name in ('task.json', 'solution.py', 'answer.txt'):\n        if os.path.exists(name):\n            raise ValueError('found ' + name)\n    return len(os.listdir('.'))",
            &["AssertionError"],
        ),
        case(
            "5 read the tests",
            "looks for the tests' directory under /tmp",
            "import os\ndef f(x):\n    return len(os.listdir('/tmp')) + len(os.listdir('..'))",
            &["raised PermissionError at line"],
        ),
        case(
            "5 read the tests",
            "searches its memory and frames for the tests",
            "import gc, sys\n# Built at run time, so the answer's own source does not contain it.\nNEEDLE = ('cand' + 'idate(4' + '1)').encode()\ndef f(x):\n    texts = [o for o in gc.get_objects() if type(o) in (str, bytes) and NEEDLE in (o if type(o) is bytes else o.encode())]\n    frame = sys._getframe()\n    while frame:\n        texts += [v for v in frame.f_locals.values() if type(v) is str and NEEDLE.decode() in v]\n        frame = frame.f_back\n    if texts:\n        raise ValueError('found the tests')\n    return 0",
            &["AssertionError at line 5 of the tests"],
        ),
        case(
            "5 read the tests",
            "reads every process's command line",
            "import os\ndef f(x):\n    for pid in range(1, 65536):\n        try:\n            open('/proc/%d/cmdline' % pid).read()\n        except FileNotFoundError:\n            pass\n    return 0",
            &["raised PermissionError at line"],
        ),
        // 6. Breaking the grader so the task would be left out.
        Case {
            class: "6 break the grader",
            name: "3,000 levels of unary minus",
            answer: fenced(&format!("def f(x):\n    return {}x", "-".repeat(3000))),
            reason: &["nesting too deep to parse", "syntax error"],
        },
        Case {
            class: "6 break the grader",
            name: "10,000 nested brackets",
            answer: fenced(&format!(
                "def f(x):\n    return {}x{}",
                "[".repeat(10_000),
                "]".repeat(10_000)
            )),
            reason: &["nesting too deep to parse", "syntax error"],
        },
        Case {
            class: "6 break the grader",
            name: "400 lines that do not parse, no fence",
            answer: (0..400)
                .map(|i| format!("def f{i}(x:\n    return (x +"))
                .collect::<Vec<_>>()
                .join("\n"),
            reason: &["empty answer: no code in the reply"],
        },
        Case {
            class: "6 break the grader",
            name: "a 200 KiB program (an extract line over the cap)",
            answer: fenced(&format!(
                "TABLE = [{}]\ndef f(x):\n    return 0",
                (0..30_000)
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            reason: &["AssertionError at line 5 of the tests"],
        },
        Case {
            class: "6 break the grader",
            name: "an answer over 256 KiB",
            answer: fenced(&format!(
                "# {}\ndef f(x):\n    return x + 1",
                "x".repeat(300 << 10)
            )),
            reason: &["over the grader's 256 KiB limit"],
        },
        case(
            "6 break the grader",
            "returns a value nested 10,000 deep",
            "def f(x):\n    v = []\n    for _ in range(10000):\n        v = [v]\n    return v",
            &["nested over 100 deep, not plain data"],
        ),
        case(
            "6 break the grader",
            "returns 20 MiB",
            "def f(x):\n    return 'x' * (20 << 20)",
            &["sent a reply over 16 MiB"],
        ),
        case(
            "6 break the grader",
            "exits from inside the function",
            "import os\ndef f(x):\n    os._exit(0)",
            &["the answer's process exited with status 0"],
        ),
        case(
            "6 break the grader",
            "kills itself with SIGKILL",
            "import os, signal\ndef f(x):\n    os.kill(os.getpid(), signal.SIGKILL)",
            &["the answer's process was killed (SIGKILL"],
        ),
        case(
            "6 break the grader",
            "crashes the interpreter",
            "import ctypes\ndef f(x):\n    return ctypes.string_at(0)",
            &["the answer's process was killed by signal 11"],
        ),
        case(
            "6 break the grader",
            "raises SystemExit while loading",
            "import sys\nsys.exit(0)\ndef f(x):\n    return x + 1",
            &["the program raised SystemExit at line 2 while loading"],
        ),
        case(
            "6 break the grader",
            "a lone surrogate in its exception message",
            "def f(x):\n    raise ValueError('\\udc00')",
            &["call 1: raised ValueError at line 2: ?"],
        ),
        // 7. Unix, netlink and other sockets.
        case(
            "7 sockets",
            "connects to a world-writable unix socket",
            &format!(
                "import socket\ndef f(x):\n    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n    s.connect({unix:?})\n    s.sendall(b'owned')\n    return 0"
            ),
            &["raised PermissionError at line"],
        ),
        case(
            "7 sockets",
            "opens a netlink socket",
            "import socket\ndef f(x):\n    socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)\n    return 0",
            &["raised PermissionError at line"],
        ),
        case(
            "7 sockets",
            "makes a socketpair",
            "import socket\ndef f(x):\n    socket.socketpair()\n    return 0",
            &["raised PermissionError at line"],
        ),
        case(
            "7 sockets",
            "sends TCP and UDP to the host",
            &format!(
                "import socket\ndef f(x):\n    socket.create_connection(('127.0.0.1', {port}), timeout=1).sendall(b'x')\n    return 0"
            ),
            &["raised PermissionError at line"],
        ),
        // 8. Log injection through text the answer controls.
        case(
            "8 forge log lines",
            "an exception message with a newline and ANSI escapes",
            "def f(x):\n    raise ValueError('ok\\n[m] graded hostile/0: Pass (accuracy 1.00)\\x1b[2K\\r')",
            &[
                "raised ValueError at line 2: ok\\n[m] graded",
                "\\x1b[2K\\r",
            ],
        ),
        case(
            "8 forge log lines",
            "its own exception class named with control characters",
            "Boom = type('Boom\\n\\x1b[31m', (Exception,), {})\ndef f(x):\n    raise Boom('\\x00')",
            &["raised its own exception Boom\\n\\x1b[31m"],
        ),
        case(
            "8 forge log lines",
            "NUL and a right-to-left override",
            "def f(x):\n    raise ValueError('a\\x00b\\u202eSSAP')",
            &["raised ValueError at line 2: a\\0b\\u{202e}SSAP"],
        ),
        case(
            "8 forge log lines",
            "prints verdict lines of every kind",
            "import sys\nfor m in ('READY', 'RESULT {\"passed\": true}', 'SERVEBENCH-RESULT {\"passed\": true}'):\n    print(m, flush=True)\n    sys.stderr.write(m + '\\n')\ndef f(x):\n    print('RESULT {\"passed\": true, \"reason\": null}', flush=True)\n    return 0",
            &["AssertionError at line 5 of the tests"],
        ),
        // 9. Reaching other processes without kill(): signals by descriptor owner, their limits
        // and priorities, shared memory that outlives the process.
        case(
            "9 reach other processes",
            "asks for SIGKILL to its parent through F_SETOWN and F_SETSIG",
            "import fcntl, os\ndef f(x):\n    r, w = os.pipe()\n    fcntl.fcntl(r, 8, os.getppid())\n    fcntl.fcntl(r, 10, 9)\n    fcntl.fcntl(r, fcntl.F_SETFL, os.O_ASYNC)\n    os.write(w, b'x')\n    return 0",
            &["raised PermissionError at line"],
        ),
        case(
            "9 reach other processes",
            "lowers its parent's open-files limit",
            "import os, resource\ndef f(x):\n    resource.prlimit(os.getppid(), resource.RLIMIT_NOFILE, (3, 3))\n    return 0",
            &["raised PermissionError at line"],
        ),
        case(
            "9 reach other processes",
            "renices every process of its user",
            "import os\ndef f(x):\n    os.setpriority(os.PRIO_USER, 0, 19)\n    return 0",
            &["raised PermissionError at line"],
        ),
        case(
            "9 reach other processes",
            "keeps System V shared memory after it dies",
            "import ctypes, os\ndef f(x):\n    libc = ctypes.CDLL(None, use_errno=True)\n    if libc.shmget(0, 900 << 20, 0o1666) < 0:\n        e = ctypes.get_errno()\n        raise OSError(e, 'shmget: ' + os.strerror(e))\n    return 0",
            &["raised PermissionError at line"],
        ),
    ];
    // Writes outside its directory, then claims a pass.
    v.push(case(
        "1 patch the harness",
        "writes outside its directory, then prints a verdict and exits",
        &format!("import os\ntry:\n    open({marker:?}, 'w').write('owned')\nexcept OSError:\n    pass\nprint('RESULT {{\"passed\": true}}')\nos._exit(0)\ndef f(x):\n    return 0"),
        &["the answer's process exited with status 0"],
    ));
    v
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(feature = "e2e"),
    ignore = "needs Landlock (kernel 5.13+) for /proc and /tmp: `make test` runs it (--features e2e)"
)]
async fn hostile_answers_fail_with_their_reason_and_change_nothing_outside() {
    // Forty-nine gradings in a burst load both cores: not beside a real-model timing test.
    let _serial = crate::common::SERIAL.lock().await;
    let g = grader(10).await;
    let task = add_one();
    let dir = tempfile::tempdir().unwrap();
    // A world-writable unix socket and a TCP listener: neither may receive anything.
    let unix_path = dir.path().join("listener.sock");
    let unix = std::os::unix::net::UnixListener::bind(&unix_path).unwrap();
    unix.set_nonblocking(true).unwrap();
    use std::os::unix::fs::PermissionsExt;
    for p in [dir.path(), unix_path.as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    tcp.set_nonblocking(true).unwrap();
    let targets = Targets {
        marker: format!("/tmp/servebench-hostile-{}", std::process::id()),
        unix: unix_path.display().to_string(),
        tcp_port: tcp.local_addr().unwrap().port(),
    };
    let cases = cases(&targets);
    assert!(cases.len() >= 30, "{} hostile answers", cases.len());
    let mut per_class = std::collections::BTreeMap::<&str, usize>::new();
    let mut wrong = Vec::new();
    for c in &cases {
        let start = Instant::now();
        let r = g.grade(&task, &c.answer).await;
        let reason = r.reason.clone().unwrap_or_default();
        eprintln!(
            "| {} | {} | {:?} | {} | {:.2} s |",
            c.class,
            c.name,
            r.verdict,
            reason,
            start.elapsed().as_secs_f64()
        );
        *per_class.entry(c.class).or_default() += 1;
        let kept = r.extracted_code.as_ref().map_or(0, String::len);
        if kept > 64 << 10 {
            wrong.push(format!("{}: {kept} bytes of extracted code kept", c.name));
        }
        if r.verdict != Verdict::Fail || r.accuracy != 0.0 {
            wrong.push(format!("{}: {:?} {reason}", c.name, r.verdict));
        } else if !c.reason.iter().any(|w| reason.contains(w)) {
            wrong.push(format!(
                "{}: reason {reason:?}, want one of {:?}",
                c.name, c.reason
            ));
        } else if reason.chars().any(|ch| ch.is_control()) {
            wrong.push(format!("{}: raw control characters in {reason:?}", c.name));
        } else if reason.contains("timeout") {
            wrong.push(format!("{}: {reason}", c.name));
        }
    }
    assert!(
        wrong.is_empty(),
        "hostile answers not failed as expected:\n{}",
        wrong.join("\n")
    );
    assert!(per_class.len() >= 8, "{per_class:?}");
    assert!(per_class.values().all(|n| *n >= 3), "{per_class:?}");
    // Nothing outside changed: no file, no connection, no listener reached.
    assert!(
        !std::path::Path::new(&targets.marker).exists(),
        "a write escaped"
    );
    assert!(tcp.accept().is_err(), "a TCP connection escaped");
    match unix.accept() {
        Ok((mut s, _)) => {
            let mut got = Vec::new();
            let _ = s.read_to_end(&mut got);
            panic!("the unix socket was reached and received {got:?}");
        }
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock),
    }
    // The honest answer still passes under the same harness.
    let ok = g.grade(&task, &fenced("def f(x):\n    return x + 1")).await;
    assert_eq!(ok.verdict, Verdict::Pass, "{ok:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_process_of_a_hostile_answer_outlives_its_grading() {
    let g = grader(5).await;
    let task = add_one();
    for code in [
        "import subprocess\ndef f(x):\n    subprocess.Popen(['sleep', '4243'])\n    return x + 1",
        "import os\ndef f(x):\n    if os.fork() == 0:\n        os.execvp('sleep', ['sleep', '4244'])\n    return x + 1",
        "import threading, time\nthreading.Thread(target=time.sleep, args=(4245,)).start()\ndef f(x):\n    return x + 1",
    ] {
        let start = Instant::now();
        let r = g.grade(&task, &fenced(code)).await;
        eprintln!("{:?} {:?}", r.verdict, r.reason);
        // A thread left sleeping (threads are allowed: they are not processes) does not hold
        // the grading up: the process group is killed once the verdict is in.
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "{:?}",
            start.elapsed()
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for n in ["sleep 4243", "sleep 4244"] {
        assert!(!crate::common::process_alive(n), "{n} outlived its grading");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn builtin_exceptions_reach_the_tests_as_themselves_and_others_fail() {
    let g = grader(10).await;
    // Every built-in task that expects an exception: its reference answer passes, and the same
    // answer returning instead of raising fails.
    let builtin = suite::load(
        &suite::Dataset::Builtin,
        Some(&["code-completion".into()]),
        None,
    )
    .unwrap();
    let mut expecting = 0;
    for t in &builtin {
        let suite::Kind::Code {
            test, reference, ..
        } = &t.kind
        else {
            continue;
        };
        if !test.contains("except ValueError") {
            continue;
        }
        expecting += 1;
        let reference = reference.as_deref().unwrap();
        let r = g.grade(t, &fenced(reference)).await;
        assert_eq!(r.verdict, Verdict::Pass, "{}: {r:?}", t.id);
        let returns: String = reference
            .lines()
            .map(|l| match l.trim_start().strip_prefix("raise ValueError") {
                Some(_) => format!("{}return None", &l[..l.len() - l.trim_start().len()]),
                None => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert_ne!(returns, reference, "{}", t.id);
        let r = g.grade(t, &fenced(&returns)).await;
        assert_eq!(r.verdict, Verdict::Fail, "{}: {r:?}", t.id);
        assert!(
            r.reason
                .as_deref()
                .unwrap()
                .contains("must raise ValueError"),
            "{}: {r:?}",
            t.id
        );
    }
    assert_eq!(expecting, 5, "the built-in tasks that expect ValueError");
    // An argument the answer changes is changed in the tests too, as in one process.
    let median = builtin.iter().find(|t| t.id == "cc/median").unwrap();
    let sorts_in_place = "```python\ndef median(values):\n    if not values:\n        raise ValueError('empty')\n    values.sort()\n    n = len(values)\n    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2\n```";
    let r = g.grade(median, sorts_in_place).await;
    assert_eq!(r.verdict, Verdict::Fail, "{r:?}");
    assert!(
        r.reason
            .as_deref()
            .unwrap()
            .contains("the input must not be modified"),
        "{r:?}"
    );

    let task = checked_ratio();
    let cases: [(&str, Verdict, &str); 5] = [
        (
            "def ratio(a, b):\n    if b == 0:\n        raise ValueError('b is 0')\n    return a / b",
            Verdict::Pass,
            "",
        ),
        // A ValueError subclass of the answer's own is not the built-in: a plain failure.
        (
            "class Mine(ValueError):\n    pass\ndef ratio(a, b):\n    if b == 0:\n        raise Mine('b is 0')\n    return a / b",
            Verdict::Fail,
            "call 2: raised its own exception Mine at line 5: b is 0 (only built-in exceptions reach the tests)",
        ),
        // A built-in of another kind is raised as itself, and the tests do not expect it.
        (
            "def ratio(a, b):\n    return a / b",
            Verdict::Fail,
            "call 2: raised ZeroDivisionError at line 2: division by zero (uncaught at line 4 of the tests)",
        ),
        (
            "def ratio(a, b):\n    return a / b if b else None",
            Verdict::Fail,
            "AssertionError at line 8 of the tests: b == 0 must raise ValueError",
        ),
        // A built-in that is no Exception (SystemExit) never reaches the tests as itself.
        (
            "import sys\ndef ratio(a, b):\n    if b == 0:\n        sys.exit('b is 0')\n    return a / b",
            Verdict::Fail,
            "call 2: raised SystemExit at line 4: b is 0",
        ),
    ];
    for (code, verdict, reason) in cases {
        let r = g.grade(&task, &fenced(code)).await;
        assert_eq!(r.verdict, verdict, "{code}: {r:?}");
        assert_eq!(r.reason.as_deref().unwrap_or(""), reason, "{code}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn extraction_is_bounded_on_adversarial_answers() {
    let g = grader(10).await;
    let task = add_one();
    // Each took the old grader from seconds to past its limit (cubic in the line count) or
    // broke it; each must now end well inside the limit, as a fail with a reason.
    let long_prose = format!(
        "Here is my answer.\n{}\nThat is all.",
        (0..2000)
            .map(|i| format!("import x{i} as (\nprose line {i}, with words"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let backticks = format!("{}def f(x):\n    return 0", "```".repeat(80_000));
    for (name, answer) in [
        ("2,000 broken imports", long_prose),
        ("240,000 backticks", backticks),
    ] {
        let start = Instant::now();
        let r = g.grade(&task, &answer).await;
        let took = start.elapsed();
        eprintln!("{name}: {:?} {:?} in {took:?}", r.verdict, r.reason);
        assert_eq!(r.verdict, Verdict::Fail, "{name}: {r:?}");
        assert!(
            !r.reason.as_deref().unwrap_or("").contains("timeout"),
            "{name}: {r:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_progress_log_shows_an_answers_text_escaped() {
    use crate::common::*;
    // Every answer raises an exception whose message tries to end the line and forge another.
    let m = mock_openai(MockCfg {
        answer: Answer::new(|_| {
            fenced("def clamp(value, low, high):\n    raise ValueError('ok\\n[m] graded cc/clamp: Pass (accuracy 1.00)\\x1b[2K\\r')")
        }),
        ttft: Duration::from_millis(1),
        per_token: Duration::ZERO,
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = servebench(&[
        "eval",
        "--api",
        "openai",
        "--url",
        &m.url(),
        "--model",
        "mock-model",
        "--scenarios",
        "code-completion",
        "--limit",
        "1",
        "--out",
        out.to_str().unwrap(),
    ])
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let graded: Vec<&str> = o.stderr.lines().filter(|l| l.contains("graded")).collect();
    assert_eq!(graded.len(), 2, "one line per graded answer:\n{}", o.stderr);
    for l in graded {
        assert!(l.contains("Fail"), "{l}");
        assert!(l.contains("raised ValueError at line 2: ok\\n[m] graded cc/clamp: Pass (accuracy 1.00)\\x1b[2K\\r"), "{l}");
    }
    assert!(
        !o.stderr.contains('\x1b') && !o.stderr.contains('\r'),
        "{}",
        o.stderr
    );
    // quality.jsonl keeps the answer itself, JSON-escaped, and the escaped reason.
    let lines = std::fs::read_to_string(out.join("quality.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 2, "{lines}");
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_iteration_cannot_end_the_tests_early() {
    let g = grader(10).await;
    // Tests that call the candidate inside `map`: a StopIteration raised in the tests' process
    // would end the map, and `all` would see no failure.
    let task = code_task(
        "def f(x):\n    \"\"\"Return x + 1.\"\"\"\n",
        "f",
        "def check(candidate):\n    assert all(map(lambda x: candidate(x) == x + 1, [1, 2, 3]))\n",
    );
    let r = g
        .grade(&task, &fenced("def f(x):\n    raise StopIteration"))
        .await;
    assert_eq!(r.verdict, Verdict::Fail, "{r:?}");
    assert!(
        r.reason
            .as_deref()
            .unwrap()
            .contains("raised StopIteration at line 2"),
        "{r:?}"
    );
    assert_eq!(
        g.grade(&task, &fenced("def f(x):\n    return x + 1"))
            .await
            .verdict,
        Verdict::Pass
    );
    // A function returning a tuple is a value, not the changed-arguments reply.
    let pair = code_task(
        "def f(x):\n    \"\"\"Return (x, x + 1).\"\"\"\n",
        "f",
        "def check(candidate):\n    assert candidate(1) == (1, 2)\n    xs = [3]\n    assert candidate(xs) == ([3], 4)\n    assert xs == [3, 4]\n",
    );
    // The second call returns a tuple *and* changes its argument: both reach the tests.
    let r = g
        .grade(&pair, &fenced("def f(x):\n    if type(x) is list:\n        before = list(x)\n        x.append(x[0] + 1)\n        return (before, x[0] + 1)\n    return (x, x + 1)"))
        .await;
    assert_eq!(r.verdict, Verdict::Pass, "{r:?}");
}
