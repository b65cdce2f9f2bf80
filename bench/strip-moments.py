#!/usr/bin/env python3
"""Rewrites gpuae checkpoints without Adam's moments (the adam.m.* and adam.v.* tensors): what a finished run needs to
be evaluated, decoded, sampled or loaded by PyTorch, at a third of the size. The committed checkpoints under reports/
are stored this way so that the working tree, which travels with every GPU run (64 MiB in all), stays small. Such a
checkpoint cannot be resumed (`--resume` says so). Weights and metadata are kept byte for byte; the metadata gains
"moments": "stripped" and a new content_sha256 (gpuae's SafeTensors.ContentHash, computed here the same way).

    python3 bench/strip-moments.py reports/runs/*/model.safetensors reports/classifier/chosen.safetensors
"""
import hashlib
import json
import struct
import sys


def content_sha256(metadata, header, body):
    """SHA-256 of the metadata but content_sha256 ("key=value\\n", keys in code-point order), then each tensor in the
    header's order ("name|dtype|shape|begin|end\\n"), then the data buffer: what gpuae checks when it reads the file."""
    h = hashlib.sha256()
    for key in sorted(k for k in metadata if k != "content_sha256"):
        h.update(f"{key}={metadata[key]}\n".encode())
    for name, info in header.items():
        if name != "__metadata__":
            shape = ",".join(str(d) for d in info["shape"])
            h.update(f"{name}|{info['dtype']}|{shape}|{info['data_offsets'][0]}|{info['data_offsets'][1]}\n".encode())
    h.update(body)
    return h.hexdigest()


def strip(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    metadata = header.pop("__metadata__", {})
    kept = {name: info for name, info in header.items() if not name.startswith(("adam.m.", "adam.v."))}
    if len(kept) == len(header):
        print(f"{path}: no moments, left as it is")
        return
    out_header, chunks, offset = {"__metadata__": dict(metadata, moments="stripped")}, [], 0
    for name, info in kept.items():  # the file's order
        start, end = info["data_offsets"]
        chunks.append(body[start:end])
        out_header[name] = dict(info, data_offsets=[offset, offset + end - start])
        offset += end - start
    out_header["__metadata__"]["content_sha256"] = content_sha256(out_header["__metadata__"], out_header, b"".join(chunks))
    text = json.dumps(out_header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)  # the data stays 8-byte aligned, as gpuae writes it
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))
    import os
    os.replace(path + ".tmp", path)
    print(f"{path}: {len(data):,} → {8 + len(text) + offset:,} bytes")


if __name__ == "__main__":
    for p in sys.argv[1:]:
        strip(p)
