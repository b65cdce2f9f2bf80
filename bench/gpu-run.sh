#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, with publish/ carried (see publish.sh): every kernel against the
# plain C# reference on CUDA with each way of summing split K, the benchmarks of both side by side, PyTorch eager on
# the same card, and a sweep of the split-K threshold. Most important first: a cut-off run still answers the main questions.
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
  # 32 × 32 GEMM with split K summed by a second launch (the default so far) or inside the GEMM's launch.
  for sums in second-launch in-launch; do
    section "gpuae check --device cuda --split-sums $sums"
    timeout 90 $g check --device cuda --split-sums $sums; echo "exit $?"
  done
  # The two side by side, then PyTorch, model by model.
  for m in ae vae conv-ae conv-vae; do
    for sums in second-launch in-launch; do
      section "gpuae bench --device cuda --model $m --epoch --split-sums $sums"
      timeout 60 $g bench --device cuda --model $m --steps 50 --epoch --split-sums $sums; echo "exit $?"
    done
    section "PyTorch eager, $m, same card (real data if present, else synthetic)"
    timeout 60 python3 bench/pytorch_epoch.py --device cuda --model $m --threads 2 2>&1 | sed "s/^/pytorch $m: /"
  done
  # How many splits of K the GEMM wants: split when C has fewer tiles than N (default: the multiprocessors).
  for below in 66 264 528; do
    section "gpuae bench --device cuda --model ae --split-sums in-launch --split-below $below"
    timeout 40 $g bench --device cuda --model ae --steps 50 --split-sums in-launch --split-below $below; echo "exit $?"
  done
  section end
} 2>&1 | tee "$out/gpu-run.txt"
