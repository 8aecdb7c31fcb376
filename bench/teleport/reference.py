"""PyTorch reference for bench/teleport (written for the bench, no code from the paper's repository):
one random CoB teleport (intra, r = 0.5) of a model, and a 10-point sweep (one teleport + one gradient per
cobRange), for an MLP 784-128-128-10 and a small CNN, on one CPU thread. Prints one JSON line of timings in ms."""
import os

# One CPU thread, BLAS included (torch.set_num_threads does not bound OpenBLAS's own pool).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import json
import sys
import time

import torch

torch.set_num_threads(1)
torch.manual_seed(0)
# Per model: sweep batch and timing repeats, as run.ts passes them.
SETTINGS = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {"mlp": {"batch": 256, "teleports": 20, "sweeps": 3}, "cnn": {"batch": 32, "teleports": 3, "sweeps": 1}}


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))


def cnn():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(16 * 7 * 7, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))


def weighted(model):
    return [m for m in model if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]


@torch.no_grad()
def teleport(model, r):
    """W[i, j] <- tau_i W[i, j] / tau_j per hidden unit (PyTorch layout [out, in, ...]); a Flatten repeats the
    channel taus per spatial position (NCHW order)."""
    layers = weighted(model)
    tau_in = None
    for k, layer in enumerate(layers):
        out = layer.weight.shape[0]
        tau_out = torch.empty(out).uniform_(1 - r, 1 + r) if k < len(layers) - 1 else torch.ones(out)
        w = layer.weight
        shape = [-1] + [1] * (w.dim() - 1)
        w.mul_(tau_out.view(shape))
        if tau_in is not None:
            t = tau_in if w.shape[1] == tau_in.numel() else tau_in.repeat_interleave(w.shape[1] // tau_in.numel())
            w.div_(t.view([1, -1] + [1] * (w.dim() - 2)))
        layer.bias.mul_(tau_out)
        tau_in = tau_out
    return model


def model_copy(model, build):
    copy = build()
    copy.load_state_dict(model.state_dict())
    return copy


def gradient_norm(model, x, y):
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    return sum(float((p.grad ** 2).sum()) for p in model.parameters())


def timed(fn, repeats):
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return 1000 * (time.perf_counter() - start) / repeats


results = {"torch": torch.__version__}
for name, build, sample_shape in (("mlp", mlp, (784,)), ("cnn", cnn, (1, 28, 28))):
    setting = SETTINGS[name]
    shape = (setting["batch"], *sample_shape)
    model = build()
    x = torch.randn(*shape)
    y = torch.randint(0, 10, (setting["batch"],))
    probe = torch.randn(32, *shape[1:])

    def one():
        # Copy (the user's model is kept), teleport, and check the function on 32 probe inputs.
        moved = teleport(model_copy(model, build), 0.5)
        with torch.no_grad():
            float((moved(probe) - model(probe)).abs().max())

    work = model_copy(model, build)

    def sweep():
        # The gradient at the start (the ratios' denominator), then per point teleported weights (no new model)
        # and the gradient there.
        gradient_norm(model, x, y)
        for r in torch.linspace(0.01, 0.9, 10).tolist():
            work.load_state_dict(model.state_dict())
            gradient_norm(teleport(work, r), x, y)

    results[name] = {"teleport_ms": timed(one, setting["teleports"]), "sweep_ms": timed(sweep, setting["sweeps"])}


print(json.dumps(results))
