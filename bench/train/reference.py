"""PyTorch reference for bench/train: one epoch of MLP 784-256-10 (SGD, batch 128) on the first 10,000 MNIST
training images, on THREADS CPU threads, best of REPEATS epochs (a shared machine). Prints JSON: {"epoch_s": ...,
"step_ms": ..., "loss": ...}.
usage: reference.py DATA_DIR N BATCH [THREADS [REPEATS]] (defaults 1, 1)"""
import os
import sys

THREADS = int(sys.argv[4]) if len(sys.argv) > 4 else 1
# BLAS included (torch.set_num_threads does not bound OpenBLAS's own pool); read when torch loads OpenBLAS.
os.environ["OPENBLAS_NUM_THREADS"] = str(THREADS)
os.environ["OMP_NUM_THREADS"] = str(THREADS)

import json
import time

import numpy as np
import torch

torch.set_num_threads(THREADS)
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
epochs = []
for _ in range(int(sys.argv[5]) if len(sys.argv) > 5 else 1):
    start = time.perf_counter()
    for i in range(0, n, batch):
        loss = step(x[i : i + batch], y[i : i + batch])
    epochs.append(time.perf_counter() - start)
epoch = min(epochs)
steps = (n + batch - 1) // batch
print(json.dumps({"epoch_s": epoch, "step_ms": 1000 * epoch / steps, "loss": float(loss), "torch": torch.__version__, "threads": torch.get_num_threads()}))
