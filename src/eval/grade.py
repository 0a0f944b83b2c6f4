"""servebench's grader for code answers, run inside the sandbox (see src/eval/sandbox.rs).

Reads task.json ({prompt, entry_point, test}) and answer.txt from the current directory.
Prints two marker lines: SERVEBENCH-EXTRACT {json} (the code taken from the answer and its
lint), then, after running the task's tests on it, SERVEBENCH-RESULT {json}. A grader fault
exits with status 3 before any model code runs.

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
import re
import sys
import time
import traceback

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
    start = time.monotonic()
    try:
        env = {"__name__": "__servebench_task__"}
        exec(compile(program + "\n\n" + test + f"\n\ncheck({entry})\n", "solution.py", "exec"), env)
        result = {"passed": True, "reason": None}
    except BaseException as e:  # the model's code or its tests failed: a fail, not a fault
        tb = traceback.extract_tb(e.__traceback__)
        where = next((f" at line {f.lineno}" for f in reversed(tb) if f.filename == "solution.py"), "")
        result = {"passed": False, "reason": f"{type(e).__name__}{where}: {str(e)[:200]}".rstrip(": ")}
    result["test_s"] = time.monotonic() - start
    print("SERVEBENCH-RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
