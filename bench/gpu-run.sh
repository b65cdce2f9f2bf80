#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, with publish/ carried (see publish.sh): every kernel against the
# plain C# reference on CUDA, each model's epoch with the device time of every operation of a step (the GEMM with one
# and with two tiles in flight, side by side), PyTorch eager on the same card, the split-K threshold at 264, and the step
# and whole epochs replayed as CUDA graphs. Most important first: a cut-off run still answers the main questions.
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
  # The GEMM with one tile of each operand in flight (the default) and with two (the candidate).
  for prefetch in 1 2; do
    section "gpuae check --device cuda --prefetch $prefetch"
    timeout 90 $g check --device cuda --prefetch $prefetch; echo "exit $?"
  done
  # How much of a step is the launches' fixed cost: the step replayed as one CUDA graph (P/Invoke to the driver's
  # stream capture, first run here) against the same step launched kernel by kernel; then whole epochs with the
  # per-step numbers as launch arguments, read from the step record, and read from it by steps replayed as graphs.
  for m in ae vae; do
    section "gpuae bench --device cuda --model $m --graph --epoch"
    timeout 90 $g bench --device cuda --model $m --steps 50 --graph --epoch; echo "exit $?"
  done
  # Each model: its epoch with each, where the device spends a step, then PyTorch eager on the same card.
  for m in ae vae conv-ae conv-vae; do
    for prefetch in 1 2; do
      section "gpuae bench --device cuda --model $m --epoch --timeline --prefetch $prefetch"
      timeout 60 $g bench --device cuda --model $m --steps 50 --epoch --timeline --prefetch $prefetch; echo "exit $?"
    done
    section "PyTorch eager, $m, same card (real data if present, else synthetic)"
    timeout 60 python3 bench/pytorch_epoch.py --device cuda --model $m --threads 2 2>&1 | sed "s/^/pytorch $m: /"
  done
  # The split-K threshold at twice the multiprocessors (2-4 % better for the AE in runs 8 and 9).
  for prefetch in 1 2; do
    section "gpuae bench --device cuda --model ae --epoch --prefetch $prefetch --split-below 264"
    timeout 40 $g bench --device cuda --model ae --steps 50 --epoch --prefetch $prefetch --split-below 264; echo "exit $?"
  done
  section end
} 2>&1 | tee "$out/gpu-run.txt"
