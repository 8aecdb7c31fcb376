"""PyTorch reference for bench/byom/run.ts (Debian's /usr/bin/python3 + python3-torch, 1 thread).

    reference.py read FILE                  streams FILE (header, then one tensor at a time) into float32 tensors
    reference.py mlp FILE SIZES REPEATS     loads FILE into nn.Sequential(Linear, ReLU, ...) with load_state_dict

Prints one JSON line: the best wall time in milliseconds over the repeats, and the values read.
"""
import os

# One CPU thread, BLAS included (torch.set_num_threads does not bound OpenBLAS's own pool).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import json
import struct
import sys
import time

import torch
from torch import nn

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}


def read(path):
    """Header first, then each tensor with one seek + read, converted to float32 (what weightscope does)."""
    out = {}
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        header.pop("__metadata__", None)
        for name, info in header.items():
            begin, end = info["data_offsets"]
            f.seek(8 + n + begin)
            raw = bytearray(f.read(end - begin))
            out[name] = torch.frombuffer(raw, dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).to(torch.float32)
    return out


def best(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), value


def main():
    torch.set_num_threads(1)
    if sys.argv[1] == "read":
        ms, tensors = best(lambda: read(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1)
        print(json.dumps({"ms": ms, "values": sum(t.numel() for t in tensors.values())}))
    elif sys.argv[1] == "mlp":
        sizes = [int(s) for s in sys.argv[3].split(",")]
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        model = nn.Sequential(*layers)

        def load():
            model.load_state_dict(read(sys.argv[2]), strict=True)
            return model

        ms, _ = best(load, int(sys.argv[4]))
        print(json.dumps({"ms": ms, "values": sum(p.numel() for p in model.parameters())}))


if __name__ == "__main__":
    main()
