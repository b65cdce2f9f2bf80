#!/usr/bin/env bash
# A self-contained, single-file, compressed `gpuae` for machines without the .NET SDK (the lent GPU machines):
# publish/linux-x64/gpuae. COMPRESS=false leaves the single file uncompressed (95 MB), for bench/gpu-prepare.sh to
# xz-compress (30 MB, against 39 MB for the single file's own compression).
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet publish src/Cli -c Release -r linux-x64 --self-contained \
  -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=${COMPRESS:-true} -p:IncludeNativeLibrariesForSelfExtract=true \
  -p:DebugType=none -p:SatelliteResourceLanguages=en -o publish/linux-x64
ls -la publish/linux-x64
