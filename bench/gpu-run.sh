#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, with publish/ carried (see publish.sh): every kernel against the
# plain C# reference on CUDA, then the benchmarks, then PyTorch eager on the same card. Results go to ${OUT:-gpu-results}.
# Budget: under 5 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-results}
mkdir -p "$out"
g=publish/linux-x64/gpuae
{
  echo "## $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  timeout 60 $g devices
  for tile in 32 64; do
    echo "## gpuae check --device cuda --gpu-gemm $tile"
    timeout 90 $g check --device cuda --gpu-gemm $tile; echo "exit $?"
  done
  # The two GPU GEMMs side by side, model by model (32: the default so far; 64: the candidate).
  for m in ae vae conv-ae conv-vae; do
    for tile in 32 64; do
      echo "## gpuae bench --device cuda --model $m --epoch --gpu-gemm $tile"
      timeout 60 $g bench --device cuda --model $m --steps 50 --epoch --gpu-gemm $tile; echo "exit $?"
    done
  done
  echo "## PyTorch eager on the same card (real data if present, else synthetic)"
  for m in ae vae conv-ae conv-vae; do
    timeout 60 python3 bench/pytorch_epoch.py --device cuda --model $m --threads 2 2>&1 | sed "s/^/pytorch $m: /"
  done
} 2>&1 | tee "$out/gpu-run.txt"
