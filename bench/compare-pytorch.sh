#!/usr/bin/env bash
# Times one training epoch (60,000 images, batch 128, 2 threads) of GpuAe and of PyTorch back to back on this
# machine and prints the ratios. Needs Debian's PyTorch: apt-get install python3-torch (and libopenblas0-pthread
# for the OpenBLAS row). Usage: bench/compare-pytorch.sh [ae|vae] [gpuae devices...]   (default: ae cpu simd)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-ae}; shift || true
devices=("${@:-cpu}")
[ $# -eq 0 ] && devices=(cpu simd)
dotnet build src/Cli -c Release -v quiet -nologo >/dev/null
gpuae() { dotnet src/Cli/bin/Release/net10.0/gpuae.dll "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# PyTorch with the reference BLAS Debian ships (forced even if OpenBLAS is installed), then with OpenBLAS if present.
torch_ref=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas /usr/bin/python3 bench/pytorch_epoch.py --model "$model" --threads 2 | cut -d' ' -f1)
echo "PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') eager, reference BLAS, 2 threads: ${torch_ref} s per $model epoch"
torch_openblas=""
if ls /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 >/dev/null 2>&1; then
  torch_openblas=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/pytorch_epoch.py --model "$model" --threads 2 | cut -d' ' -f1)
  echo "PyTorch eager, OpenBLAS, 2 threads: ${torch_openblas} s per $model epoch"
fi

for device in "${devices[@]}"; do
  gpuae train "$model" --epochs 1 --device "$device" --json --out "$tmp/$device" > "$tmp/$device.json"
  ours=$(/usr/bin/python3 -c "import json,sys; print(json.loads(open('$tmp/$device.json').read().splitlines()[-1])['seconds'])")
  line="GpuAe --device $device: ${ours} s per $model epoch; ratio to PyTorch (reference BLAS) $(/usr/bin/python3 -c "print(f'{$ours/$torch_ref:.3f}')")"
  [ -n "$torch_openblas" ] && line="$line, to PyTorch (OpenBLAS) $(/usr/bin/python3 -c "print(f'{$ours/$torch_openblas:.3f}')")"
  echo "$line"
done
