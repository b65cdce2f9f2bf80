#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, with publish/ carried (see publish.sh): every kernel against the
# plain C# reference on CUDA, each model's epoch with the device time of every operation of a step, PyTorch eager on
# the same card, and a tuning sweep. Most important first: a cut-off run still answers the main questions.
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
  section "gpuae check --device cuda"
  timeout 90 $g check --device cuda; echo "exit $?"
  # Each model: its epoch, where the device spends a step, then PyTorch eager on the same card.
  for m in ae vae; do
    section "gpuae bench --device cuda --model $m --epoch --timeline"
    timeout 60 $g bench --device cuda --model $m --steps 50 --epoch --timeline; echo "exit $?"
    section "PyTorch eager, $m, same card (real data if present, else synthetic)"
    timeout 60 python3 bench/pytorch_epoch.py --device cuda --model $m --threads 2 2>&1 | sed "s/^/pytorch $m: /"
  done
  # Tuning: split K only into parts of at least 4 or 8 tiles (fewer second launches for the small GEMMs).
  for m in ae vae; do
    for depth in 4 8; do
      section "gpuae bench --device cuda --model $m --epoch --timeline --min-split-depth $depth"
      timeout 40 $g bench --device cuda --model $m --steps 50 --epoch --timeline --min-split-depth $depth; echo "exit $?"
    done
  done
  # The convolutional models, the same way.
  for m in conv-ae conv-vae; do
    section "gpuae bench --device cuda --model $m --epoch --timeline"
    timeout 60 $g bench --device cuda --model $m --steps 50 --epoch --timeline; echo "exit $?"
    section "PyTorch eager, $m, same card (real data if present, else synthetic)"
    timeout 60 python3 bench/pytorch_epoch.py --device cuda --model $m --threads 2 2>&1 | sed "s/^/pytorch $m: /"
  done
  section end
} 2>&1 | tee "$out/gpu-run.txt"
