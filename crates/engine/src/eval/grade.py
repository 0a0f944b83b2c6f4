"""servebench's grader for code answers, run inside the sandbox (see src/eval/sandbox.rs).

Reads task.json ({prompt, entry_point, test}) and answer.txt from the current directory.
Prints two marker lines: SERVEBENCH-EXTRACT {json} (the code taken from the answer and its
lint), then, after running the task's tests on it, SERVEBENCH-RESULT {json}. A grader fault
exits with status 3 before any model code runs.

This process writes the verdict; the model's code never runs in it. The program (answer plus
the task's tests) runs in a child interpreter whose output goes to files, not to this
process's stdout, so nothing the model prints can become a marker. The child proves that the
tests ran to completion by writing a nonce it was handed on stdin, after `check` returned;
an exit before that (status 0 or not) is a fail. Inside the child an audit hook denies the
ways to find the nonce in memory (frames, gc, ctypes, tracing, /proc, links), and every value
the entry point returns to the tests must be plain data (numbers, strings, bytes, None, and
lists/tuples/dicts/sets of them, exact types): an object that claims to equal anything fails.

Code extraction (README "Getting code out of an answer"):
1. fenced blocks: the one defining the entry point, else the longest that parses, else the
   longest;
2. no fence, first code line indented: an indentation-only completion of the prompt's body;
3. no fence: the longest run of lines that parses as Python and holds a statement that is not
   a bare expression (so prose words are not taken for code).
The prompt's imports are always prepended; the prompt's other definitions are prepended only
when the answer lacks them; a body-only answer is appended to the whole prompt.
"""
import ast
import json
import os
import re
import secrets
import subprocess
import sys
import time

FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
CODE_START = re.compile(r"^(def |async def |class |import |from |@)")


def parse(src):
    try:
        return ast.parse(src)
    except (SyntaxError, ValueError):
        return None


def defines(tree, name):
    return tree is not None and any(
        isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == name
        for n in ast.walk(tree)
    )


def codelike(tree):
    return tree is not None and any(not isinstance(s, ast.Expr) for s in tree.body)


def longest_parseable_run(lines):
    best = ""
    for i, line in enumerate(lines):
        if not CODE_START.match(line):
            continue
        if len(lines) - i <= best.count("\n") + 1:
            break
        for j in range(len(lines), i, -1):
            if j - i <= best.count("\n") + 1 and best:
                break
            chunk = "\n".join(lines[i:j]).strip("\n")
            if codelike(parse(chunk)):
                best = chunk
                break
    return best


def extract(answer, entry):
    blocks = [b for lang, b in FENCE.findall(answer) if lang.lower() in ("", "python", "py", "python3")]
    if blocks:
        with_entry = [b for b in blocks if defines(parse(b), entry)]
        if with_entry:
            return with_entry[0], "fence:entry point"
        parsing = [b for b in blocks if parse(b) is not None]
        return max(parsing or blocks, key=len), "fence:longest"
    lines = answer.splitlines()
    first = next((l for l in lines if l.strip()), "")
    if first[:1] in (" ", "\t"):
        body = []
        for l in lines:
            if l.strip() and l[:1] not in (" ", "\t"):
                break
            body.append(l)
        return "\n".join(body), "indented body"
    run = longest_parseable_run(lines)
    return run, ("parseable run" if run else "none")


def prompt_parts(prompt):
    """(import lines, {name: source} of the prompt's other top-level definitions)."""
    tree = parse(prompt)
    if tree is None:
        return [], {}
    lines = prompt.splitlines()
    imports, defs = [], {}
    for node in tree.body:
        src = "\n".join(lines[node.lineno - 1 - len(getattr(node, "decorator_list", [])):node.end_lineno])
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(src)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defs[node.name] = src
    return imports, defs


def assemble(prompt, code, method, entry):
    tree = parse(code)
    if method != "indented body" and defines(tree, entry):
        imports, defs = prompt_parts(prompt)
        extra = [src for name, src in defs.items() if name != entry and not defines(tree, name)]
        return "\n".join(imports + extra + [code])
    if method == "indented body" or not code.strip():
        return prompt + code
    return prompt + "\n" + code


def lint(code):
    tree = parse(code)
    out = {"compiles": tree is not None, "unused": [], "bare_except": 0,
           "lines": sum(1 for l in code.splitlines() if l.strip() and not l.strip().startswith("#"))}
    if tree is None:
        return out
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    loaded |= {n.value.id for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                name = (a.asname or a.name).split(".")[0]
                if name != "*" and name not in loaded and not (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
                    out["unused"].append(f"import {name}")
        elif isinstance(node, ast.ExceptHandler) and node.type is None:
            out["bare_except"] += 1
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stored = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            nonlocal_names = {x for n in ast.walk(node) if isinstance(n, (ast.Global, ast.Nonlocal)) for x in n.names}
            for name in sorted(stored - used - nonlocal_names):
                if not name.startswith("_"):
                    out["unused"].append(f"variable {name}")
    return out


# The child: reads the nonce, arms the audit hook, runs the program and the task's `check`
# on a guarded entry point, and only then writes the nonce with the outcome. Everything it
# needs is bound before the model's code runs, so rebinding names in the shared namespace or
# in the os/sys modules changes nothing here.
CHILD = r'''
import os, sys
def _servebench_child(entry):
    read, write, exit_, type_, realpath = os.read, os.write, os._exit, type, os.path.realpath
    nonce = read(0, 64).decode().strip()
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    out = os.dup(1)
    # Imported before the hook is armed: they look at frames while they load.
    import typing, collections, dataclasses, functools, itertools, math, re, string, heapq
    import fractions, decimal, statistics, hashlib, bisect, random
    plain_scalars = (int, float, complex, str, bytes, bool, type(None))
    containers = (list, tuple, set, frozenset)
    class Denied(ValueError):
        pass
    denied_events = frozenset((
        "sys._getframe", "sys._current_frames", "sys.settrace", "sys.setprofile",
        "gc.get_objects", "gc.get_referrers", "gc.get_referents",
        "os.symlink", "os.link", "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata",
    ))
    frame_attrs = frozenset(("tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back"))
    def hook(event, args):
        if event in denied_events:
            raise Denied(event + " is not allowed while grading")
        if event == "object.__getattr__" and len(args) > 1 and args[1] in frame_attrs:
            raise Denied("frame access is not allowed while grading")
        if event == "import" and args and str(args[0]).split(".")[0] in ("ctypes", "_ctypes"):
            raise Denied("ctypes is not allowed while grading")
        if event == "open" and args and isinstance(args[0], (str, bytes)):
            path = args[0] if isinstance(args[0], str) else args[0].decode("utf-8", "replace")
            # Resolved, so a relative path or a link (/dev/fd, /dev/stdin) cannot reach /proc.
            real = realpath(path)
            if real.startswith("/proc") or path.startswith(("/proc", "/dev/fd")):
                raise Denied("opening " + path + " is not allowed while grading")
    def plain(value):
        stack, seen = [value], 0
        while stack:
            v = stack.pop()
            seen += 1
            if seen > 1000000:
                return "a value too large to check"
            t = type_(v)
            if t in plain_scalars:
                continue
            if t in containers:
                stack.extend(v)
            elif t is dict:
                stack.extend(v.keys())
                stack.extend(v.values())
            else:
                return "a " + t.__name__
        return None
    def finish(passed, reason):
        import json
        write(out, ("SERVEBENCH-CHILD " + nonce + " " + json.dumps({"passed": passed, "reason": reason}) + "\n").encode())
        exit_(0)
    sys.addaudithook(hook)
    env = {"__name__": "__servebench_task__"}
    try:
        source = open("solution.py", encoding="utf-8").read()
        exec(compile(source, "solution.py", "exec"), env)
        check, candidate = env["check"], env[entry]
        def guarded(*args, **kwargs):
            result = candidate(*args, **kwargs)
            bad = plain(result)
            if bad is not None:
                raise TypeError("returned " + bad + ", not plain data")
            return result
        check(guarded)
    except BaseException as e:
        # Frames are denied, so lines tell harness from program: the harness starts at HARNESS_LINE.
        tb, line = e.__traceback__, None
        while tb is not None:
            if tb.tb_lineno < 1000000:
                line = tb.tb_lineno
            tb = tb.tb_next
        where = "" if line is None else " at line " + str(line)
        try:
            # The exception is the model's object: its class name and text may be hostile too.
            name, message = str(type_.__dict__["__name__"].__get__(type_(e))), str(e)[:200]
        except BaseException:
            name, message = "an exception", "(its message could not be read)"
        finish(False, (name + where + ": " + message).rstrip(": "))
    finish(True, None)
_servebench_child(sys.argv[1])
'''
# The harness's lines are numbered from a million, so a traceback's line numbers tell them from
# the program's (solution.py) without reading frames.
HARNESS_LINE = 1000000
LAUNCH = "import sys\nexec(compile('\\n' * %d + sys.argv[2], '<servebench>', 'exec'))" % (HARNESS_LINE - 1)

TAIL = 64 << 10


def tail(path):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - TAIL))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def last_line(text):
    return next((l.strip() for l in reversed(text.splitlines()) if l.strip()), "")


def run_child(program, test, entry):
    """Run the program in a child interpreter; the verdict from its nonce line alone."""
    with open("solution.py", "w", encoding="utf-8") as f:
        f.write(program + "\n\n" + test + "\n")
    nonce = secrets.token_hex(16)
    start = time.monotonic()
    with open("child.out", "wb") as out, open("child.err", "wb") as err:
        child = subprocess.Popen(
            [sys.executable, "-I", "-B", "-c", LAUNCH, entry, CHILD],
            stdin=subprocess.PIPE, stdout=out, stderr=err, close_fds=True,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
        )
        try:
            child.stdin.write((nonce + "\n").encode())
            child.stdin.close()
        except OSError:
            pass
        code = child.wait()
    elapsed = time.monotonic() - start
    stdout, stderr = tail("child.out"), tail("child.err")
    prefix = "SERVEBENCH-CHILD " + nonce + " "
    verdicts = [l[len(prefix):] for l in stdout.splitlines() if l.startswith(prefix)]
    if len(verdicts) == 1:
        try:
            v = json.loads(verdicts[0])
            result = {"passed": v["passed"] is True, "reason": v.get("reason")}
        except (ValueError, KeyError, TypeError):
            result = {"passed": False, "reason": "the test run's verdict could not be read"}
    elif verdicts:
        result = {"passed": False, "reason": "the test run reported more than one verdict"}
    else:
        how = f"exited with status {code}" if code >= 0 else f"killed by signal {-code}"
        err_line = last_line(stderr)
        result = {"passed": False,
                  "reason": f"the tests did not run to completion: the program {how}"
                  + (f": {err_line}" if err_line else "")}
    result["test_s"] = elapsed
    return result


def main():
    try:
        task = json.load(open("task.json"))
        answer = open("answer.txt", encoding="utf-8", errors="replace").read()
        entry = task["entry_point"]
        prompt = task.get("prompt", "")
        test = task["test"]
    except Exception as e:  # the grader's own inputs: a grader fault, not the model's
        print("SERVEBENCH-GRADER-ERROR " + json.dumps({"error": repr(e)}), flush=True)
        sys.exit(3)
    try:
        # Not dumpable: the child, same uid, cannot read this process's memory or fds.
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):
        pass
    if not answer.strip():
        code, method = "", "none"
    else:
        code, method = extract(answer, entry)
    program = assemble(prompt, code, method, entry) if code.strip() else ""
    info = {"code": code, "method": method, "program": program, "lint": lint(code) if code.strip() else None}
    print("SERVEBENCH-EXTRACT " + json.dumps(info), flush=True)
    if not answer.strip():
        reason = "empty answer"
    elif not code.strip():
        reason = "empty answer: no code in the reply"
    elif parse(program) is None:
        reason = "syntax error in the extracted code"
    elif not defines(parse(program), entry):
        reason = f"entry point {entry} not defined"
    else:
        reason = None
    if reason:
        print("SERVEBENCH-RESULT " + json.dumps({"passed": False, "reason": reason}), flush=True)
        return
    print("SERVEBENCH-RESULT " + json.dumps(run_child(program, test, entry)), flush=True)


if __name__ == "__main__":
    main()
