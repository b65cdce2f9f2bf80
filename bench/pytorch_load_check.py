#!/usr/bin/env python3
# A GpuAe checkpoint loaded into the same architecture in PyTorch with load_state_dict gives the deterministic test
# numbers `gpuae eval` prints: the AE's BCE, the VAE's BCE decoded from z = mu and its KL (the sampled ELBO uses GpuAe's
# own noise, so it is not recomputed here). Reads safetensors with a few lines of numpy. Not a dependency of GpuAe.
# Usage: bench/pytorch_load_check.py [RUN_DIR ...]  (default: the three committed checkpoints of reports/runs)
import gzip, json, struct, sys
import numpy as np, torch
from torch import nn
def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__")
    t = {k: torch.from_numpy(np.frombuffer(b, np.float32, count=int(np.prod(v["shape"])), offset=8 + n + v["data_offsets"][0]).reshape(v["shape"]).copy())
         for k, v in h.items() if not k.startswith("adam.")}
    return t, meta
x = torch.from_numpy(np.frombuffer(gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").read(), np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255)
runs = sys.argv[1:] or ["reports/runs/ae-32d-relu-seed42", "reports/runs/ae-2d-seed42", "reports/runs/vae-2d-seed42"]
for run in runs:
    sd, meta = load(f"{run}/model.safetensors")
    kind = meta["model"]
    if kind == "ae":
        d = int(meta["code"]); act = [nn.ReLU()] if meta["code_activation"] == "relu" else []
        m = nn.Module(); m.encoder = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, d), *act); m.decoder = nn.Sequential(nn.Linear(d, 256), nn.ReLU(), nn.Linear(256, 784))
        m.load_state_dict(sd)
        with torch.no_grad(): logits = m.decoder(m.encoder(x)); kl = torch.zeros(())
    else:
        d = int(meta["latent"])
        m = nn.Module(); m.encoder = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 2 * d)); m.decoder = nn.Sequential(nn.Linear(d, 256), nn.ReLU(), nn.Linear(256, 784))
        m.load_state_dict(sd)
        with torch.no_grad():
            h = m.encoder(x); mu, lv = h[:, :d], h[:, d:].clamp(-30, 20)
            logits = m.decoder(mu); kl = (-0.5 * (1 + lv - mu * mu - lv.exp()).sum(1)).mean()
    bce = nn.functional.binary_cross_entropy_with_logits(logits.double(), x.double(), reduction="sum") / x.shape[0]
    mse = ((torch.sigmoid(logits) - x) ** 2).mean()
    print(f"{run}: PyTorch test BCE (code / z = mu) {bce.item():.4f}  KL {kl.item():.4f}  MSE {mse.item():.6f}")
