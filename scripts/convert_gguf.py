#!/usr/bin/env python3
"""Convert the embedded coding model's GGUF to a bf16 Hugging Face folder that vLLM serves.

vLLM's CPU build serves safetensors weights; the project installs the model once, as Qwen's
official Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF (scripts/install_model.py). This script
dequantises that same file, so both stacks serve the same weights (Q4_K_M on llama.cpp, the
Q4_K_M values widened to bf16 on vLLM: the report's same-model section names the quantisation
as what differs):

  1. checks the GGUF's size and SHA-256 against install_model's pinned values (a wrong file is
     a one-line error naming it and the fix);
  2. loads it with transformers (`gguf_file=`, dequantised), and saves a fresh model built from
     the loaded config *without* its GGUF quantisation entry (transformers refuses to save a
     model "quantized with GGUF") and the loaded weights, as bf16 safetensors, with the
     tokenizer and its chat template;
  3. records every produced file's size and SHA-256 in MANIFEST.json, then renames the folder
     into place (nothing half-written is left where the next run would trust it).

A folder whose MANIFEST.json matches its files is kept (`--check` only verifies it).

    .venv-vllm/bin/python scripts/convert_gguf.py --gguf .venv/models/<file>.gguf \
        --out .venv-vllm/models/qwen2.5-coder-0.5b-bf16 [--check]
"""
import argparse
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import install_model  # noqa: E402  (pinned name, size and SHA-256 of the GGUF)
from install_model import sha256_of as sha256  # noqa: E402

MANIFEST = "MANIFEST.json"


def fail(msg: str) -> None:
    sys.exit(f"convert_gguf: {msg}")


def verify(out: str) -> bool:
    """True when `out` holds a manifest and every file it lists, with the recorded hash."""
    try:
        with open(os.path.join(out, MANIFEST)) as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return False
    if manifest.get("gguf_sha256") != install_model.SHA256:
        return False
    for name, entry in manifest.get("files", {}).items():
        path = os.path.join(out, name)
        if not os.path.isfile(path) or os.path.getsize(path) != entry["size"]:
            return False
        if sha256(path) != entry["sha256"]:
            return False
    return bool(manifest.get("files"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gguf", required=True, help="the Q4_K_M GGUF (make model installs it)")
    ap.add_argument("--out", required=True, help="the bf16 folder to write")
    ap.add_argument("--check", action="store_true", help="only verify an existing folder")
    args = ap.parse_args()

    if verify(args.out):
        print(f"convert_gguf: {args.out} matches its MANIFEST.json; kept")
        return
    if args.check:
        fail(f"{args.out} is missing or does not match its MANIFEST.json: run `make vllm`")

    if not os.path.isfile(args.gguf):
        fail(f"{args.gguf} is missing: run `make model` (it joins and verifies the GGUF)")
    size = os.path.getsize(args.gguf)
    if size != install_model.SIZE or sha256(args.gguf) != install_model.SHA256:
        fail(f"{args.gguf} is not the pinned Qwen2.5-Coder-0.5B-Instruct Q4_K_M "
             f"(size {size}, expected {install_model.SIZE} and SHA-256 {install_model.SHA256}): "
             "run `make model` again")

    started = time.monotonic()
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder, name = os.path.split(os.path.abspath(args.gguf))
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.bfloat16)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    config.dtype = "bfloat16"
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    missing, unexpected = fresh.load_state_dict(loaded.state_dict(), strict=False)
    # Tied embeddings (lm_head = embed_tokens) are the only entries allowed to differ.
    missing = [k for k in missing if k != "lm_head.weight"]
    if missing or unexpected:
        fail(f"weights do not match the model's config: missing {missing[:5]}, "
             f"unexpected {unexpected[:5]}")
    fresh.eval()

    tmp = args.out + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    fresh.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    files = {}
    for root, _, names in os.walk(tmp):
        for n in sorted(names):
            path = os.path.join(root, n)
            rel = os.path.relpath(path, tmp)
            files[rel] = {"size": os.path.getsize(path), "sha256": sha256(path)}
    manifest = {
        "source": install_model.NAME,
        "gguf_sha256": install_model.SHA256,
        "dtype": "bfloat16",
        "files": files,
    }
    with open(os.path.join(tmp, MANIFEST), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
    shutil.rmtree(args.out, ignore_errors=True)
    os.rename(tmp, args.out)
    total = sum(e["size"] for e in files.values())
    print(f"convert_gguf: wrote {args.out} ({len(files)} files, {total / 1e9:.2f} GB) "
          f"in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
