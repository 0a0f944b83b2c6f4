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
    cmd = [guidellm, "run", "--backend", f"kind=openai_http,target={url},model=mock",
           "--profile", f"kind=concurrent,streams={streams}",
           "--constraint", f"kind=max_requests,count={requests}",
           "--data", f"kind=synthetic_text,prompt_tokens=16,output_tokens={tokens}",
           "--tokenizer", f"kind=huggingface_auto,model={tokenizer}",
           "--output", f"kind=json,path={os.path.join(out, 'guidellm.json')}", "--disable-console"]
    code, cpu, rss, wall = run_measured(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        env={**os.environ, "HF_HUB_OFFLINE": "1"}, cwd=out)
    if code != 0:
        print(f"guidellm exited {code} at {streams} streams", file=sys.stderr)
        return None
    return measured_row("guidellm", streams, requests, tokens, cpu, rss, wall)


def bench_vllm_bench(vllm_bench, tokenizer, url, streams, requests, tokens):
    out = tempfile.mkdtemp(prefix="vllm-bench-")
    cmd = [vllm_bench, "--backend", "openai-chat", "--base-url", url, "--endpoint", "/v1/chat/completions",
           "--model", "mock", "--tokenizer", tokenizer, "--dataset-name", "random",
           "--random-input-len", "16", "--random-output-len", str(tokens), "--ignore-eos",
           "--num-prompts", str(requests), "--max-concurrency", str(streams)]
    log = os.path.join(out, "stdout.txt")
    with open(log, "w") as f:
        code, cpu, rss, wall = run_measured(cmd, stdout=f, stderr=subprocess.DEVNULL, cwd=out)
    if code != 0:
        print(f"vllm-bench exited {code} at {streams} streams", file=sys.stderr)
        return None
    row = measured_row("vllm-bench", streams, requests, tokens, cpu, rss, wall)
    # Its own summary (first block: all requests) gives its TTFT/ITL for the same error columns.
    text = open(log).read()
    def first(name):
        m = re.search(rf"{name} \(ms\):\s+([\d.]+)", text)
        return float(m.group(1)) if m else None
    for key, name, truth in [("ttft_err_ms", "Mean TTFT", TTFT_MS), ("ttft_err_p99_ms", "P99 TTFT", TTFT_MS),
                             ("itl_err_ms", "Mean ITL", TOKEN_MS), ("itl_err_p99_ms", "P99 ITL", TOKEN_MS)]:
        v = first(name)
        row[key] = None if v is None else v - truth
    return row


def measured_row(client, streams, requests, tokens, cpu, rss, wall):
    """A row for a client measured from outside: CPU and RSS only (its own timing is not read)."""
    total = requests * tokens
    return {"client": client, "streams": streams, "requests": requests, "tokens": tokens,
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
    ap.add_argument("--vllm-bench", help="vllm-bench executable to measure the same way")
    ap.add_argument("--tokenizer", help="local tokenizer directory for guidellm and vllm-bench")
    args = ap.parse_args()

    port = free_port()
    mock = subprocess.Popen([os.path.join(ROOT, "target/release/examples/bench_mock"), "--port", str(port),
                             "--ttft-ms", str(TTFT_MS), "--token-ms", str(TOKEN_MS)], stdout=subprocess.PIPE)
    try:
        mock.stdout.readline()
        url = f"http://127.0.0.1:{port}"
        runs = [(1, 10, 100), (32, 320, 256), (100, 500, 100), (1000, 3000, 100)]
        rows = [bench_servebench(url, *r) for r in runs]
        if args.vllm_bench:
            rows += filter(None, [bench_vllm_bench(args.vllm_bench, args.tokenizer, url, *r) for r in runs])
        if args.guidellm:
            rows += filter(None, [bench_guidellm(args.guidellm, args.tokenizer, url, *r) for r in runs[:3]])
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
