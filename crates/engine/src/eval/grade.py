"""servebench's test process: takes the code out of an answer and runs the task's tests on it,
without ever running the answer's code (see harness.rs).

servebench writes one JSON line to standard input ({prompt, entry_point, test, answer}) and
reads this process's lines from standard output:

  READY                  the task was read; anything that goes wrong after this is the answer's
  EXTRACT {json}         the code taken from the answer, how, and its lint (the code capped)
  TO-CANDIDATE [json]    a request for the candidate process; servebench writes its one-line
                         reply to standard input (["gone", reason] when that process is gone)
  RESULT {json}          the verdict: {"passed": bool, "reason": str or null, "error": str
                         or null (the task itself could not be run), "calls": int}

The answer's program runs in the candidate process (candidate.py). Here, each `candidate(...)`
call of the tests is sent there, and the reply is read by a strict decoder that builds nothing
but plain data — None, bool, int, float, str, bytes, and list / tuple / dict / set / frozenset
of them — so no object of the answer's ever reaches the tests' comparisons. A built-in
exception is raised here as itself; any other exception, a crash or a reply that is not plain
data is a fail with its reason.

Code extraction (README "Getting code out of an answer"):
1. fenced blocks: the one defining the entry point, else the longest that parses, else the
   longest;
2. no fence, first code line indented: an indentation-only completion of the prompt's body;
3. no fence: the longest run of lines that parses as Python and holds a statement that is not
   a bare expression (so prose words are not taken for code), searched within a parsing budget.
The prompt's imports are always prepended; the prompt's other definitions are prepended only
when the answer lacks them; a body-only answer is appended to the whole prompt.
Every step is bounded: fences are found in one pass, the run search parses at most
PARSE_BUDGET characters, and an answer that breaks the parser (too deep, too long) is code
that does not parse.
"""
import ast
import builtins
import json
import os
import re
import sys

CODE_START = re.compile(r"^(def |async def |class |import |from |@)")
LANG = re.compile(r"[ \t]*([A-Za-z0-9_+.-]*)")
# Characters the longest-run search may parse in all (an ordinary answer needs a few thousand).
PARSE_BUDGET = 2_000_000
# Characters of extracted code kept in the EXTRACT line (the report's copy; the program sent
# to the candidate is whole).
CODE_KEPT = 64 << 10
MESSAGE_KEPT = 300


def parse(src):
    try:
        return ast.parse(src)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return None


def defines(tree, name):
    return tree is not None and any(
        isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == name
        for n in ast.walk(tree)
    )


def codelike(tree):
    return tree is not None and any(not isinstance(s, ast.Expr) for s in tree.body)


def fences(answer):
    """(language, body) of every ``` block, as `` ```lang…\\n body ``` `` (an unclosed block
    runs to the end), found in one pass."""
    out, pos = [], 0
    while True:
        start = answer.find("```", pos)
        if start < 0:
            return out
        nl = answer.find("\n", start + 3)
        if nl < 0:
            return out
        lang = LANG.match(answer, start + 3, nl).group(1)
        end = answer.find("```", nl + 1)
        out.append((lang, answer[nl + 1:end if end >= 0 else len(answer)]))
        if end < 0:
            return out
        pos = end + 3


def longest_parseable_run(lines):
    """The longest run of lines from a code-like line on that parses as code, searched from the
    longest down; the parsing stops at PARSE_BUDGET characters with the best run found."""
    best, best_lines, budget = "", 0, PARSE_BUDGET
    for i, line in enumerate(lines):
        if not CODE_START.match(line):
            continue
        if len(lines) - i <= best_lines:
            break
        for j in range(len(lines), i, -1):
            if j - i <= best_lines:
                break
            chunk = "\n".join(lines[i:j]).strip("\n")
            budget -= len(chunk)
            if budget < 0:
                return best
            if codelike(parse(chunk)):
                best, best_lines = chunk, chunk.count("\n") + 1
                break
    return best


def extract(answer, entry):
    blocks = [b for lang, b in fences(answer) if lang.lower() in ("", "python", "py", "python3")]
    if blocks:
        trees = [parse(b) for b in blocks]
        with_entry = [b for b, t in zip(blocks, trees) if defines(t, entry)]
        if with_entry:
            return with_entry[0], "fence:entry point"
        parsing = [b for b, t in zip(blocks, trees) if t is not None]
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


def program_of(answer, prompt, entry):
    """(EXTRACT info, the program to run or None, the reason when there is none)."""
    if not answer.strip():
        return {"code": "", "method": "none", "lint": None}, None, "empty answer"
    code, method = extract(answer, entry)
    info = {"code": code[:CODE_KEPT], "method": method, "lint": lint(code) if code.strip() else None}
    if not code.strip():
        return info, None, "empty answer: no code in the reply"
    program = assemble(prompt, code, method, entry)
    tree = parse(program)
    if tree is None:
        return info, None, "syntax error in the extracted code (or nesting too deep to parse)"
    if not defines(tree, entry):
        return info, None, f"entry point {entry} not defined"
    return info, program, None


class AnswerFailed(BaseException):
    """The answer failed in a way the tests must not catch (a BaseException: `except
    Exception` in a test does not swallow it)."""


class Unreadable(Exception):
    pass


class Changed:
    """A call's value with the arguments as the call left them (they changed)."""

    def __init__(self, value, arguments):
        self.value, self.arguments = value, arguments


class Ungradable(BaseException):
    """The task itself cannot be run here (its tests do not load, or pass the candidate
    something that cannot cross to its process): servebench's failure, not the answer's."""


def tagged(pairs):
    """The strict decoder's objects: exactly one known tag, its body of the right type."""
    if len(pairs) != 1:
        raise Unreadable("an object with %d keys" % len(pairs))
    (tag, body), = pairs
    if tag == "x" and type(body) is str and len(body) <= 1 << 20:
        return int(body, 16)
    if tag == "g" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "b" and type(body) is str:
        return bytes.fromhex(body)
    if type(body) is not list:
        raise Unreadable("a tag %r with a body that is not a list" % (tag,))
    if tag == "t":
        return tuple(body)
    if tag == "s":
        return set(body)
    if tag == "f":
        return frozenset(body)
    if tag == "d":
        if not all(type(kv) is list and len(kv) == 2 for kv in body):
            raise Unreadable("a dict whose items are not pairs")
        return dict(body)
    raise Unreadable("an unknown tag %r" % (tag,))


def no_constant(name):
    raise Unreadable("the bare constant " + name)


def read_value(line):
    """A reply line as a value built here from plain data only."""
    return json.loads(line, object_pairs_hook=tagged, parse_constant=no_constant)


def encode(value):
    """The tests' arguments, in the candidate's codec (the tests are trusted; they pass plain
    data, and anything else cannot cross to the other process)."""
    t = type(value)
    if value is None or t in (bool, str):
        return value
    if t is int:
        return value if -(1 << 63) <= value < (1 << 63) else {"x": hex(value)}
    if t is float:
        return value if value == value and value not in (float("inf"), float("-inf")) else {"g": repr(value)}
    if t is bytes:
        return {"b": value.hex()}
    if t is list:
        return [encode(v) for v in value]
    if t in (tuple, set, frozenset):
        return {{tuple: "t", set: "s", frozenset: "f"}[t]: [encode(v) for v in value]}
    if t is dict:
        return {"d": [[encode(k), encode(v)] for k, v in value.items()]}
    raise Ungradable("the tests pass a %s to the candidate, which cannot cross to its process" % t.__name__)


def write_back(before, after):
    """Make the tests' argument `before` hold what the call left in it (`after`, plain data),
    in place where it is mutable; False when it is not (nothing to change)."""
    t = type(before)
    if t is not type(after):
        return False
    if t is list:
        if len(before) != len(after):
            before[:] = after
            return True
        for i, (b, a) in enumerate(zip(before, after)):
            if not write_back(b, a) and b != a:
                before[i] = a
        return True
    if t is dict:
        for key in [k for k in before if k not in after]:
            del before[key]
        for key, a in after.items():
            if key not in before or not write_back(before[key], a):
                before[key] = a
        return True
    if t is set:
        before.clear()
        before |= after
        return True
    if t is tuple and len(before) == len(after):
        for b, a in zip(before, after):
            write_back(b, a)
    return False


def tests_line(e):
    """The tests' line an exception came from."""
    line, tb = None, e.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<tests>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return "" if line is None else " at line %d of the tests" % line


def main():
    out = os.dup(1)
    os.dup2(2, 1)  # the tests' own prints go to standard error, never into the protocol
    sys.stdout = sys.stderr
    replies = os.fdopen(os.dup(0), "rb")

    def emit(line):
        # Lone surrogates (a message the answer chose) become '?': every line is valid UTF-8.
        data = (line + "\n").encode("utf-8", "replace")
        view = memoryview(data)
        while view:
            view = view[os.write(out, view):]

    task = json.loads(replies.readline())
    prompt, entry, test, answer = task["prompt"], task["entry_point"], task["test"], task["answer"]
    emit("READY")
    try:
        info, program, reason = program_of(answer, prompt, entry)
    except (RecursionError, MemoryError) as e:
        info, program, reason = {"code": "", "method": "none", "lint": None}, None, \
            "the answer could not be read as Python (%s)" % type(e).__name__
    emit("EXTRACT " + json.dumps(info, ensure_ascii=False))
    if reason:
        emit("RESULT " + json.dumps({"passed": False, "reason": reason}, ensure_ascii=False))
        return
    calls = [0]

    def ask(request):
        emit("TO-CANDIDATE " + json.dumps(request))
        line = replies.readline()
        try:
            reply = read_value(line)
        except (Unreadable, ValueError, TypeError, RecursionError, MemoryError, OverflowError) as e:
            raise AnswerFailed("the answer's process sent a reply that is not plain data (%s)" % (
                str(e)[:100] or type(e).__name__))
        if type(reply) is not list or not reply or type(reply[0]) is not str:
            raise AnswerFailed("the answer's process sent a reply that is not plain data")
        kind, rest = reply[0], reply[1:]
        texts = all(type(x) is str for x in rest)
        if kind == "ok" and len(rest) == 1:
            return rest[0]
        if kind == "ok" and len(rest) == 2 and type(rest[1]) is list and len(rest[1]) == 2:
            return Changed(rest[0], rest[1])
        if kind == "raise" and len(rest) == 3 and texts:
            name, message, where = rest[0][:100], rest[1][:MESSAGE_KEPT], rest[2][:40]
            cls = getattr(builtins, name, None)
            # StopIteration would end a `map` or `zip` in the tests early, as if all had passed.
            if isinstance(cls, type) and issubclass(cls, Exception) \
                    and not issubclass(cls, (StopIteration, StopAsyncIteration)):
                for c in cls.__mro__:
                    try:
                        exc = c(message)
                    except Exception:
                        continue
                    # Said as the answer's if the tests do not catch it (see `main`).
                    exc.servebench_raised = "raised %s%s: %s" % (name, where, message)
                    raise exc
            raise AnswerFailed("raised %s%s: %s" % (name, where, message))
        if kind == "own" and len(rest) == 2 and texts:
            raise AnswerFailed("raised its own exception %s: %s (only built-in exceptions reach the tests)" % (
                rest[0][:100], rest[1][:MESSAGE_KEPT]))
        if kind in ("fail", "gone") and len(rest) == 1 and texts:
            raise AnswerFailed(rest[0][:MESSAGE_KEPT * 2])
        if kind == "loaded" and not rest:
            return None
        raise AnswerFailed("the answer's process sent a reply that is not plain data")

    def candidate(*args, **kwargs):
        calls[0] += 1
        request = ["call", encode(list(args)), encode(kwargs)]
        reply = ask(request)
        if type(reply) is not Changed:
            return reply
        value, (args_after, kwargs_after) = reply.value, reply.arguments
        if type(args_after) is not list or len(args_after) != len(args) or type(kwargs_after) is not dict \
                or set(kwargs_after) != set(kwargs):
            raise AnswerFailed("the answer's process sent back arguments that do not match the call")
        for before, after in zip(args, args_after):
            write_back(before, after)
        for key, before in kwargs.items():
            write_back(before, kwargs_after[key])
        return value

    passed, reason, error = False, None, None
    try:
        ask(["load", program, entry])
        env = {"__name__": "__servebench_tests__"}
        try:
            if parse(prompt) is not None:
                exec(compile(prompt, "<prompt>", "exec"), env)
            exec(compile(test, "<tests>", "exec"), env)
        except Exception as e:
            raise Ungradable("the task's prompt and tests do not load: %s: %s" % (type(e).__name__, str(e)[:MESSAGE_KEPT]))
        # Some tests call the entry point by its name (HumanEval/33 compares the candidate with
        # `sort_third`): in the answer's program that name is the answer's function, so here too.
        env[entry] = candidate
        env["check"](candidate)
        passed = True
    except Ungradable as e:
        error = str(e)
    except AnswerFailed as e:
        reason = str(e)
        if calls[0]:
            reason = "call %d: %s" % (calls[0], reason)
    except BaseException as e:
        raised = getattr(e, "servebench_raised", None)
        if type(raised) is str:
            # The answer's exception, not caught by the tests: said as what the answer did.
            reason = "call %d: %s (uncaught%s)" % (calls[0], raised, tests_line(e))
        else:
            try:
                message = str(e)[:MESSAGE_KEPT]
            except BaseException:
                message = ""
            reason = (type(e).__name__ + tests_line(e) + ": " + message).rstrip(": ")
    emit("RESULT " + json.dumps({"passed": passed, "reason": reason, "error": error, "calls": calls[0]},
                                ensure_ascii=False))


if __name__ == "__main__":
    main()
