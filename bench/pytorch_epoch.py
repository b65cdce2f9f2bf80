#!/usr/bin/env python3
"""One training epoch of GpuAe's AE or VAE in PyTorch eager mode, for `compare-pytorch.sh`.

Same architecture, loss (BCE summed over pixels + KL, mean over the batch), Adam (lr 1e-3, eps 1e-7), batch 128,
shuffled real Fashion-MNIST. Prints the seconds of the epoch's training steps only, like GpuAe's metrics.csv.
Not a dependency of GpuAe: a peer to measure against.
"""
import argparse, gzip, os, time
import numpy as np
import torch
from torch import nn

p = argparse.ArgumentParser()
p.add_argument("--model", choices=["ae", "vae", "conv-ae", "conv-vae"], default="ae")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--device", default="cpu")
p.add_argument("--data", default=os.environ.get("GPUAE_DATA", "/usr/share/datasets/fashion-mnist"))
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(42)

path = os.path.join(a.data, "train-images-idx3-ubyte.gz")
if os.path.exists(path):
    with gzip.open(path) as f:
        x = torch.from_numpy(np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255).to(a.device)
else:  # a GPU machine without the data: timing does not depend on the pixel values
    x = torch.rand(60000, 784, device=a.device)

def encoder(out, conv):
    if not conv:
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, out))
    return nn.Sequential(nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 32, 3, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),
                         nn.Flatten(), nn.Linear(3136, out))

def decoder(latent, conv):
    if not conv:
        return nn.Sequential(nn.Linear(latent, 256), nn.ReLU(), nn.Linear(256, 784))
    return nn.Sequential(nn.Linear(latent, 3136), nn.ReLU(), nn.Unflatten(1, (64, 7, 7)), nn.ConvTranspose2d(64, 32, 3, 2, 1, 1), nn.ReLU(),
                         nn.ConvTranspose2d(32, 1, 3, 2, 1, 1), nn.Flatten())

class AE(nn.Module):
    def __init__(self, conv=False):
        super().__init__()
        self.encoder = nn.Sequential(encoder(32, conv), nn.ReLU())
        self.decoder = decoder(32, conv)
    def loss(self, x):
        return nn.functional.binary_cross_entropy_with_logits(self.decoder(self.encoder(x)), x, reduction="sum") / x.shape[0]

class VAE(nn.Module):
    def __init__(self, d=2, conv=False):
        super().__init__()
        self.d = d
        self.encoder = encoder(2 * d, conv)
        self.decoder = decoder(d, conv)
    def loss(self, x):
        h = self.encoder(x)
        mu, logvar = h[:, :self.d], h[:, self.d:].clamp(-30, 20)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        bce = nn.functional.binary_cross_entropy_with_logits(self.decoder(z), x, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu * mu - logvar.exp())
        return (bce + kl) / x.shape[0]

conv = a.model.startswith("conv-")
model = (VAE(conv=conv) if a.model.endswith("vae") else AE(conv=conv)).to(a.device)
opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
order = torch.randperm(x.shape[0], device=a.device)

def epoch(images=x.shape[0]):
    total = torch.zeros((), device=a.device)
    for i in range(0, images, 128):
        batch = x[order[i:i + 128]]
        opt.zero_grad(set_to_none=True)
        loss = model.loss(batch)
        loss.backward()
        opt.step()
        total += loss.detach() * batch.shape[0]
    return (total / x.shape[0]).item()  # the one read-back, at the end

# Warm-up: on CUDA a whole epoch (context, kernels, allocator), on the CPU a few steps (oneDNN primitives, allocator).
if a.device != "cpu":
    epoch()
    torch.cuda.synchronize()
else:
    epoch(5 * 128)
start = time.perf_counter()
loss = epoch()
seconds = time.perf_counter() - start
print(f"{seconds:.3f} {loss:.3f}")
