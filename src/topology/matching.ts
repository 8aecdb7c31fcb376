/**
 * Optimal matchings of two persistence diagrams' finite points, each point also allowed to go to its
 * projection on the diagonal (the augmented problem). Rows: the first diagram's points, then the
 * second's projections; columns: the second's points, then the first's projections. A point may go to
 * its own projection only; any projection may go to any projection at cost 0.
 *
 * - Bottleneck: binary search over the candidate costs; at each radius a Hopcroft-Karp maximum
 *   matching whose neighbour queries go to a grid of cell size >= radius (L-infinity boxes), with each
 *   point removed from the grid once reached in a phase, so a phase costs about the points, not the
 *   edges (the approach of Kerber, Morozov and Nigmetov's hera, written from its description).
 * - Wasserstein: the auction algorithm (Bertsekas) with epsilon scaling, stopped once the assignment's
 *   cost is within a stated relative error of the dual lower bound that the prices certify.
 */

/** Finite points of one diagram: births, deaths and the distance to the diagonal under the ground metric. */
export interface DiagramPoints {
  birth: Float64Array;
  death: Float64Array;
  /** Distance to the diagonal: (death - birth) / 2 under L-infinity, / sqrt 2 under L2. */
  toDiagonal: Float64Array;
}

/** A matching: rowToColumn[r] in the augmented problem's numbering (see the module comment). */
export interface Assignment {
  rowToColumn: Int32Array;
}

const linf = (ax: number, ay: number, bx: number, by: number): number => Math.max(Math.abs(ax - bx), Math.abs(ay - by));

/**
 * The bottleneck distance of two sets of finite points under L-infinity and a matching that attains it.
 * Exact: the answer is one of the candidate costs (pair costs and diagonal distances). Above
 * candidateLimit pairs (their list would not fit in memory) the search bisects the float64 bit patterns
 * instead: matching only compares costs with the radius, so the smallest radius that matches is found
 * exactly in at most 64 steps.
 */
export function bottleneckMatching(a: DiagramPoints, b: DiagramPoints, candidateLimit = MAX_CANDIDATES): { distance: number; assignment: Assignment } {
  const n = a.birth.length;
  const m = b.birth.length;
  if (n + m === 0) return { distance: 0, assignment: { rowToColumn: new Int32Array(0) } };
  // Sending every point to the diagonal is always possible: costs above the largest diagonal distance never matter.
  let upper = 0;
  for (let i = 0; i < n; i++) upper = Math.max(upper, a.toDiagonal[i]);
  for (let j = 0; j < m; j++) upper = Math.max(upper, b.toDiagonal[j]);
  if (n * m > candidateLimit) return bisectBits(new BottleneckMatcher(a, b), upper);
  // The candidates: 0, the diagonal distances and the pair costs up to that bound (counted, then stored).
  let count = 1 + n + m;
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) if (linf(a.birth[i], a.death[i], b.birth[j], b.death[j]) <= upper) count++;
  const candidates = new Float64Array(count);
  let k = 0;
  candidates[k++] = 0;
  for (let i = 0; i < n; i++) candidates[k++] = a.toDiagonal[i];
  for (let j = 0; j < m; j++) candidates[k++] = b.toDiagonal[j];
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      const c = linf(a.birth[i], a.death[i], b.birth[j], b.death[j]);
      if (c <= upper) candidates[k++] = c;
    }
  // Binary search over the candidates without sorting them: test the median of those left (found by
  // selection), keep the half that can still hold the answer.
  const matcher = new BottleneckMatcher(a, b);
  let best = upper;
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    selectNth(candidates, lo, hi, mid);
    const radius = candidates[mid];
    if (matcher.perfect(radius)) {
      best = radius;
      hi = mid; // candidates[lo, mid) are <= radius; the answer is radius or below
      // Drop the copies of radius itself among them.
      let w = lo;
      for (let r = lo; r < hi; r++) if (candidates[r] < radius) candidates[w++] = candidates[r];
      hi = w;
    } else {
      let w = mid + 1;
      for (let r = mid + 1; r < hi; r++) if (candidates[r] > radius) candidates[w++] = candidates[r];
      lo = mid + 1;
      hi = w;
    }
  }
  const distance = best;
  matcher.perfect(distance);
  return { distance, assignment: { rowToColumn: matcher.matchLeft.slice() } };
}

/** Pairs beyond which the bottleneck search does not list the candidate costs (2^25 doubles: 256 MB). */
const MAX_CANDIDATES = 2 ** 25;

/** The smallest radius in [0, upper] with a perfect matching, by bisection over the bit patterns of non-negative doubles (which order like the values). */
function bisectBits(matcher: BottleneckMatcher, upper: number): { distance: number; assignment: Assignment } {
  const value = new Float64Array(1);
  const bits = new BigUint64Array(value.buffer);
  const bitsOf = (x: number): bigint => {
    value[0] = x;
    return bits[0];
  };
  const valueOf = (b: bigint): number => {
    bits[0] = b;
    return value[0];
  };
  let distance = 0;
  if (!matcher.perfect(0)) {
    let lo = bitsOf(0); // no perfect matching
    let hi = bitsOf(upper); // always one
    while (hi - lo > 1n) {
      const mid = (lo + hi) / 2n;
      if (matcher.perfect(valueOf(mid))) hi = mid;
      else lo = mid;
    }
    distance = valueOf(hi);
    matcher.perfect(distance);
  }
  return { distance, assignment: { rowToColumn: matcher.matchLeft.slice() } };
}

/**
 * Rearranges values[from, to) so that values[nth] is the value a sort would put there, with no larger
 * value before it and no smaller one after it (Hoare's selection, middle-of-three pivots).
 */
function selectNth(values: Float64Array, from: number, to: number, nth: number): void {
  let lo = from;
  let hi = to - 1;
  while (hi > lo) {
    const a = values[lo];
    const b = values[(lo + hi) >> 1];
    const c = values[hi];
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        const t = values[i];
        values[i] = values[j];
        values[j] = t;
        i++;
        j--;
      }
    }
    if (nth <= j) hi = j;
    else if (nth >= i) lo = i;
    else return;
  }
}

const UNSET = 0x7fffffff;

/**
 * Hopcroft-Karp on the augmented diagram graph at a radius, kept between radii (a smaller radius first
 * drops the matched pairs that no longer fit). Left vertices: 0..n-1 the first diagram's points,
 * n..n+m-1 the second's projections; right: 0..m-1 the second's points, m..m+n-1 the first's projections.
 */
class BottleneckMatcher {
  private readonly n: number;
  private readonly m: number;
  readonly matchLeft: Int32Array;
  private readonly matchRight: Int32Array;
  private readonly layer: Int32Array;
  /** Right vertices reached in the current phase's search (BFS), then used by its path search (DFS). */
  private readonly reached: Uint8Array;
  private readonly used: Uint8Array;
  /** Layer class of a reached right vertex: the layer of its partner, or limit + 1 when free. */
  private readonly rightClass: Int32Array;
  private radius = 0;
  private cell = 1;
  private originX = 0;
  private originY = 0;
  private readonly cellsY = 1 << 21;

  constructor(private readonly a: DiagramPoints, private readonly b: DiagramPoints) {
    this.n = a.birth.length;
    this.m = b.birth.length;
    const size = this.n + this.m;
    this.matchLeft = new Int32Array(size).fill(-1);
    this.matchRight = new Int32Array(size).fill(-1);
    this.layer = new Int32Array(size);
    this.reached = new Uint8Array(size);
    this.used = new Uint8Array(size);
    this.rightClass = new Int32Array(size);
    let minX = Infinity;
    let minY = Infinity;
    for (let j = 0; j < this.m; j++) {
      minX = Math.min(minX, b.birth[j]);
      minY = Math.min(minY, b.death[j]);
    }
    this.originX = minX;
    this.originY = minY;
  }

  /** Cost of the edge between left u and right v (Infinity: no edge). */
  private cost(u: number, v: number): number {
    const { n, m, a, b } = this;
    if (u < n) {
      if (v < m) return linf(a.birth[u], a.death[u], b.birth[v], b.death[v]);
      return v - m === u ? a.toDiagonal[u] : Infinity;
    }
    if (v >= m) return 0;
    return v === u - n ? b.toDiagonal[v] : Infinity;
  }

  /** True when a perfect matching uses only edges of cost <= radius (the matching is left in matchLeft). */
  perfect(radius: number): boolean {
    this.radius = radius;
    const size = this.n + this.m;
    for (let u = 0; u < size; u++) {
      const v = this.matchLeft[u];
      if (v !== -1 && this.cost(u, v) > radius) {
        this.matchLeft[u] = -1;
        this.matchRight[v] = -1;
      }
    }
    let spanX = 0;
    let spanY = 0;
    for (let j = 0; j < this.m; j++) {
      spanX = Math.max(spanX, this.b.birth[j] - this.originX);
      spanY = Math.max(spanY, this.b.death[j] - this.originY);
    }
    // A cell at least as wide as the radius: a box of half-width radius touches at most 3 x 3 cells.
    // (Slightly wider than the radius, so rounding in the cell index never separates two points within it by two cells.)
    this.cell = (Math.max(radius, spanX / 2 ** 20, spanY / 2 ** 20) || 1) * (1 + 2 ** -20);
    this.buildGrid();
    let matched = 0;
    for (let u = 0; u < size; u++) if (this.matchLeft[u] !== -1) matched++;
    while (matched < size) {
      const limit = this.search();
      if (limit === UNSET) return false;
      const found = this.augmentAll(limit);
      if (found === 0) return false;
      matched += found;
    }
    return true;
  }

  private cellKey(x: number, y: number): number {
    return Math.floor((x - this.originX) / this.cell) * this.cellsY + Math.floor((y - this.originY) / this.cell);
  }

  /** The second diagram's points grouped by grid cell (built per radius): cell c holds cellPoints[cellStart[c], cellStart[c + 1]). */
  private cellOf = new Map<number, number>();
  private cellStart = new Int32Array(1);
  private cellPoints = new Int32Array(0);
  /** Per search: the points of cell c not yet taken are work[cellStart[c], cellEnd[c]). */
  private work = new Int32Array(0);
  private cellEnd = new Int32Array(0);

  private buildGrid(): void {
    const m = this.m;
    const keys = new Float64Array(m);
    for (let v = 0; v < m; v++) keys[v] = this.cellKey(this.b.birth[v], this.b.death[v]);
    const order = Array.from({ length: m }, (_, v) => v).sort((x, y) => keys[x] - keys[y]);
    this.cellOf = new Map();
    const starts: number[] = [];
    order.forEach((v, k) => {
      if (k === 0 || keys[v] !== keys[order[k - 1]]) {
        this.cellOf.set(keys[v], starts.length);
        starts.push(k);
      }
    });
    starts.push(m);
    this.cellStart = Int32Array.from(starts);
    this.cellPoints = Int32Array.from(order);
    this.work = new Int32Array(m);
    this.cellEnd = new Int32Array(starts.length - 1);
  }

  /** Every point back in its cell, for the next search. */
  private resetGrid(): void {
    this.work.set(this.cellPoints);
    this.cellEnd.set(this.cellStart.subarray(1));
  }

  /**
   * Takes one point within the radius of (x, y) for which ok(v) holds, not yet taken, or returns -1.
   * Taken points are swapped out of their cell's live range as they are met.
   */
  private takeNear(x: number, y: number, taken: Uint8Array, ok: ((v: number) => boolean) | null): number {
    const cx = Math.floor((x - this.originX) / this.cell);
    const cy = Math.floor((y - this.originY) / this.cell);
    const { b, radius, work, cellEnd, cellStart } = this;
    for (let dx = -1; dx <= 1; dx++)
      for (let dy = -1; dy <= 1; dy++) {
        const cell = this.cellOf.get((cx + dx) * this.cellsY + cy + dy);
        if (cell === undefined) continue;
        for (let k = cellStart[cell]; k < cellEnd[cell]; ) {
          const v = work[k];
          if (taken[v]) {
            work[k] = work[--cellEnd[cell]];
            continue;
          }
          if (linf(x, y, b.birth[v], b.death[v]) <= radius && (ok === null || ok(v))) {
            taken[v] = 1;
            work[k] = work[--cellEnd[cell]];
            return v;
          }
          k++;
        }
      }
    return -1;
  }

  /**
   * The breadth-first layering from the free left vertices; returns the layer at which a free right
   * vertex is first reached (UNSET: none, the matching is maximum).
   */
  private search(): number {
    const { n, m, a, b, layer, reached, matchRight } = this;
    const size = n + m;
    layer.fill(UNSET);
    reached.fill(0);
    const queue = new Int32Array(size);
    let head = 0;
    let tail = 0;
    for (let u = 0; u < size; u++)
      if (this.matchLeft[u] === -1) {
        layer[u] = 0;
        queue[tail++] = u;
      }
    this.resetGrid();
    let limit = UNSET;
    let diagonalSwept = false;
    const reach = (u: number, v: number) => {
      reached[v] = 1;
      const w = matchRight[v];
      if (w === -1) limit = Math.min(limit, layer[u]);
      else if (layer[w] === UNSET) {
        layer[w] = layer[u] + 1;
        queue[tail++] = w;
      }
    };
    while (head < tail) {
      const u = queue[head++];
      if (layer[u] > limit) break;
      if (u < n) {
        const own = m + u;
        if (!reached[own] && a.toDiagonal[u] <= this.radius) reach(u, own);
        for (let v; (v = this.takeNear(a.birth[u], a.death[u], reached, null)) !== -1; ) reach(u, v);
      } else {
        const own = u - n;
        if (!reached[own] && b.toDiagonal[own] <= this.radius) reach(u, own);
        // A projection reaches every projection of the first diagram (cost 0): all of them at once.
        if (!diagonalSwept) {
          diagonalSwept = true;
          for (let v = m; v < size; v++) if (!reached[v]) reach(u, v);
        }
      }
    }
    if (limit === UNSET) return UNSET;
    for (let v = 0; v < size; v++) this.rightClass[v] = !reached[v] ? -1 : matchRight[v] === -1 ? limit + 1 : layer[matchRight[v]];
    return limit;
  }

  /** Vertex-disjoint shortest augmenting paths along the layering (depth first, each right vertex tried once); returns how many. */
  private augmentAll(limit: number): number {
    const { n, m, a, b, layer, used, rightClass, matchLeft, matchRight } = this;
    const size = n + m;
    used.fill(0);
    this.resetGrid();
    // Projections of the first diagram by class, for the second diagram's projections to take.
    const projections: number[][] = [];
    for (let v = m; v < size; v++) {
      const c = rightClass[v];
      if (c < 0) continue;
      while (projections.length <= c) projections.push([]);
      projections[c].push(v);
    }
    const next = (u: number): number => {
      const c = layer[u] + 1;
      if (c > limit + 1) return -1;
      const fits = (v: number) => rightClass[v] === c;
      if (u < n) {
        const own = m + u;
        if (!used[own] && fits(own) && a.toDiagonal[u] <= this.radius) {
          used[own] = 1;
          return own;
        }
        return this.takeNear(a.birth[u], a.death[u], used, fits);
      }
      const own = u - n;
      if (!used[own] && fits(own) && b.toDiagonal[own] <= this.radius) {
        used[own] = 1;
        return own;
      }
      const list = projections[c];
      while (list && list.length > 0) {
        const v = list.pop()!;
        if (!used[v]) {
          used[v] = 1;
          return v;
        }
      }
      return -1;
    };
    const stackU = new Int32Array(limit + 2);
    const stackV = new Int32Array(limit + 2);
    let found = 0;
    for (let u0 = 0; u0 < size; u0++) {
      if (matchLeft[u0] !== -1 || layer[u0] !== 0) continue;
      let top = 0;
      stackU[0] = u0;
      while (top >= 0) {
        const u = stackU[top];
        const v = next(u);
        if (v === -1) {
          layer[u] = UNSET; // dead for this phase
          top--;
          continue;
        }
        stackV[top] = v;
        const w = matchRight[v];
        if (w === -1) {
          for (let k = top; k >= 0; k--) {
            matchRight[stackV[k]] = stackU[k];
            matchLeft[stackU[k]] = stackV[k];
          }
          found++;
          break;
        }
        stackU[++top] = w;
      }
    }
    return found;
  }
}

export interface AuctionOptions {
  /** Power q of the cost (W_q). */
  order: number;
  /** Ground metric between two points. */
  ground: "linf" | "l2";
  /** Stop once the assignment's cost is certified within this relative error of the optimum (0: to the optimum, up to round-off). */
  relativeError: number;
}

/** Phases divide epsilon by this factor. */
const EPSILON_FACTOR = 5;
/** Smallest epsilon relative to the prices (float64 keeps about 16 digits). */
const ROUND_OFF = 1e-12;

/**
 * Minimum-cost assignment of the augmented problem by the auction algorithm with epsilon scaling. The
 * prices give a dual lower bound LB = sum over rows of min (cost + price) - sum of prices <= optimum, so
 * stopping when cost <= (1 + relativeError) LB bounds the error; independently, once n epsilon is below
 * relativeError times the smallest positive cost, an epsilon-optimal assignment is within that error
 * (cost <= optimum + N epsilon, and a positive optimum is at least the smallest positive cost). Epsilon
 * never goes below 1e-12 of the largest price, where raises would be lost to round-off (relativeError 0
 * stops there).
 */
export function auctionAssignment(a: DiagramPoints, b: DiagramPoints, options: AuctionOptions): { cost: number; assignment: Assignment } {
  const n = a.birth.length;
  const m = b.birth.length;
  const size = n + m;
  const q = options.order;
  const power = q === 1 ? (x: number) => x : q === 2 ? (x: number) => x * x : (x: number) => x ** q;
  const diagA = Float64Array.from(a.toDiagonal, power);
  const diagB = Float64Array.from(b.toDiagonal, power);
  const ground = options.ground === "linf" ? linf : (ax: number, ay: number, bx: number, by: number) => Math.hypot(ax - bx, ay - by);
  const pairCost = (i: number, j: number) => power(ground(a.birth[i], a.death[i], b.birth[j], b.death[j]));
  let largest = 0;
  let smallestPositive = Infinity;
  const note = (c: number) => {
    if (c > largest) largest = c;
    if (c > 0 && c < smallestPositive) smallestPositive = c;
  };
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) note(pairCost(i, j));
  diagA.forEach(note);
  diagB.forEach(note);
  const rowToColumn = new Int32Array(size).fill(-1);
  if (size === 0 || largest === 0) {
    // Every allowed cost is 0: any feasible assignment is optimal (each point to its nearest allowed partner).
    return { cost: 0, assignment: { rowToColumn: identityAssignment(n, m) } };
  }
  const price = new Float64Array(size);
  const projectionPrices = new PriceHeap(price, m, n);
  const points = new PricedTree(b, price, options.ground, power);
  const owner = new Int32Array(size);
  const queue = new Int32Array(size);
  const total = () => {
    let s = 0;
    for (let r = 0; r < size; r++) s += costOf(r, rowToColumn[r]);
    return s;
  };
  const costOf = (r: number, c: number): number => {
    if (r < n) return c < m ? pairCost(r, c) : diagA[r];
    return c < m ? diagB[c] : 0;
  };
  const lowerBound = (): number => {
    let s = 0;
    for (let r = 0; r < size; r++) {
      let best = Infinity;
      if (r < n) {
        points.query(a.birth[r], a.death[r], diagA[r] + price[m + r], m + r);
        best = points.bestValue;
      } else {
        best = diagB[r - n] + price[r - n];
        for (let c = m; c < size; c++) best = Math.min(best, price[c]);
      }
      s += best;
    }
    for (let c = 0; c < size; c++) s -= price[c];
    return s;
  };
  const delta = options.relativeError;
  let epsilon = largest / 4;
  for (;;) {
    rowToColumn.fill(-1);
    owner.fill(-1);
    let head = 0;
    let tail = 0;
    for (let r = 0; r < size; r++) queue[tail++ % size] = r;
    let pending = size;
    while (pending > 0) {
      const r = queue[head++ % size];
      pending--;
      // Best and second best column for row r by cost + price.
      let best = -1;
      let bestValue = Infinity;
      let second = Infinity;
      if (r < n) {
        // Its own projection first (a good bound), then the second diagram's points from the priced tree.
        points.query(a.birth[r], a.death[r], diagA[r] + price[m + r], m + r);
        best = points.best;
        bestValue = points.bestValue;
        second = points.second;
      } else {
        best = r - n;
        bestValue = diagB[r - n] + price[r - n];
        // The projections cost 0: the two cheapest come from the price heap (the top and its smaller child).
        for (let k = 0; k < 3 && k < n; k++) {
          const c = projectionPrices.at(k);
          const value = price[c];
          if (value < bestValue) {
            second = bestValue;
            bestValue = value;
            best = c;
          } else if (value < second) second = value;
        }
      }
      // A row with one allowed column never competes for another: any raise keeps it there.
      const raise = second === Infinity ? epsilon : second - bestValue + epsilon;
      price[best] += raise;
      if (best >= m) projectionPrices.raised(best);
      else points.raised(best);
      const previous = owner[best];
      owner[best] = r;
      rowToColumn[r] = best;
      if (previous !== -1) {
        rowToColumn[previous] = -1;
        queue[tail++ % size] = previous;
        pending++;
      }
    }
    const cost = total();
    if (cost === 0) break;
    if (delta > 0 && cost <= (1 + delta) * lowerBound()) break;
    if (size * epsilon < delta * smallestPositive) break;
    // Below about 1e-12 of the prices a raise would vanish in round-off: that is the optimum up to round-off.
    let highest = largest;
    for (let c = 0; c < size; c++) highest = Math.max(highest, Math.abs(price[c]));
    if (epsilon / EPSILON_FACTOR < ROUND_OFF * highest) break;
    epsilon /= EPSILON_FACTOR;
  }
  return { cost: total(), assignment: { rowToColumn } };
}

/** Points per leaf of the priced tree. */
const LEAF_SIZE = 8;

/**
 * A kd-tree over the second diagram's points whose nodes also hold the lowest price below them, so the
 * two columns of least cost + price for a bidder are found by branch and bound: a node is skipped when
 * (distance to its box)^q + its lowest price cannot beat the second best so far. Prices only rise; a
 * raise updates the lowest prices on one leaf-to-root path.
 */
class PricedTree {
  private readonly order: Int32Array;
  private readonly start: number[] = [];
  private readonly end: number[] = [];
  private readonly childA: number[] = [];
  private readonly childB: number[] = [];
  private readonly parent: number[] = [];
  /** Per node: minX, maxX, minY, maxY. */
  private box = new Float64Array(64);
  private readonly lowest: number[] = [];
  private readonly leafOf: Int32Array;
  private readonly stack: number[] = [];
  best = -1;
  bestValue = Infinity;
  second = Infinity;

  constructor(private readonly b: DiagramPoints, private readonly price: Float64Array, private readonly ground: "linf" | "l2", private readonly power: (x: number) => number) {
    const m = b.birth.length;
    this.order = Int32Array.from({ length: m }, (_, k) => k);
    this.leafOf = new Int32Array(m);
    if (m > 0) this.build(0, m, -1);
  }

  private build(from: number, to: number, parent: number): number {
    const node = this.start.length;
    const { birth, death } = this.b;
    let minX = Infinity;
    let maxX = -Infinity;
    let minY = Infinity;
    let maxY = -Infinity;
    for (let k = from; k < to; k++) {
      const j = this.order[k];
      minX = Math.min(minX, birth[j]);
      maxX = Math.max(maxX, birth[j]);
      minY = Math.min(minY, death[j]);
      maxY = Math.max(maxY, death[j]);
    }
    this.start.push(from);
    this.end.push(to);
    this.childA.push(-1);
    this.childB.push(-1);
    this.parent.push(parent);
    if (this.box.length < 4 * (node + 1)) {
      const grown = new Float64Array(this.box.length * 2);
      grown.set(this.box);
      this.box = grown;
    }
    this.box.set([minX, maxX, minY, maxY], 4 * node);
    this.lowest.push(0);
    if (to - from <= LEAF_SIZE) {
      for (let k = from; k < to; k++) this.leafOf[this.order[k]] = node;
      return node;
    }
    // Split the wider side at the median.
    const key = maxX - minX >= maxY - minY ? birth : death;
    const part = Array.from(this.order.subarray(from, to)).sort((x, y) => key[x] - key[y]);
    this.order.set(part, from);
    const mid = (from + to) >> 1;
    this.childA[node] = this.build(from, mid, node);
    this.childB[node] = this.build(mid, to, node);
    return node;
  }

  /** Lowest cost from (x, y) to any point in a node's box. */
  private boxCost(node: number, x: number, y: number): number {
    const box = this.box;
    const dx = Math.max(box[4 * node] - x, 0, x - box[4 * node + 1]);
    const dy = Math.max(box[4 * node + 2] - y, 0, y - box[4 * node + 3]);
    return this.power(this.ground === "linf" ? Math.max(dx, dy) : Math.hypot(dx, dy));
  }

  /** After the price of column j rose: the lowest prices on its leaf-to-root path. */
  raised(j: number): void {
    for (let node = this.leafOf[j]; node !== -1; node = this.parent[node]) {
      let low = Infinity;
      if (this.childA[node] === -1) for (let k = this.start[node]; k < this.end[node]; k++) low = Math.min(low, this.price[this.order[k]]);
      else low = Math.min(this.lowest[this.childA[node]], this.lowest[this.childB[node]]);
      if (low === this.lowest[node]) break;
      this.lowest[node] = low;
    }
  }

  /**
   * The two least values of cost + price from (x, y), starting from one outside candidate (column
   * `column` of value `value`): leaves best, bestValue and second.
   */
  query(x: number, y: number, value: number, column: number): void {
    this.best = column;
    this.bestValue = value;
    this.second = Infinity;
    if (this.start.length === 0) return;
    const { stack, price, order, b } = this;
    stack.length = 0;
    stack.push(0);
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (this.boxCost(node, x, y) + this.lowest[node] >= this.second) continue;
      const childA = this.childA[node];
      if (childA === -1) {
        for (let k = this.start[node]; k < this.end[node]; k++) {
          const j = order[k];
          const v = this.power(this.ground === "linf" ? linf(x, y, b.birth[j], b.death[j]) : Math.hypot(x - b.birth[j], y - b.death[j])) + price[j];
          if (v < this.second) {
            if (v < this.bestValue) {
              this.second = this.bestValue;
              this.bestValue = v;
              this.best = j;
            } else this.second = v;
          }
        }
        continue;
      }
      // The nearer child last, so it is searched first.
      const childB = this.childB[node];
      if (this.boxCost(childA, x, y) + this.lowest[childA] <= this.boxCost(childB, x, y) + this.lowest[childB]) stack.push(childB, childA);
      else stack.push(childA, childB);
    }
  }
}

/**
 * A binary min-heap of the columns first..first+count-1 by price, where prices only rise. at(0) is the
 * cheapest column; at(1) and at(2) (its children) hold the second cheapest, so three reads give the two
 * cheapest.
 */
class PriceHeap {
  private readonly heap: Int32Array;
  private readonly position: Int32Array;

  constructor(private readonly price: Float64Array, private readonly first: number, count: number) {
    this.heap = Int32Array.from({ length: count }, (_, k) => first + k);
    this.position = Int32Array.from({ length: count }, (_, k) => k);
  }

  at(k: number): number {
    return this.heap[k];
  }

  /** Restores the heap after the price of column c rose. */
  raised(c: number): void {
    const { heap, position, price, first } = this;
    const count = heap.length;
    let i = position[c - first];
    const p = price[c];
    for (;;) {
      let child = 2 * i + 1;
      if (child >= count) break;
      if (child + 1 < count && price[heap[child + 1]] < price[heap[child]]) child++;
      if (price[heap[child]] >= p) break;
      heap[i] = heap[child];
      position[heap[i] - first] = i;
      i = child;
    }
    heap[i] = c;
    position[c - first] = i;
  }
}

/** Each point to its own projection, projections to projections: the assignment when every cost is 0. */
function identityAssignment(n: number, m: number): Int32Array {
  const out = new Int32Array(n + m);
  for (let i = 0; i < n; i++) out[i] = m + i;
  for (let j = 0; j < m; j++) out[n + j] = j;
  return out;
}
