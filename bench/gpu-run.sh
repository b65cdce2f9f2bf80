#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, with publish/ carried (see publish.sh). Most important first, so a
# cut-off run still answers the main questions:
#  1. every kernel, and short AE and VAE epochs replayed as CUDA graphs, against the plain C# reference on CUDA;
#  2. each model: the kernel table, its epoch (60,000 synthetic images resident, steps replayed as CUDA graphs, as in
#     training) and the device time of every operation of a step;
#  3. the fair peer on the same card (bench/gpu_peer.py, a copy of ../shared/peers/gpu_peer.py): each model with every
#     full-batch step captured as a CUDA graph, and the AE also torch.compile'd inside the graph. It needs the real
#     data ($GPUAE_DATA, else Debian's folder); PyTorch eager is not run: it is not the fair peer.
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
  timeout 120 $g check --device cuda; echo "exit $?"
  for m in ae vae conv-ae conv-vae; do
    section "gpuae bench --device cuda --model $m --steps 50 --epoch --timeline"
    timeout 90 $g bench --device cuda --model $m --steps 50 --epoch --timeline; echo "exit $?"
  done
  for m in ae vae conv-ae conv-vae; do
    section "PyTorch, $m, every full-batch step a CUDA graph, same card"
    timeout 90 python3 bench/gpu_peer.py --model $m --mode graph --epochs 3 2>&1 | sed "s/^/pytorch graph $m: /"
  done
  section "PyTorch, ae, torch.compile inside the CUDA graph, same card"
  timeout 180 python3 bench/gpu_peer.py --model ae --mode compile-graph --epochs 3 2>&1 | sed "s/^/pytorch compile-graph ae: /"
  section end
} 2>&1 | tee "$out/gpu-run.txt"
