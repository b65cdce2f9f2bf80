#!/bin/sh
# Installs what GpuAe needs on a fresh Debian or Ubuntu machine, as root (no sudo needed) or as a user with sudo:
# the Fashion-MNIST data package, and TeX (pdflatex with Beamer) for the report's PDFs. The .NET 10 SDK must be on PATH
# already (https://dotnet.microsoft.com/download).
set -e
if [ "$(id -u)" -eq 0 ]; then as_root=""; else as_root="sudo"; fi
missing=""
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || missing="$missing dataset-fashion-mnist"
# pdflatex and Beamer: Beamer needs pgf (texlive-pictures), which nothing else pulls in; 218 MiB without the recommends.
command -v pdflatex >/dev/null 2>&1 && kpsewhich beamer.cls >/dev/null 2>&1 || missing="$missing texlive-latex-recommended texlive-pictures"
if [ -n "$missing" ]; then
  $as_root apt-get update
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
fi
if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup.sh: the .NET 10 SDK is not on PATH: install it (https://dotnet.microsoft.com/download), then run this again" >&2
  exit 1
fi
echo "setup.sh: Fashion-MNIST is in /usr/share/datasets/fashion-mnist, $(pdflatex --version | head -1) and $(dotnet --version 2>/dev/null | sed 's/^/the .NET SDK is /')"
