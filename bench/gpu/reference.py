"""PyTorch reference for bench/gpu/run.ts: the same workloads on CUDA when available, else on 1 CPU thread.

Argument: one JSON object {sizes, x, y, n, lr, lanczos: {k, iterations, batch}} (x, y: raw float32 / int32
files of the MNIST samples that run.ts used). Prints one JSON row per workload, in run.ts's Row format.
"""
import os

# One CPU thread, BLAS included (torch.set_num_threads does not bound OpenBLAS's own pool).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import json
import sys
import time

import torch

spec = json.loads(sys.argv[1])
cuda = torch.cuda.is_available()
device = torch.device("cuda" if cuda else "cpu")
if cuda:
    torch.backends.cuda.matmul.allow_tf32 = False  # TF.js computes in float32; compare like with like.
else:
    torch.set_num_threads(1)
backend = f"torch-{'cuda ' + torch.cuda.get_device_name(0) if cuda else 'cpu 1 thread'}"


def sync():
    if cuda:
        torch.cuda.synchronize()


def time_it(fn, min_ms=400, max_runs=50):
    fn()
    sync()
    times = []
    start = time.perf_counter()
    while len(times) < 3 or ((time.perf_counter() - start) * 1e3 < min_ms and len(times) < max_runs):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def emit(workload, ms, flops):
    print(json.dumps({"workload": workload, "backend": backend, "ms": ms, "kernels": None, "flops": flops}), flush=True)


n = spec["n"]
x_all = torch.frombuffer(bytearray(open(spec["x"], "rb").read()), dtype=torch.float32).reshape(n, 784).to(device)
y_all = torch.frombuffer(bytearray(open(spec["y"], "rb").read()), dtype=torch.int32).long().to(device)

for size in spec["sizes"]:
    gen = torch.Generator(device="cpu").manual_seed(size)
    a = torch.randn(size, size, generator=gen).to(device)
    b = torch.randn(size, size, generator=gen).to(device)
    ms = time_it(lambda: (a @ b).sum().item(), 1500 if size >= 2048 else 400, 5 if size >= 4096 else 50)
    emit(f"matMul {size}", ms, 2 * size**3)


def mlp(sizes, seed):
    torch.manual_seed(seed)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).to(device)


for batch in (128, 4096):
    model = mlp([784, 256, 10], 0)
    params = list(model.parameters())
    xb, yb = x_all[:batch], y_all[:batch]

    def step():
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p.sub_(spec["lr"] * g)
        loss.item()  # one host read per step, as train() does

    ms = time_it(step)
    emit(f"MLP 784-256-10 SGD step, batch {batch}", ms, 6 * batch * (784 * 256 + 256 * 10))

lz = spec["lanczos"]
model = mlp([784, 64, 10], 1)
params = list(model.parameters())
xb, yb = x_all[: lz["batch"]], y_all[: lz["batch"]]
size = sum(p.numel() for p in params)


def hvp(v):
    loss = torch.nn.functional.cross_entropy(model(xb), yb)
    grads = torch.autograd.grad(loss, params, create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in grads])
    hv = torch.autograd.grad(flat @ v.to(device, torch.float32), params)
    return torch.cat([h.reshape(-1) for h in hv]).double().cpu()


def lanczos():
    # Same shape of work as src/math/hessian.ts: HVP on the device, float64 full reorthogonalisation on the host.
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(size, generator=gen, dtype=torch.float64)
    q /= q.norm()
    basis = []
    for _ in range(lz["iterations"]):
        basis.append(q)
        w = hvp(q)
        for _pass in range(2):
            for b in basis:
                w -= (w @ b) * b
        q = w / w.norm()


ms = time_it(lanczos, 1000, 10)
emit(f"Hessian top-{lz['k']}, MLP 784-64-10, batch {lz['batch']}, {lz['iterations']} HVPs", ms, 4 * 6 * lz["batch"] * (784 * 64 + 64 * 10) * lz["iterations"])
