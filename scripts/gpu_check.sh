#!/usr/bin/env bash
# The real-GPU check of issue #4, for a machine with an NVIDIA GPU and PyTorch:
#   1. `servebench gpu` lists the devices and live readings;
#   2. a PyTorch matmul loop keeps the GPU busy while `servebench run` measures the bench mock,
#      with `--server-pid` pointing at the PyTorch process, so the report shows per-phase GPU
#      utilisation, power, memory and that process's own GPU memory (NVML per-process).
# Uses target/release/{servebench,examples/bench_mock} when present, else builds them.
# Writes everything under ${OUT:-gpu-check}/.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-check}
mkdir -p "$OUT"
if [ ! -x target/release/servebench ] || [ ! -x target/release/examples/bench_mock ]; then
    cargo build --release --bin servebench --example bench_mock || exit 1
fi
SB=target/release/servebench
nvidia-smi --query-gpu=name,memory.total,memory.used,utilization.gpu,power.draw --format=csv 2>&1 | tee "$OUT/nvidia-smi.txt"
echo "== servebench gpu"
$SB gpu --samples 3 --interval 0.5 2>&1 | tee "$OUT/gpu.txt"

python3 - <<'PY' > "$OUT/torch.log" 2>&1 &
import time, torch
a = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
end = time.time() + 60
while time.time() < end:
    b = a @ a
    torch.cuda.synchronize()
PY
TORCH=$!
target/release/examples/bench_mock --port 18555 --ttft-ms 50 --token-ms 10 > /dev/null &
MOCK=$!
sleep 8   # torch import and CUDA context
echo "== servebench run (torch pid $TORCH as the server)"
$SB run --api openai --url http://127.0.0.1:18555 --model mock --warm 20 --max-tokens 64 \
    --profile concurrency:8 --requests 64 --server-pid "$TORCH" --out "$OUT/run" 2>&1 | tail -15
kill "$MOCK" "$TORCH" 2>/dev/null
python3 - "$OUT/run/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("gpu:", json.dumps({k: r["gpu"][k] for k in ("available", "reason", "devices")}))
t = r["targets"][0]
for name in ("cold", "warm"):
    p = t["phases"][name]
    for d in (p["gpu"] or {}).get("devices", []):
        pick = {k: (d[k]["mean"], d[k]["max"]) for k in ("gpu_util_pct", "mem_used_pct", "power_w", "server_mem_bytes")}
        print(name, "samples", p["gpu"]["samples"], json.dumps(pick))
    print(name, "server_process", json.dumps(p["server_process"] and {k: p["server_process"][k]["mean"] for k in ("cpu_pct", "rss_bytes")}))
print("memory:", json.dumps(t["memory"]))
PY
sed -n '/^## mock\|^## openai/,$p' "$OUT/run/report.md" | grep -A6 "^| Phase | GPU" | head -8
