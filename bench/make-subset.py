#!/usr/bin/env python3
"""Writes the first N training and M test images (and labels) of the real Fashion-MNIST files as IDX .gz files into a
folder, small enough to carry to a GPU machine beside the self-contained gpuae (the device tool sends at most 64 MiB).
Usage: bench/make-subset.py OUT_DIR [N_TRAIN=4000] [N_TEST=1000] [TRAIN_ROWS=N_TRAIN]: with TRAIN_ROWS, the N_TRAIN
training images (and labels) repeated to that many rows, so that an epoch has the real set's size for timing while
the transfer carries only N_TRAIN images (bench/gpu-prepare.sh xz-compresses the repetition away). Not a dependency of
GpuAe."""
import gzip, os, struct, sys

src = os.environ.get("GPUAE_DATA", "/usr/share/datasets/fashion-mnist")
out, n_train, n_test = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 4000, int(sys.argv[3]) if len(sys.argv) > 3 else 1000
train_rows = int(sys.argv[4]) if len(sys.argv) > 4 else n_train
os.makedirs(out, exist_ok=True)

def subset(name, n, images, rows_out=None):
    rows_out = rows_out or n
    with gzip.open(os.path.join(src, name)) as f:
        data = f.read()
    if images:
        magic, _, rows, cols = struct.unpack(">IIII", data[:16])
        block = data[16:16 + n * rows * cols]
        body = struct.pack(">IIII", magic, rows_out, rows, cols) + (block * (rows_out // n + 1))[:rows_out * rows * cols]
    else:
        magic, _ = struct.unpack(">II", data[:8])
        block = data[8:8 + n]
        body = struct.pack(">II", magic, rows_out) + (block * (rows_out // n + 1))[:rows_out]
    with gzip.open(os.path.join(out, name), "wb", compresslevel=9 if rows_out == n else 1) as f:
        f.write(body)

subset("train-images-idx3-ubyte.gz", n_train, True, train_rows)
subset("train-labels-idx1-ubyte.gz", n_train, False, train_rows)
subset("t10k-images-idx3-ubyte.gz", n_test, True)
subset("t10k-labels-idx1-ubyte.gz", n_test, False)
