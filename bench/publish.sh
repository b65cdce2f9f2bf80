#!/usr/bin/env bash
# A self-contained, single-file, compressed `gpuae` for machines without the .NET SDK (the lent GPU machines):
# publish/linux-x64/gpuae. Carry the publish/ folder to the GPU machine and run bench/gpu-run.sh there.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet publish src/Cli -c Release -r linux-x64 --self-contained \
  -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true \
  -p:DebugType=none -o publish/linux-x64
ls -la publish/linux-x64
