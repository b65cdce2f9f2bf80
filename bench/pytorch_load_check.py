#!/usr/bin/env python3
# One-off check (issue 7): a GpuAe checkpoint loaded into the same architecture in PyTorch with load_state_dict gives
# the test loss `gpuae eval` prints. Reads safetensors with a few lines of numpy. Not a dependency of GpuAe.
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
for kind in ["ae", "vae"]:
    sd, meta = load(f"reports/runs/{kind}/model.safetensors")
    if kind == "ae":
        m = nn.Module(); m.encoder = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 32), nn.ReLU()); m.decoder = nn.Sequential(nn.Linear(32, 256), nn.ReLU(), nn.Linear(256, 784))
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
    print(f"{kind}: PyTorch test BCE {bce.item():.4f}  KL {kl.item():.4f}  loss {bce.item() + kl.item():.4f}  MSE {mse.item():.6f}")
