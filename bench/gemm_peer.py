#!/usr/bin/env python3
"""PyTorch's matmul on GEMM shapes read from stdin, timed like `gpuae bench gemms` times ours, for compare-pytorch.sh.

Each input line: LAYOUT M N K, LAYOUT one of A·B, A·Bᵀ, Aᵀ·B (which operand is read transposed; C is M×N). Each
shape: random operands in that layout (A·Bᵀ is x @ w.t() with w[N,K], as nn.Linear runs it; Aᵀ·B is dy.t() @ x),
40 warm-up calls, 200 calls timed one by one, the median. Prints LAYOUT M N K MICROSECONDS GFLOPS per line.
Not a dependency of GpuAe: a peer to measure against.
"""
import argparse, statistics, sys, time
import torch

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1)
for line in sys.stdin:
    if not line.strip():
        continue
    layout, m, n, k = line.split()
    m, n, k = int(m), int(n), int(k)
    A = torch.rand(k, m) if layout.startswith("Aᵀ") else torch.rand(m, k)
    B = torch.rand(n, k) if layout.endswith("Bᵀ") else torch.rand(k, n)
    At = A.t() if layout.startswith("Aᵀ") else A
    Bt = B.t() if layout.endswith("Bᵀ") else B
    out = torch.empty(m, n)
    for _ in range(40):
        torch.matmul(At, Bt, out=out)
    each = []
    for _ in range(200):
        start = time.perf_counter()
        torch.matmul(At, Bt, out=out)
        each.append(time.perf_counter() - start)
    us = statistics.median(each) * 1e6
    print(f"{layout} {m} {n} {k} {us:.1f} {2 * m * n * k / us / 1e3:.1f}", flush=True)
