"""PyTorch reference for bench/cnn: SGD steps of conv32-conv32-pool-conv64-conv64-pool-dense256-10 (3x3 "same"
convolutions, ReLU, 2x2 max pooling) on random 32x32x3 images at batch BATCH, on THREADS CPU threads; best of
REPEATS runs of STEPS steps. Prints JSON: {"step_ms": ..., "torch": ..., "threads": ...}.
usage: reference.py BATCH STEPS THREADS REPEATS"""
import os
import sys

BATCH, STEPS, THREADS, REPEATS = (int(a) for a in sys.argv[1:5])
# BLAS included (torch.set_num_threads does not bound OpenBLAS's own pool); read when torch loads OpenBLAS.
os.environ["OPENBLAS_NUM_THREADS"] = str(THREADS)
os.environ["OMP_NUM_THREADS"] = str(THREADS)

import json
import time

import torch

torch.set_num_threads(THREADS)
torch.manual_seed(0)
nn = torch.nn
model = nn.Sequential(
    nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(64 * 8 * 8, 256), nn.ReLU(), nn.Linear(256, 10),
)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
loss_fn = nn.CrossEntropyLoss()
x = torch.randn(BATCH * STEPS, 3, 32, 32)
y = torch.randint(0, 10, (BATCH * STEPS,))


def step(xb, yb):
    opt.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    opt.step()
    return float(loss)  # one host read per step, as ws.train records the loss


step(x[:BATCH], y[:BATCH])  # warm-up
best = float("inf")
for _ in range(REPEATS):
    start = time.perf_counter()
    for i in range(0, BATCH * STEPS, BATCH):
        step(x[i : i + BATCH], y[i : i + BATCH])
    best = min(best, (time.perf_counter() - start) / STEPS)
print(json.dumps({"step_ms": 1000 * best, "torch": torch.__version__, "threads": torch.get_num_threads()}))
