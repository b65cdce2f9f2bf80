#!/bin/sh
# Installs what GpuAe needs on a fresh Debian or Ubuntu machine, as root (no sudo needed) or as a user with sudo:
# the Fashion-MNIST data package. The .NET 10 SDK must be on PATH already (https://dotnet.microsoft.com/download).
set -e
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  if [ "$(id -u)" -eq 0 ]; then as_root=""; else as_root="sudo"; fi
  $as_root apt-get update
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y dataset-fashion-mnist
fi
if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup.sh: the .NET 10 SDK is not on PATH: install it (https://dotnet.microsoft.com/download), then run this again" >&2
  exit 1
fi
echo "setup.sh: Fashion-MNIST is in /usr/share/datasets/fashion-mnist and $(dotnet --version 2>/dev/null | sed 's/^/the .NET SDK is /')"
