#!/usr/bin/env bash
# Prepares what bench/gpu-run.sh needs on a lent GPU machine (no .NET SDK there; the working tree and what is carried
# travel together, at most 64 MiB, and the tracked files are ~19 MB of it since the committed checkpoints lost their Adam moments): publish/gpu/ with gpuae.xz (the
# self-contained single file, xz-compressed: ~30 MB) and data/: the first 2,000 real training images repeated to
# 60,000 (an epoch of the real set's size for timing; the training images as raw IDX, xz, which removes the
# repetition) and the first 1,000 test images. Then, with the device tool: `bash bench/gpu-run.sh`, carrying publish/gpu.
set -euo pipefail
cd "$(dirname "$0")/.."
COMPRESS=false bench/publish.sh > /dev/null
rm -rf publish/gpu && mkdir -p publish/gpu/data
xz -T2 -9 -c publish/linux-x64/gpuae > publish/gpu/gpuae.xz
python3 bench/make-subset.py publish/gpu/data 2000 1000 60000
gzip -dc publish/gpu/data/train-images-idx3-ubyte.gz | xz -T2 -9 > publish/gpu/data/train-images-idx3-ubyte.xz
rm publish/gpu/data/train-images-idx3-ubyte.gz
du -ab publish/gpu | sort -n
tracked=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
total=$(( tracked + $(du -sb publish/gpu | cut -f1) ))
echo "tracked files + publish/gpu: $total bytes (the limit: $(( 64 * 1024 * 1024 )))"
(( total < 64 * 1024 * 1024 - 1024 * 1024 )) || { echo "over what one device call carries" >&2; exit 1; }
