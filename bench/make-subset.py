#!/usr/bin/env python3
"""Writes the first N training and M test images (and labels) of the real Fashion-MNIST files as IDX .gz files into a
folder, small enough to carry to a GPU machine beside the self-contained gpuae (the device tool sends at most 64 MiB).
Usage: bench/make-subset.py OUT_DIR [N_TRAIN=4000] [N_TEST=1000]. Not a dependency of GpuAe."""
import gzip, os, struct, sys

src = os.environ.get("GPUAE_DATA", "/usr/share/datasets/fashion-mnist")
out, n_train, n_test = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 4000, int(sys.argv[3]) if len(sys.argv) > 3 else 1000
os.makedirs(out, exist_ok=True)

def subset(name, n, images):
    with gzip.open(os.path.join(src, name)) as f:
        data = f.read()
    if images:
        magic, _, rows, cols = struct.unpack(">IIII", data[:16])
        body = struct.pack(">IIII", magic, n, rows, cols) + data[16:16 + n * rows * cols]
    else:
        magic, _ = struct.unpack(">II", data[:8])
        body = struct.pack(">II", magic, n) + data[8:8 + n]
    with gzip.open(os.path.join(out, name), "wb", compresslevel=9) as f:
        f.write(body)

subset("train-images-idx3-ubyte.gz", n_train, True)
subset("train-labels-idx1-ubyte.gz", n_train, False)
subset("t10k-images-idx3-ubyte.gz", n_test, True)
subset("t10k-labels-idx1-ubyte.gz", n_test, False)
