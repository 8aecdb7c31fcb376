"""PyTorch reference for bench/embedding/run.ts (Debian's python3-torch, 1 thread).

lanczos: top-k eigenvalues of the cross-entropy Hessian of an MLP 784-128-10 (ReLU) on MNIST images,
         Lanczos with full reorthogonalisation (float64 vectors) on float32 Hessian-vector products
         by double backward, the same number of iterations as weightscope.
exact:   the full float64 Hessian of the half mean squared error of a 1-8-1 tanh net
         (torch.autograd.functional.hessian) and all its eigenvalues (torch.linalg.eigvalsh).
"""
import os

# One CPU thread, BLAS included (torch.set_num_threads does not bound OpenBLAS's own pool).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import json
import sys
import time

import torch

torch.set_num_threads(1)


def tensors(spec, dtype):
    return [torch.tensor(w["values"], dtype=dtype).reshape(w["shape"]) for w in spec]


def lanczos_top(problem):
    data = problem["mnist"]
    x = torch.tensor(data["x"], dtype=torch.float32).reshape(-1, 784)
    y = torch.tensor(data["y"], dtype=torch.int64)
    params = [p.requires_grad_(True) for p in tensors(data["weights"], torch.float32)]
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]
    started = time.perf_counter()
    w0, b0, w1, b1 = params
    loss = torch.nn.functional.cross_entropy(torch.relu(x @ w0 + b0) @ w1 + b1, y)
    grads = torch.autograd.grad(loss, params, create_graph=True)

    def hvp(v):
        pieces = [p.reshape(s) for p, s in zip(torch.split(v.float(), sizes), shapes)]
        products = torch.autograd.grad(grads, params, grad_outputs=pieces, retain_graph=True)
        return torch.cat([p.reshape(-1) for p in products]).double()

    n = sum(sizes)
    m = problem["iterations"]
    generator = torch.Generator().manual_seed(0)
    q = torch.randn(n, dtype=torch.float64, generator=generator)
    q /= q.norm()
    basis, alphas, betas = [], [], []
    for j in range(m):
        basis.append(q)
        w = hvp(q)
        a = torch.dot(w, q).item()
        alphas.append(a)
        stacked = torch.stack(basis)
        for _ in range(2):
            w -= stacked.T @ (stacked @ w)
        norm = w.norm().item()
        if j == m - 1 or norm <= 1e-10 * max(1.0, abs(a)):
            break
        betas.append(norm)
        q = w / norm
    t = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    for i, b in enumerate(betas[: len(alphas) - 1]):
        t[i, i + 1] = t[i + 1, i] = b
    values = torch.linalg.eigvalsh(t).flip(0)[: problem["k"]]
    return {"seconds": time.perf_counter() - started, "eigenvalues": values.tolist()}


def exact_hessian(problem):
    data = problem["curve"]
    x = torch.tensor(data["x"], dtype=torch.float64).reshape(-1, 1)
    y = torch.tensor(data["y"], dtype=torch.float64).reshape(-1, 1)
    params = tensors(data["weights"], torch.float64)
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]

    def loss(flat):
        w0, b0, w1, b1 = [p.reshape(s) for p, s in zip(torch.split(flat, sizes), shapes)]
        return 0.5 * ((torch.tanh(x @ w0 + b0) @ w1 + b1 - y) ** 2).sum(1).mean()

    flat = torch.cat([p.reshape(-1) for p in params])
    torch.linalg.eigvalsh(torch.autograd.functional.hessian(loss, flat))  # warm-up
    repeats = problem["repeats"]
    started = time.perf_counter()
    for _ in range(repeats):
        values = torch.linalg.eigvalsh(torch.autograd.functional.hessian(loss, flat))
    return {"seconds": (time.perf_counter() - started) / repeats, "eigenvalues": values.flip(0).tolist()}


def main():
    problem = json.load(open(sys.argv[1]))
    print(json.dumps({"lanczos": lanczos_top(problem), "exact": exact_hessian(problem)}))


if __name__ == "__main__":
    main()
