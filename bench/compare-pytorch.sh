#!/usr/bin/env bash
# GpuAe's SIMD backend (2 threads) against the strongest PyTorch CPU run on this machine, one after the other. PyTorch at
# its better thread count: every PyTorch figure is measured with 1 and with 2 threads and the faster kept, with the count
# that won (on a 2-vCPU VM Debian's PyTorch 1.13 can be 2.5× slower on 2 threads than on 1, its default there):
#  - PyTorch with OpenBLAS told its core type (OpenBLAS 0.3.21 misdetects some processors, e.g. a virtual Xeon as
#    Prescott: 36 instead of 168 GFLOP/s), set here from the processor's flags: SkylakeX with AVX-512, Haswell with
#    AVX2; its convolutions run on oneDNN (PyTorch's default);
#  - every GEMM shape of each model's training step, ours (gpuae bench gemms) beside PyTorch's matmul (gemm_peer.py),
#    each the median of 200 calls timed one by one, each side's best of 3 alternating rounds (PyTorch's of 1 and 2
#    threads in each);
#  - one training epoch of each model on the real data (ours: the second epoch of `gpuae train --epochs 2`, its training
#    seconds, so that .NET's compilation of the first steps is not counted; PyTorch: bench/pytorch_epoch.py, eager, after a
#    warm-up of a few steps, on 1 and on 2 threads), each side's best of 2 alternating rounds, and the ratio.
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
export LD_LIBRARY_PATH=$openblas
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
  echo "== $model: every GEMM of a training step (batch 128), µs and GFLOP/s; ours on 2 threads, OpenBLAS on its better of 1 and 2 (the count in the last column); each side's best of 3 alternating rounds"
  # Alternating rounds, each side's fastest kept: this VM's speed changes in stretches of tens of seconds (epochs of
  # 0.82 s and 1.9 s in one run, both threads busy), which a single round would charge to whichever side ran then.
  for round in 1 2 3; do
    gpuae bench gemms --model "$model" > "$tmp/ours-$round.txt"
    for threads in 1 2; do
      awk '$1=="gemm"{print $2, $3, $4, $5}' "$tmp/ours-$round.txt" | OPENBLAS_NUM_THREADS=$threads $py bench/gemm_peer.py --threads $threads | sed "s/\$/ $threads/" > "$tmp/peer-$round-$threads.txt"
    done
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
    for threads in (1, 2):
        for line in open(f"{tmp}/peer-{r}-{threads}.txt"):
            p = line.split()
            key = tuple(p[0:4])
            if float(p[4]) < peer.get(key, (1e30, 0))[0]:
                peer[key] = (float(p[4]), threads)
print(f"  {'layout':6} {'M':>6} {'N':>6} {'K':>6} {'calls':>6} | {'ours µs':>9} {'GFLOP/s':>8} | {'OpenBLAS':>9} {'GFLOP/s':>8} | ours/OpenBLAS time (its threads)")
for key in order:
    m, n, k = (int(v) for v in key[1:])
    calls, us = ours[key]
    (p, threads), flop = peer[key], 2.0 * m * n * k
    print(f"  {key[0]:6} {m:6d} {n:6d} {k:6d} {calls:6d} | {us:9.1f} {flop / us / 1e3:8.1f} | {p:9.1f} {flop / p / 1e3:8.1f} | {us / p:.2f} ({threads})")
PY
  # Two alternating rounds of ours, PyTorch on 1 thread and PyTorch on 2: each side's fastest epoch kept.
  ours=1e30; peer1=1e30; peer2=1e30
  for round in 1 2; do
    rm -rf "$tmp/run-$model"
    gpuae train "$model" --epochs 2 --device simd --json --out "$tmp/run-$model" > "$tmp/$model.json"
    o=$($py -c "import json; print(json.loads(open('$tmp/$model.json').read().splitlines()[-1])['seconds'])")
    ours=$($py -c "print(min($ours, $o))")
    for threads in 1 2; do
      t=$(OPENBLAS_NUM_THREADS=$threads $py bench/pytorch_epoch.py --model "$model" --threads $threads | cut -d' ' -f1)
      if [ $threads = 1 ]; then peer1=$($py -c "print(min($peer1, $t))"); else peer2=$($py -c "print(min($peer2, $t))"); fi
    done
  done
  if $py -c "import sys; sys.exit(0 if $peer1 <= $peer2 else 1)"; then peer=$peer1; peer_threads=1; else peer=$peer2; peer_threads=2; fi
  echo "$model epoch (60,000 real images, batch 128): GpuAe --device simd (2 threads) ${ours} s; PyTorch (OpenBLAS ${core:-auto}, oneDNN) ${peer1} s on 1 thread, ${peer2} s on 2; ratio to its better (${peer_threads} thread(s)) $($py -c "print(f'{$ours/$peer:.3f}')")"
done
