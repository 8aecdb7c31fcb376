"""hera (through GUDHI) reference for bench/topology/distances.ts: bottleneck and W1 (L-inf ground) of two diagrams.
usage: distances_reference.py <diagrams.json> <relative error>"""
import json, sys, time
import gudhi.hera as hera

data = json.load(open(sys.argv[1]))
delta = float(sys.argv[2])
a, b = data["a"], data["b"]
started = time.perf_counter()
bottleneck = hera.bottleneck_distance(a, b, delta=0)  # exact (its default 0.01 is approximate)
mid = time.perf_counter()
w1 = hera.wasserstein_distance(a, b, order=1, internal_p=float("inf"), delta=delta)
print(json.dumps({"bottleneck": bottleneck, "bottleneckSeconds": mid - started, "w1": w1, "w1Seconds": time.perf_counter() - mid}))
