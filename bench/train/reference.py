"""PyTorch reference for bench/train: one epoch of MLP 784-256-10 (SGD, batch 128) on the first 10,000 MNIST
training images, on ONE CPU thread. Prints JSON: {"epoch_s": ..., "step_ms": ..., "loss": ...}."""
import os

# One CPU thread, BLAS included (torch.set_num_threads does not bound OpenBLAS's own pool).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import json
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)
data_dir, n, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def idx(path, offset):
    with open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


x = torch.tensor(idx(f"{data_dir}/train-images-idx3-ubyte", 16)[: n * 784].reshape(n, 784).astype(np.float32) / 255)
y = torch.tensor(idx(f"{data_dir}/train-labels-idx1-ubyte", 8)[:n].astype(np.int64))
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = torch.nn.CrossEntropyLoss()


def step(xb, yb):
    opt.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    opt.step()
    return loss


for _ in range(3):  # warm-up
    step(x[:batch], y[:batch])
start = time.perf_counter()
for i in range(0, n, batch):
    loss = step(x[i : i + batch], y[i : i + batch])
epoch = time.perf_counter() - start
steps = (n + batch - 1) // batch
print(json.dumps({"epoch_s": epoch, "step_ms": 1000 * epoch / steps, "loss": float(loss), "torch": torch.__version__}))
