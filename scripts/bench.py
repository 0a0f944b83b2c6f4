#!/usr/bin/env python3
"""Client-efficiency benchmark (`make bench`): servebench against a fast local mock.

Starts `bench_mock` (TTFT 50 ms, then one token every 10 ms, on an absolute schedule), runs
`servebench run --profile concurrency:N` against it for several stream counts, and reports for
servebench alone (the mock is a separate process): CPU seconds per 1,000 streamed tokens
(user + system, from wait4), peak RSS, and the TTFT/ITL measurement error against the injected
truth. Prints a Markdown table; `--write BENCHMARKS.md` replaces the table there.
Optionally measures guidellm the same way (`--guidellm CMD --tokenizer DIR`).
"""
import argparse
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TTFT_MS, TOKEN_MS = 50, 10


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_measured(cmd, **kw):
    """Run cmd; return (exit code, cpu seconds, peak RSS bytes, wall seconds)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, **kw)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024, time.monotonic() - t0


def bench_servebench(url, streams, requests, tokens):
    out = tempfile.mkdtemp(prefix="servebench-bench-")
    cmd = [os.path.join(ROOT, "target/release/servebench"), "run", "--api", "openai", "--url", url,
           "--model", "mock", "--warm", "0", "--max-tokens", str(tokens),
           "--profile", f"concurrency:{streams}", "--requests", str(requests),
           # One warm-up request per stream opens its connection, as a long-running client has.
           "--warmup", str(streams), "--out", out]
    code, cpu, rss, wall = run_measured(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if code != 0:
        sys.exit(f"servebench exited {code} at {streams} streams; see {out}")
    total_tokens = 0
    with open(os.path.join(out, "requests.jsonl")) as f:
        for line in f:
            total_tokens += json.loads(line).get("output_tokens") or 0
    load = json.load(open(os.path.join(out, "report.json")))["targets"][0]["phases"]["load"]
    return {
        "client": "servebench", "streams": streams, "requests": requests, "tokens": tokens,
        "failed": load["failed"], "total_tokens": total_tokens, "cpu_s": cpu, "rss_mb": rss / 2**20,
        "cpu_us_per_token": cpu / total_tokens * 1e6,
        "ttft_err_ms": load["ttft_s"]["mean"] * 1e3 - TTFT_MS,
        "ttft_err_p99_ms": load["ttft_s"]["p99"] * 1e3 - TTFT_MS,
        "itl_err_ms": load["itl_s"]["mean"] * 1e3 - TOKEN_MS,
        "itl_err_p99_ms": load["itl_s"]["p99"] * 1e3 - TOKEN_MS,
        "wall_s": wall,
    }


def bench_guidellm(guidellm, tokenizer, url, streams, requests, tokens):
    out = tempfile.mkdtemp(prefix="guidellm-bench-")
    cmd = [guidellm, "benchmark", "--target", url, "--model", "mock",
           "--processor", tokenizer,
           "--rate-type", "concurrent", "--rate", str(streams), "--max-requests", str(requests),
           "--data", f"prompt_tokens=16,output_tokens={tokens}",
           "--output-path", os.path.join(out, "guidellm.json")]
    code, cpu, rss, wall = run_measured(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if code != 0:
        return None
    total = requests * tokens
    return {"client": "guidellm", "streams": streams, "requests": requests, "tokens": tokens,
            "failed": None, "total_tokens": total, "cpu_s": cpu, "rss_mb": rss / 2**20,
            "cpu_us_per_token": cpu / total * 1e6, "ttft_err_ms": None, "ttft_err_p99_ms": None,
            "itl_err_ms": None, "itl_err_p99_ms": None, "wall_s": wall}


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def table(rows):
    head = ("| client | streams | requests × tokens | failed | CPU µs / token | CPU s / 1,000 tokens | "
            "peak RSS (MB) | TTFT error mean / p99 (ms) | ITL error mean / p99 (ms) |\n"
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
    fmt = lambda v, d=2: "—" if v is None else f"{v:.{d}f}"
    body = "".join(
        f"| {r['client']} | {r['streams']} | {r['requests']} × {r['tokens']} | {fmt(r['failed'], 0)} | "
        f"{fmt(r['cpu_us_per_token'], 1)} | {fmt(r['cpu_us_per_token'] / 1e3, 4)} | {fmt(r['rss_mb'], 1)} | "
        f"{fmt(r['ttft_err_ms'])} / {fmt(r['ttft_err_p99_ms'])} | {fmt(r['itl_err_ms'])} / {fmt(r['itl_err_p99_ms'])} |\n"
        for r in rows)
    return head + body


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", help="replace the generated table in this Markdown file")
    ap.add_argument("--guidellm", help="guidellm executable to measure the same way")
    ap.add_argument("--tokenizer", help="local tokenizer directory for guidellm")
    args = ap.parse_args()

    port = free_port()
    mock = subprocess.Popen([os.path.join(ROOT, "target/release/examples/bench_mock"), "--port", str(port),
                             "--ttft-ms", str(TTFT_MS), "--token-ms", str(TOKEN_MS)], stdout=subprocess.PIPE)
    try:
        mock.stdout.readline()
        url = f"http://127.0.0.1:{port}"
        runs = [(1, 10, 100), (32, 320, 256), (100, 500, 100), (1000, 3000, 100)]
        rows = [bench_servebench(url, *r) for r in runs]
        if args.guidellm:
            for r in runs[:3]:
                g = bench_guidellm(args.guidellm, args.tokenizer, url, *r)
                if g:
                    rows.append(g)
    finally:
        mock.terminate()
        mock.wait()
    machine = f"{os.cpu_count()} cores, {cpu_model()}, {platform.system()} {platform.release()}"
    text = (f"<!-- bench:start -->\nMachine: {machine}. Mock: TTFT {TTFT_MS} ms, then one token every "
            f"{TOKEN_MS} ms. Command: `make bench` ({time.strftime('%Y-%m-%d')}).\n\n{table(rows)}<!-- bench:end -->\n")
    print(text)
    if args.write:
        doc = open(args.write).read()
        doc = re.sub(r"<!-- bench:start -->.*<!-- bench:end -->\n", lambda _: text, doc, flags=re.S)
        open(args.write, "w").write(doc)


if __name__ == "__main__":
    main()
