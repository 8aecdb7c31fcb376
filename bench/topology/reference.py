"""GUDHI reference for bench/topology: Vietoris-Rips persistence of the same input, timed in-process.
usage: reference.py <point-cloud|lower-distance> <file> <maxDim> [threshold]"""
import os

# One CPU thread, BLAS included (torch.set_num_threads does not bound OpenBLAS's own pool).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import json, sys, time
import gudhi

fmt, path, maxdim = sys.argv[1], sys.argv[2], int(sys.argv[3])
threshold = float(sys.argv[4]) if len(sys.argv) > 4 else float("inf")
text = open(path).read()
started = time.perf_counter()
if fmt == "lower-distance":
    values = [float(x) for x in text.replace(",", " ").split()]
    rows, k, i = [[]], 0, 1
    while k < len(values):
        rows.append(values[k:k + i]); k += i; i += 1
    rips = gudhi.RipsComplex(distance_matrix=rows, max_edge_length=threshold)
else:
    points = [[float(x) for x in line.split()] for line in text.strip().split("\n")]
    rips = gudhi.RipsComplex(points=points, max_edge_length=threshold)
tree = rips.create_simplex_tree(max_dimension=maxdim + 1)
tree.compute_persistence(homology_coeff_field=2, min_persistence=0)
bars = [len([p for p in tree.persistence_intervals_in_dimension(d) if p[1] > p[0]]) for d in range(maxdim + 1)]
print(json.dumps({"seconds": time.perf_counter() - started, "bars": bars, "simplices": tree.num_simplices()}))
