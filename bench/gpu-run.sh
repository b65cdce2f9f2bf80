#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, with publish/ carried (see publish.sh). Most important first, so a
# cut-off run still answers the main questions:
#  1. every kernel, and short AE and VAE epochs through the step record replayed as CUDA graphs, against the plain C#
#     reference on CUDA, with the GEMM's one and two tiles in flight (--prefetch 1|2);
#  2. the AE epoch (issue 6's target: ≤ 50 ms) over a grid of --prefetch × --split-below, each with the per-step
#     numbers as launch arguments, from the step record, and from it by steps replayed as CUDA graphs;
#  3. the VAE the same, at the default split;
#  4. each model's epoch with the device time of every operation of a step, then PyTorch eager on the same card.
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
  for prefetch in 1 2; do
    section "gpuae check --device cuda --prefetch $prefetch"
    timeout 120 $g check --device cuda --prefetch $prefetch; echo "exit $?"
  done
  # The split-K threshold: K is split until C's tiles × parts reach it (default: the multiprocessors, 132 on an H200).
  # More parts shorten each group's serial walk along K; up to 8 groups fit on a multiprocessor at once.
  for prefetch in 1 2; do
    for split in default 264 528 1056; do
      flag=$([ $split = default ] && echo "" || echo "--split-below $split")
      section "gpuae bench --device cuda --model ae --epoch --only-epoch --step-modes --prefetch $prefetch $flag"
      timeout 60 $g bench --device cuda --model ae --epoch --only-epoch --step-modes --prefetch $prefetch $flag; echo "exit $?"
    done
  done
  for prefetch in 1 2; do
    section "gpuae bench --device cuda --model vae --epoch --only-epoch --step-modes --prefetch $prefetch"
    timeout 60 $g bench --device cuda --model vae --epoch --only-epoch --step-modes --prefetch $prefetch; echo "exit $?"
  done
  # Each model: the kernel table, the step launched and replayed as a graph, its epoch, where the device spends a
  # step, then PyTorch eager on the same card.
  for m in ae vae conv-ae conv-vae; do
    section "gpuae bench --device cuda --model $m --epoch --graph --step-modes --timeline"
    timeout 60 $g bench --device cuda --model $m --steps 50 --epoch --graph --step-modes --timeline; echo "exit $?"
    section "PyTorch eager, $m, same card (real data if present, else synthetic)"
    timeout 60 python3 bench/pytorch_epoch.py --device cuda --model $m --threads 2 2>&1 | sed "s/^/pytorch $m: /"
  done
  section end
} 2>&1 | tee "$out/gpu-run.txt"
