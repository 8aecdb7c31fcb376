"""Straightforward PyTorch reference of the S_rel matrix (KL kind, SGD probe step), for bench/elasticity/run.ts.

finite:        for each row i, copy the weights, take one SGD step on sample i, run all points forward,
               S_rel = KL(softmax(z'+) || softmax(z')) / KL(softmax(z_i+) || softmax(z_i)), KL from log-softmax.
infinitesimal: for each row i, the loss gradient g_i, then the Jacobian-vector product J(X) g_i of the
               logits (torch.autograd.functional.jvp), S_rel = Var_p'(J' g) / Var_p(J_i g) (Fisher form).
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


def main():
    problem = json.load(open(sys.argv[1]))
    n, eta = problem["n"], problem["eta"]
    x = torch.tensor(problem["x"], dtype=torch.float32).reshape(n, -1)
    y = torch.tensor(problem["y"], dtype=torch.int64)
    w = [torch.tensor(t["values"], dtype=torch.float32).reshape(t["shape"]) for t in problem["weights"]]

    def logits(params, inputs):
        w0, b0, w1, b1 = params
        return torch.relu(inputs @ w0 + b0) @ w1 + b1

    def loss_grad(i):
        params = [p.clone().requires_grad_(True) for p in w]
        loss = torch.nn.functional.cross_entropy(logits(params, x[i:i + 1]), y[i:i + 1])
        return torch.autograd.grad(loss, params)

    out = {}
    with torch.no_grad():
        z = logits(w, x).double()
    logp = torch.log_softmax(z, 1)

    started = time.perf_counter()
    srel = torch.empty(n, n, dtype=torch.float64)
    for i in range(n):
        g = loss_grad(i)
        with torch.no_grad():
            moved = [p - eta * gp for p, gp in zip(w, g)]
            logp_after = torch.log_softmax(logits(moved, x).double(), 1)
            kl = (logp_after.exp() * (logp_after - logp)).sum(1)
        srel[i] = kl / kl[i]
    out["finite"] = {"seconds": time.perf_counter() - started, "srel": srel.tolist()}

    started = time.perf_counter()
    p = torch.softmax(z, 1)
    for i in range(n):
        g = loss_grad(i)
        _, tangent = torch.autograd.functional.jvp(lambda *q: logits(q, x), tuple(w), tuple(g))
        c = tangent.double()
        mean = (p * c).sum(1, keepdim=True)
        variance = (p * (c - mean) ** 2).sum(1)
        srel[i] = variance / variance[i]
    out["infinitesimal"] = {"seconds": time.perf_counter() - started, "srel": srel.tolist()}
    json.dump(out, sys.stdout)


main()
