"""servebench's candidate process: runs the answer's program, and nothing else (see harness.rs).

It never sees the task's tests and never writes a verdict. servebench relays one JSON array a
line between it and the test process (grade.py):

  in:  ["load", program, entry_point]    out: ["loaded"] or ["fail", reason]
  in:  ["call", args, kwargs]           out: ["ok", value] (with [args, kwargs] after the call
                                             when the call changed them),
                                             ["raise", builtin_name, message, where],
                                             ["own", class_name, message] or ["fail", reason]

Values are plain data in the codec below; the test process decodes them strictly, so whatever
this process sends — the answer's code runs here and may rewrite any of it — can only ever be
a plain value, a built-in exception or a failure. The answer's prints go to standard error.
"""
import os
import sys


def _serve():
    import builtins
    import json
    import math

    # The protocol's own descriptors; fd 0 and 1 are then taken away from the answer's code.
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.dup(1)
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull)
    sys.stdout = sys.stderr

    # Exception classes that cross to the tests as themselves: the built-in ones.
    builtin_exceptions = {
        v for v in vars(builtins).values() if isinstance(v, type) and issubclass(v, BaseException)
    }
    max_nodes, max_depth = 1_000_000, 100

    def send(reply):
        data = (json.dumps(reply, allow_nan=True) + "\n").encode()
        view = memoryview(data)
        while view:
            n = os.write(replies, view)
            view = view[n:]

    class NotPlain(Exception):
        pass

    def encode(value):
        """Plain data as JSON with tags; exact types only (`type(x) is int`)."""
        count = [0]

        def enc(v, depth):
            count[0] += 1
            if count[0] > max_nodes:
                raise NotPlain("a value of over %d items" % max_nodes)
            if depth > max_depth:
                raise NotPlain("a value nested over %d deep" % max_depth)
            t = type(v)
            if v is None or t is bool or t is str:
                return v
            if t is int:
                return v if -(1 << 63) <= v < (1 << 63) else {"x": hex(v)}
            if t is float:
                return v if math.isfinite(v) else {"g": repr(v)}
            if t is bytes:
                return {"b": v.hex()}
            if t is list:
                return [enc(x, depth + 1) for x in v]
            if t is tuple:
                return {"t": [enc(x, depth + 1) for x in v]}
            if t is set:
                return {"s": [enc(x, depth + 1) for x in v]}
            if t is frozenset:
                return {"f": [enc(x, depth + 1) for x in v]}
            if t is dict:
                return {"d": [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in v.items()]}
            raise NotPlain("a " + str(getattr(t, "__name__", "value")))

        return enc(value, 0)

    def decode(value):
        def dec(v):
            if type(v) is list:
                return [dec(x) for x in v]
            if type(v) is dict:
                ((tag, body),) = v.items()
                if tag == "x":
                    return int(body, 16)
                if tag == "g":
                    return float(body)
                if tag == "b":
                    return bytes.fromhex(body)
                items = [dec(x) for x in body]
                return {"t": tuple, "s": set, "f": frozenset}[tag](items) if tag != "d" else dict(items)
            return v

        return dec(value)

    def text(e):
        try:
            return str(e)[:300]
        except BaseException:
            return "(its message could not be read)"

    def where(e):
        """The answer's line the exception came from, if it was in the answer's code."""
        line, tb = None, e.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == "solution.py":
                line = tb.tb_lineno
            tb = tb.tb_next
        return "" if line is None else " at line %d" % line

    def raised(e):
        if type(e) in builtin_exceptions:
            return ["raise", type(e).__name__, text(e), where(e)]
        return ["own", str(getattr(type(e), "__name__", "an exception")) + where(e), text(e)]

    env = {"__name__": "__servebench_task__"}
    fn = None
    for line in requests:
        try:
            msg = json.loads(line)
            kind = msg[0]
        except (ValueError, IndexError, TypeError, KeyError):
            send(["fail", "the candidate harness received a request it could not read"])
            return
        if kind == "load":
            program, entry = msg[1], msg[2]
            try:
                exec(compile(program, "solution.py", "exec"), env)
            except BaseException as e:
                r = raised(e)
                send(["fail", "the program raised %s%s while loading: %s" % (
                    type(e).__name__, where(e), r[2])])
                continue
            fn = env.get(entry)
            if not callable(fn):
                send(["fail", "entry point %s not defined" % entry])
                continue
            send(["loaded"])
        elif kind == "call" and fn is not None:
            args, kwargs = decode(msg[1]), decode(msg[2])
            try:
                result = fn(*args, **kwargs)
            except BaseException as e:
                send(raised(e))
                continue
            what = "returned"
            try:
                reply = ["ok", encode(result)]
                # Arguments the call changed go back too, so the tests see the mutation they
                # would have seen in one process ("the input must not be modified").
                what = "changed its arguments to hold"
                after = [encode(args), encode(kwargs)]
                if after != [msg[1], msg[2]]:
                    reply.append(after)
                send(reply)
            except NotPlain as e:
                send(["fail", "%s %s, not plain data" % (what, e)])
            except (RecursionError, MemoryError, ValueError, TypeError) as e:
                send(["fail", "%s a value that cannot be sent as plain data (%s)" % (what, type(e).__name__)])
        else:
            send(["fail", "the candidate harness received an unexpected request"])


_serve()
