/**
 * Weight-trajectory point clouds (Gabella, "Topology of Learning in Artificial Neural Networks"): each
 * point is one neuron's incoming weight vector at one saved step of a recorded ws.train run, labelled
 * (neuron, step). Also the greedy furthest-point subsample and the neuron groups of each step.
 */
import type { TrainRun } from "../train/run";
import { Trajectory } from "../train/trajectory";
import { InputError } from "../errors";
import { DisjointSets } from "./structures";

export interface TrajectoryCloud {
  layer: string;
  /** m x dim row-major float32: point i is neuron neuron[i] at training step step[i]. */
  points: Float32Array;
  m: number;
  dim: number;
  neurons: number;
  /** Training steps of the snapshots used, in order. */
  steps: number[];
  neuron: Int32Array;
  step: Int32Array;
  /** snapshot[i]: index into steps of point i. */
  snapshot: Int32Array;
}

export interface CloudOptions {
  /** A recorded Dense layer (default: the first recorded layer). */
  layer?: string;
  /** Use every k-th saved snapshot (default 1: all). */
  every?: number;
}

function recordedTrajectory(run: TrainRun, where: string) {
  if (run == null || typeof run !== "object" || !("trajectory" in run)) throw new InputError("invalid-data", `${where}: expected the TrainRun returned by ws.train`);
  if (!run.trajectory) throw new InputError("invalid-data", `${where}: the run recorded no weights; train with { record: { every, layers } }`);
  // A saved run's JSON (run.toJSON(), or ws.load of it) keeps the history but not the recorded weights.
  if (!(run.trajectory instanceof Trajectory)) throw new InputError("invalid-data", `${where}: expected the TrainRun returned by ws.train in this session; a saved run's JSON keeps no recorded weights`);
  return run.trajectory;
}

/** The point cloud of a layer's neurons over a recorded run (points ordered snapshot by snapshot). */
export function cloud(run: TrainRun, options: CloudOptions = {}): TrajectoryCloud {
  const trajectory = recordedTrajectory(run, "topology.cloud");
  const layer = options.layer ?? trajectory.layers[0];
  const shape = trajectory.shape(layer);
  if (shape.length !== 2) throw new Error(`topology.cloud: layer "${layer}" has kernel shape [${shape.join(", ")}]; only Dense layers ([inputs, units]) give neuron vectors`);
  const every = options.every ?? 1;
  if (!Number.isInteger(every) || every < 1) throw new Error(`topology.cloud: every must be a positive integer, got ${every}`);
  const [dim, neurons] = shape;
  const snapshots = trajectory.steps.map((_, i) => i).filter((i) => i % every === 0);
  const m = snapshots.length * neurons;
  const points = new Float32Array(m * dim);
  const neuron = new Int32Array(m);
  const step = new Int32Array(m);
  const snapshot = new Int32Array(m);
  snapshots.forEach((s, k) => {
    const kernel = trajectory.snapshot(layer, s);
    for (let j = 0; j < neurons; j++) {
      const i = k * neurons + j;
      // TF.js Dense kernels are [in, out]: neuron j's incoming weights are column j.
      for (let t = 0; t < dim; t++) {
        const w = kernel[t * neurons + j];
        if (!Number.isFinite(w)) throw new Error(`topology.cloud: layer "${layer}" has a non-finite weight (${w}) at step ${trajectory.steps[s]}, neuron ${j}, input ${t}`);
        points[i * dim + t] = w;
      }
      neuron[i] = j;
      step[i] = trajectory.steps[s];
      snapshot[i] = k;
    }
  });
  return { layer, points, m, dim, neurons, steps: snapshots.map((s) => trajectory.steps[s]), neuron, step, snapshot };
}

/** Squared Euclidean distance between rows a and b of flat row-major data. */
export function squaredDistance(data: ArrayLike<number>, dim: number, a: number, b: number): number {
  let s = 0;
  const oa = a * dim;
  const ob = b * dim;
  for (let j = 0; j < dim; j++) {
    const t = data[oa + j] - data[ob + j];
    s += t * t;
  }
  return s;
}

/** Squared Euclidean norm of row a of flat row-major data. */
export function squaredDistanceToOrigin(data: ArrayLike<number>, dim: number, a: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) s += data[a * dim + j] ** 2;
  return s;
}

export interface Subsample {
  /** Indices of the chosen points, in the order chosen. */
  indices: number[];
  /** Largest distance from any point to its nearest chosen point: the Hausdorff distance of the subsample. */
  coverRadius: number;
}

/**
 * Greedy furthest-point (maxmin) subsample: start at `first`, then repeatedly take the point furthest
 * from those chosen. The diagrams of the subsample are within the cover radius of the full cloud's in
 * bottleneck distance (Rips stability: 2 x Hausdorff for the diameter convention).
 */
export function furthestPointSample(data: ArrayLike<number>, m: number, dim: number, count: number, first = 0): Subsample {
  if (!(count >= 1) || !Number.isInteger(count)) throw new Error(`subsample: count must be a positive integer, got ${count}`);
  const nearest = new Float64Array(m).fill(Infinity);
  const indices: number[] = [];
  let next = first;
  for (let c = 0; c < Math.min(count, m); c++) {
    indices.push(next);
    let far = -1;
    let farDist = -1;
    for (let i = 0; i < m; i++) {
      const d = squaredDistance(data, dim, i, next);
      if (d < nearest[i]) nearest[i] = d;
      if (nearest[i] > farDist) {
        farDist = nearest[i];
        far = i;
      }
    }
    next = far;
  }
  let radius = 0;
  for (let i = 0; i < m; i++) radius = Math.max(radius, nearest[i]);
  return { indices, coverRadius: Math.sqrt(radius) };
}

/**
 * Neuron groups of each snapshot k: connected components of "incoming weights within tolerances[k]"
 * (single linkage), largest first. Neurons that start equal and never separate form one group.
 */
export function neuronGroups(c: TrajectoryCloud, tolerances: number[]): number[][][] {
  return c.steps.map((_, k) => {
    const tol2 = tolerances[k] * tolerances[k];
    const base = k * c.neurons;
    const sets = new DisjointSets(c.neurons);
    for (let a = 0; a < c.neurons; a++)
      for (let b = a + 1; b < c.neurons; b++) {
        const ra = sets.find(a);
        const rb = sets.find(b);
        if (ra !== rb && squaredDistance(c.points, c.dim, base + a, base + b) <= tol2) sets.union(ra, rb);
      }
    const byRoot = new Map<number, number[]>();
    for (let j = 0; j < c.neurons; j++) {
      const r = sets.find(j);
      if (!byRoot.has(r)) byRoot.set(r, []);
      byRoot.get(r)!.push(j);
    }
    return [...byRoot.values()].sort((x, y) => y.length - x.length || x[0] - y[0]);
  });
}

/** True when every neuron of snapshot k has bit-identical incoming weights (an unbroken symmetry). */
export function allIdentical(c: TrajectoryCloud, k: number): boolean {
  const base = k * c.neurons * c.dim;
  for (let j = 1; j < c.neurons; j++) for (let t = 0; t < c.dim; t++) if (c.points[base + j * c.dim + t] !== c.points[base + t]) return false;
  return true;
}
