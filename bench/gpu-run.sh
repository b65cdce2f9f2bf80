#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, with publish/ carried (see publish.sh): every kernel against the
# plain C# reference on CUDA with each GPU GEMM, the benchmarks of both GEMMs side by side, PyTorch eager on the same
# card, and a sweep of the split-K threshold. Most important first: a cut-off run still answers the main questions.
# Results go to ${OUT:-gpu-results}. Budget: about 5 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-results}
mkdir -p "$out"
g=publish/linux-x64/gpuae
section() { echo "## [$(date -u +%T)] $*"; }
{
  section start
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  timeout 60 $g devices
  for tile in 32 64; do
    section "gpuae check --device cuda --gpu-gemm $tile"
    timeout 90 $g check --device cuda --gpu-gemm $tile; echo "exit $?"
  done
  # The two GPU GEMMs side by side (32: the default so far; 64: the candidate), then PyTorch, model by model.
  for m in ae vae conv-ae conv-vae; do
    for tile in 32 64; do
      section "gpuae bench --device cuda --model $m --epoch --gpu-gemm $tile"
      timeout 60 $g bench --device cuda --model $m --steps 50 --epoch --gpu-gemm $tile; echo "exit $?"
    done
    section "PyTorch eager, $m, same card (real data if present, else synthetic)"
    timeout 60 python3 bench/pytorch_epoch.py --device cuda --model $m --threads 2 2>&1 | sed "s/^/pytorch $m: /"
  done
  # How many splits of K the 64 × 64 GEMM wants: split when C has fewer tiles than N (default: the multiprocessors).
  for below in 33 66 264; do
    section "gpuae bench --device cuda --model ae --gpu-gemm 64 --split-below $below"
    timeout 40 $g bench --device cuda --model ae --steps 50 --gpu-gemm 64 --split-below $below; echo "exit $?"
  done
  section end
} 2>&1 | tee "$out/gpu-run.txt"
