/**
 * Monte-Carlo moments E[v_p1 ... v_pn] of a feature vector v (one network's outputs at all inputs,
 * flattened as p = input * outputs + output), accumulated in float64 over the distinct components:
 * the moment is symmetric under permutations of (p1..pn), so only sorted tuples p1 <= ... <= pn are
 * summed, 1/n! of the full tensor. A paired accumulator also sums Delta = prod(g) - prod(v) for a
 * transformed copy g of the same sample (the invariance test on the same networks).
 */

/** Entries of the full tensor one correlator may have: its nested-array form and rank lookup are that big. */
const MAX_ENTRIES = 1 << 24;

export interface ComponentStats {
  /** Mean over samples, one entry per distinct component. */
  mean: Float64Array;
  /** Standard error of the mean, sd / sqrt(M) with the (M - 1) sample variance; NaN when M < 2. */
  stderr: Float64Array;
}

/** The distinct components of an order-n symmetric tensor over F features, in lexicographic order. */
export class ComponentIndex {
  readonly features: number;
  readonly order: number;
  /** Sorted tuples, `order` entries each. */
  readonly tuples: Int32Array;
  readonly size: number;
  private readonly strides: number[];
  /** Rank of the distinct component of each full-tensor entry whose features are sorted (-1 elsewhere). */
  private readonly lookup: Int32Array;

  constructor(features: number, order: number) {
    if (features ** order > MAX_ENTRIES) {
      throw new Error(`an order-${order} correlator over ${features} (input, output) pairs has ${features}^${order} = ${(features ** order).toExponential(2)} entries, more than ${MAX_ENTRIES} (16.7M); use fewer inputs or a lower order`);
    }
    this.features = features;
    this.order = order;
    const tuples: number[] = [];
    const walk = (depth: number, start: number, prefix: number[]) => {
      for (let p = start; p < features; p++) {
        if (depth === order - 1) tuples.push(...prefix, p);
        else walk(depth + 1, p, [...prefix, p]);
      }
    };
    walk(0, 0, []);
    this.tuples = Int32Array.from(tuples);
    this.size = tuples.length / order;
    this.strides = Array.from({ length: order }, (_, t) => features ** (order - 1 - t));
    this.lookup = new Int32Array(features ** order).fill(-1);
    for (let u = 0; u < this.size; u++) this.lookup[this.flatOf(this.tuples.subarray(u * order, (u + 1) * order))] = u;
  }

  /** Number of entries of the full tensor (F^n). */
  get fullSize(): number {
    return this.features ** this.order;
  }

  /** Multiplicity of each distinct component in the full tensor (the number of distinct orderings). */
  multiplicity(u: number): number {
    const t = Array.from(this.tuples.subarray(u * this.order, (u + 1) * this.order));
    let count = factorial(this.order);
    let run = 1;
    for (let i = 1; i <= t.length; i++) {
      if (i < t.length && t[i] === t[i - 1]) run++;
      else {
        count /= factorial(run);
        run = 1;
      }
    }
    return count;
  }

  /** Rank of the distinct component holding the entry with features `p` (any order). */
  rankOf(p: readonly number[]): number {
    return this.lookup[this.flatOf([...p].sort((a, b) => a - b))];
  }

  private flatOf(sorted: ArrayLike<number>): number {
    let flat = 0;
    for (let t = 0; t < this.order; t++) flat += sorted[t] * this.strides[t];
    return flat;
  }
}

export class ProductMoments {
  readonly index: ComponentIndex;
  samples = 0;
  private readonly sum: Float64Array;
  private readonly sumSq: Float64Array;
  private readonly paired: { sum: Float64Array; sumSq: Float64Array } | null;

  constructor(index: ComponentIndex, paired = false) {
    this.index = index;
    this.sum = new Float64Array(index.size);
    this.sumSq = new Float64Array(index.size);
    this.paired = paired ? { sum: new Float64Array(index.size), sumSq: new Float64Array(index.size) } : null;
  }

  /**
   * Adds one sample: v[offset .. offset + F) and, for a paired accumulator, its transformed copy
   * g[gOffset .. gOffset + F). Products are built depth-first so each prefix product is formed once.
   */
  add(v: ArrayLike<number>, offset: number, g?: ArrayLike<number>, gOffset = offset): void {
    const { features, order } = this.index;
    const { sum, sumSq, paired } = this;
    if (paired && !g) throw new Error("a paired accumulator needs the transformed sample");
    let u = 0;
    const walk = (depth: number, start: number, pv: number, pg: number) => {
      for (let p = start; p < features; p++) {
        const a = pv * v[offset + p];
        const b = paired ? pg * (g as ArrayLike<number>)[gOffset + p] : 0;
        if (depth < order - 1) {
          walk(depth + 1, p, a, b);
          continue;
        }
        sum[u] += a;
        sumSq[u] += a * a;
        if (paired) {
          const delta = b - a;
          paired.sum[u] += delta;
          paired.sumSq[u] += delta * delta;
        }
        u++;
      }
    };
    walk(0, 0, 1, 1);
    this.samples++;
  }

  /** Mean and standard error of prod(v) per distinct component. */
  moments(): ComponentStats {
    return meanAndError(this.sum, this.sumSq, this.samples);
  }

  /** Mean and standard error of Delta = prod(g) - prod(v) per distinct component. */
  deltas(): ComponentStats {
    if (!this.paired) throw new Error("deltas() needs a paired accumulator");
    return meanAndError(this.paired.sum, this.paired.sumSq, this.samples);
  }
}

function meanAndError(sum: Float64Array, sumSq: Float64Array, n: number): ComponentStats {
  const mean = new Float64Array(sum.length);
  const stderr = new Float64Array(sum.length);
  for (let u = 0; u < sum.length; u++) {
    mean[u] = sum[u] / n;
    // Clamp round-off below zero: the variance of a constant component is 0, not negative.
    const variance = n > 1 ? Math.max(0, (sumSq[u] - n * mean[u] * mean[u]) / (n - 1)) : NaN;
    stderr[u] = Math.sqrt(variance / n);
  }
  return { mean, stderr };
}

function factorial(k: number): number {
  let f = 1;
  for (let i = 2; i <= k; i++) f *= i;
  return f;
}

/**
 * The full tensor as nested arrays indexed [x1]..[xn][o1]..[on], from per-component values: entry
 * (x1..xn, o1..on) is the component of the features p_t = x_t * outputs + o_t.
 */
export function expandComponents(index: ComponentIndex, values: ArrayLike<number>, inputs: number, outputs: number): unknown[] {
  const n = index.order;
  const xs: number[] = [];
  const build = (depth: number, os: number[]): unknown[] => {
    const size = depth < n ? inputs : outputs;
    return Array.from({ length: size }, (_, j) => {
      if (depth < n) xs[depth] = j;
      else os[depth - n] = j;
      if (depth === 2 * n - 1) return values[index.rankOf(xs.map((x, t) => x * outputs + os[t]))];
      return build(depth + 1, os);
    });
  };
  return build(0, []);
}
