#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, with publish/ carried (see publish.sh): every kernel against the
# plain C# reference on CUDA with each form of the GEMM's k loop, the benchmarks of both side by side with the device
# time of every operation of a step, PyTorch eager on the same card, and a larger split-K threshold. Most important first: a cut-off run still answers the main questions.
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
  # The GEMM's k loop as one step per iteration (the default so far) or eight written out.
  for unroll in off on; do
    section "gpuae check --device cuda --unroll-k $unroll"
    timeout 90 $g check --device cuda --unroll-k $unroll; echo "exit $?"
  done
  # The two side by side (with where the device spends a step), then PyTorch, model by model.
  for m in ae vae conv-ae conv-vae; do
    for unroll in off on; do
      section "gpuae bench --device cuda --model $m --epoch --timeline --unroll-k $unroll"
      timeout 60 $g bench --device cuda --model $m --steps 50 --epoch --timeline --unroll-k $unroll; echo "exit $?"
    done
    section "PyTorch eager, $m, same card (real data if present, else synthetic)"
    timeout 60 python3 bench/pytorch_epoch.py --device cuda --model $m --threads 2 2>&1 | sed "s/^/pytorch $m: /"
  done
  # How many splits of K the GEMM wants: split when C has fewer tiles than N (default: the multiprocessors, 132).
  for unroll in off on; do
    section "gpuae bench --device cuda --model ae --epoch --unroll-k $unroll --split-below 264"
    timeout 40 $g bench --device cuda --model ae --steps 50 --epoch --unroll-k $unroll --split-below 264; echo "exit $?"
  done
  section end
} 2>&1 | tee "$out/gpu-run.txt"
