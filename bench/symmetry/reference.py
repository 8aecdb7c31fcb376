"""PyTorch reference of the symmetry probe's estimator (1 thread): sample M Gauss-nets d-N-D, evaluate them at
the inputs, and estimate every distinct component of G^(n) as a float64 mean with its standard error.

usage: reference.py <networks> <width> <order> <outputs.f32 | -> <features>
Prints one JSON line: seconds of the full pipeline on torch-sampled networks, and (when a file of the
TypeScript ensemble's outputs [M, features] is given) the estimator on those same outputs, for comparison."""
import os

# One CPU thread, BLAS included (torch.set_num_threads does not bound OpenBLAS's own pool).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import itertools, json, sys, time
import numpy as np
import torch

torch.set_num_threads(1)
networks, width, order, path, features = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
inputs = torch.tensor([[-0.01], [-0.006], [-0.002], [0.002], [0.006], [0.01]], dtype=torch.float32)
d, D = 1, features // inputs.shape[0]
tuples = torch.tensor(list(itertools.combinations_with_replacement(range(features), order)), dtype=torch.long)


def estimate(outputs):
    """Mean and standard error (M - 1 variance) of prod_t f[:, p_t] per sorted tuple p, in float64 chunks."""
    total = torch.zeros(len(tuples), dtype=torch.float64)
    squares = torch.zeros(len(tuples), dtype=torch.float64)
    for start in range(0, outputs.shape[0], 256):
        f = outputs[start:start + 256].double()
        product = f[:, tuples[:, 0]]
        for t in range(1, order):
            product = product * f[:, tuples[:, t]]
        total += product.sum(0)
        squares += (product * product).sum(0)
    m = outputs.shape[0]
    mean = total / m
    return mean, torch.sqrt(torch.clamp((squares - m * mean * mean) / (m - 1), min=0) / m)


def gauss_net(m):
    w0 = torch.randn(m, d, width) / np.sqrt(d)
    w1 = torch.randn(m, width, D) / np.sqrt(width)
    z = inputs @ w0  # [m, n, N]
    variance = (inputs * inputs).sum(-1, keepdim=True) / d
    return (torch.exp(z - variance) @ w1).reshape(m, -1)


torch.manual_seed(0)
start = time.perf_counter()
outputs = torch.cat([gauss_net(min(4096, networks - s)) for s in range(0, networks, 4096)])
estimate(outputs)
seconds = time.perf_counter() - start
result = {"seconds": seconds, "components": len(tuples), "torch": torch.__version__}
if path != "-":
    same = torch.from_numpy(np.fromfile(path, dtype=np.float32).reshape(networks, features))
    mean, stderr = estimate(same)
    result["mean"] = mean.tolist()
    result["stderr"] = stderr.tolist()
print(json.dumps(result))
