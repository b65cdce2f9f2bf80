#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, with publish/gpu carried (made by bench/gpu-prepare.sh). Most
# important first, so a cut-off run still answers the main questions:
#  1. every kernel, the training step kernel by kernel and (dense models) fused, and short AE and VAE epochs replayed
#     as CUDA graphs, against the plain C# reference on CUDA;
#  2. each model: the kernel table, its training step, its epoch (60,000 synthetic images resident, steps replayed as
#     CUDA graphs, as in training) and the device time of every operation of a step; the dense models twice in the
#     same process, fused (3 launches a step) and kernel by kernel, with each epoch's training loss;
#  3. real images (the carried subset: 2,000 training images repeated, 1,000 test images): the AE and the VAE trained
#     2 epochs on 6,000 rows on CUDA (kernel by kernel: training opens its backend without fusion)
#     and on the SIMD host backend (the reference), metrics.csv side by side;
#  4. the fair peer on the same card (bench/gpu_peer.py, a copy of ../shared/peers/gpu_peer.py): each model with every
#     full-batch step captured as a CUDA graph, and the AE also torch.compile'd inside the graph (on the carried subset:
#     its epochs have the real set's 60,000 rows, so its times compare; its losses are not Fashion-MNIST's).
# Results go to ${OUT:-gpu-results}. Budget: about 5 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-results}
mkdir -p "$out" /tmp/gpuae-data
g=/tmp/gpuae
xz -dc publish/gpu/gpuae.xz > $g && chmod +x $g
xz -dc publish/gpu/data/train-images-idx3-ubyte.xz | gzip -1 > /tmp/gpuae-data/train-images-idx3-ubyte.gz
cp publish/gpu/data/*.gz /tmp/gpuae-data/
export GPUAE_DATA=/tmp/gpuae-data PYTHONUNBUFFERED=1
section() { echo "## [$(date -u +%T)] $*"; }
{
  section start
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  timeout 60 $g devices
  section "gpuae check --device cuda"
  timeout 120 $g check --device cuda; echo "exit $?"
  for m in ae vae conv-ae conv-vae; do
    section "gpuae bench --device cuda --model $m --steps 50 --epoch --timeline"
    timeout 100 $g bench --device cuda --model $m --steps 50 --epoch --timeline; echo "exit $?"
  done
  for m in ae vae; do
    for d in cuda simd; do
      section "gpuae train $m --device $d --epochs 2 --limit 6000 (real data)"
      timeout 60 $g train $m --device $d --epochs 2 --limit 6000 --quiet --out /tmp/run-$m-$d; echo "exit $?"
      cat /tmp/run-$m-$d/metrics.csv
    done
  done
  for m in ae vae conv-ae conv-vae; do
    section "PyTorch, $m, every full-batch step a CUDA graph, same card"
    timeout 90 python3 bench/gpu_peer.py --model $m --mode graph --epochs 3 2>&1 | sed "s/^/pytorch graph $m: /"
  done
  section "PyTorch, ae, torch.compile inside the CUDA graph, same card"
  timeout 180 python3 bench/gpu_peer.py --model ae --mode compile-graph --epochs 3 2>&1 | sed "s/^/pytorch compile-graph ae: /"
  section end
} 2>&1 | tee "$out/gpu-run.txt"
