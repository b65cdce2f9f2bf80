#!/usr/bin/env bash
# GpuAe's SIMD backend against the strongest PyTorch CPU run on this machine, one after the other, 2 threads:
#  - PyTorch with OpenBLAS told its core type (OpenBLAS 0.3.21 misdetects some processors, e.g. a virtual Xeon as
#    Prescott: 36 instead of 168 GFLOP/s), set here from the processor's flags: SkylakeX with AVX-512, Haswell with
#    AVX2; its convolutions run on oneDNN (PyTorch's default);
#  - every GEMM shape of each model's training step, ours (gpuae bench gemms) beside PyTorch's matmul (gemm_peer.py),
#    each the median of 200 calls timed one by one, each side's best of 3 alternating rounds;
#  - one training epoch of each model on the real data (ours: the second epoch of `gpuae train --epochs 2`, its training
#    seconds, so that .NET's compilation of the first steps is not counted; PyTorch: bench/pytorch_epoch.py, eager, after a
#    warm-up of a few steps), and the ratio.
# Needs Debian's PyTorch and OpenBLAS: apt-get install python3-torch libopenblas0-pthread.
# Usage: bench/compare-pytorch.sh [models...]   (default: ae vae conv-ae conv-vae)
set -euo pipefail
cd "$(dirname "$0")/.."
models=("$@")
[ $# -eq 0 ] && models=(ae vae conv-ae conv-vae)
py=/usr/bin/python3
openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread
if ! $py -c 'import torch' 2>/dev/null || [ ! -e "$openblas/libblas.so.3" ]; then
  echo "compare-pytorch.sh needs Debian's PyTorch and OpenBLAS: apt-get install python3-torch libopenblas0-pthread" >&2
  exit 1
fi
if grep -qw avx512f /proc/cpuinfo; then core=SkylakeX; elif grep -qw avx2 /proc/cpuinfo; then core=Haswell; else core=""; fi
export OPENBLAS_NUM_THREADS=2 LD_LIBRARY_PATH=$openblas
[ -n "$core" ] && export OPENBLAS_CORETYPE=$core
dotnet build src/Cli -c Release -v quiet -nologo >/dev/null
gpuae() { dotnet src/Cli/bin/Release/net10.0/gpuae.dll "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; $(date -u +%F) commit $(git rev-parse --short HEAD)"
$py - <<'EOF'
import ctypes, torch
blas = ctypes.CDLL("libopenblas.so.0")
blas.openblas_get_corename.restype = blas.openblas_get_config.restype = ctypes.c_char_p
print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads by default; BLAS: {blas.openblas_get_config().decode()}, "
      f"core type used: {blas.openblas_get_corename().decode()}; convolutions: oneDNN {torch.backends.mkldnn.is_available()}")
EOF
echo "OPENBLAS_CORETYPE=${core:-(unset: no AVX2 or AVX-512)} (auto-detection would pick: $(env -u OPENBLAS_CORETYPE $py -c 'import ctypes; b=ctypes.CDLL("libopenblas.so.0"); b.openblas_get_corename.restype=ctypes.c_char_p; print(b.openblas_get_corename().decode())'))"
echo "GpuAe: $(gpuae devices | grep -m1 '^simd' || echo 'SIMD host backend')"

for model in "${models[@]}"; do
  echo
  echo "== $model: every GEMM of a training step (batch 128), 2 threads, µs and GFLOP/s; each side's best of 3 alternating rounds"
  # Alternating rounds, each side's fastest kept: this VM's speed changes in stretches of tens of seconds (epochs of
  # 0.82 s and 1.9 s in one run, both threads busy), which a single round would charge to whichever side ran then.
  for round in 1 2 3; do
    gpuae bench gemms --model "$model" > "$tmp/ours-$round.txt"
    awk '$1=="gemm"{print $2, $3, $4, $5}' "$tmp/ours-$round.txt" | $py bench/gemm_peer.py --threads 2 > "$tmp/peer-$round.txt"
  done
  $py - "$tmp" <<'PY'
import sys
tmp = sys.argv[1]
ours, peer, order = {}, {}, []
for r in (1, 2, 3):
    for line in open(f"{tmp}/ours-{r}.txt"):
        p = line.split()
        if p and p[0] == "gemm":
            key = tuple(p[1:5])
            if key not in ours:
                order.append(key)
                ours[key] = (int(p[5]), float(p[6]))
            ours[key] = (ours[key][0], min(ours[key][1], float(p[6])))
    for line in open(f"{tmp}/peer-{r}.txt"):
        p = line.split()
        key = tuple(p[0:4])
        peer[key] = min(peer.get(key, 1e30), float(p[4]))
print(f"  {'layout':6} {'M':>6} {'N':>6} {'K':>6} {'calls':>6} | {'ours µs':>9} {'GFLOP/s':>8} | {'OpenBLAS':>9} {'GFLOP/s':>8} | ours/OpenBLAS time")
for key in order:
    m, n, k = (int(v) for v in key[1:])
    calls, us = ours[key]
    p, flop = peer[key], 2.0 * m * n * k
    print(f"  {key[0]:6} {m:6d} {n:6d} {k:6d} {calls:6d} | {us:9.1f} {flop / us / 1e3:8.1f} | {p:9.1f} {flop / p / 1e3:8.1f} | {us / p:.2f}")
PY
  peer=$($py bench/pytorch_epoch.py --model "$model" --threads 2 | cut -d' ' -f1)
  gpuae train "$model" --epochs 2 --device simd --json --out "$tmp/run-$model" > "$tmp/$model.json"
  ours=$($py -c "import json; print(json.loads(open('$tmp/$model.json').read().splitlines()[-1])['seconds'])")
  echo "$model epoch (60,000 real images, batch 128, 2 threads): GpuAe --device simd ${ours} s, PyTorch (OpenBLAS ${core:-auto}, oneDNN) ${peer} s: ratio $($py -c "print(f'{$ours/$peer:.3f}')")"
done
