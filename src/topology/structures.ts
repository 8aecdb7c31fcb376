/**
 * Typed-array building blocks of the persistence engine: a growable list of (diameter, index)
 * simplices, a min-heap working column, an open-addressing map from simplex index to column, and the
 * filtration sort. No per-simplex objects: simplex indices are exact integers below 2^53 in doubles.
 */

/** Simplices as parallel arrays: diameter (float32) and combinatorial index (integer in a double). */
export class SimplexList {
  diam: Float32Array;
  index: Float64Array;
  length = 0;

  constructor(capacity = 1024) {
    this.diam = new Float32Array(Math.max(16, capacity));
    this.index = new Float64Array(Math.max(16, capacity));
  }

  /** A list over existing arrays (e.g. received from a worker thread). */
  static of(diam: Float32Array, index: Float64Array, length = diam.length): SimplexList {
    const list = new SimplexList(16);
    list.diam = diam;
    list.index = index;
    list.length = length;
    return list;
  }

  /** Appends every entry of another list. */
  append(other: SimplexList): void {
    for (let i = 0; i < other.length; i++) this.push(other.diam[i], other.index[i]);
  }

  push(diam: number, index: number): void {
    if (this.length === this.diam.length) this.grow();
    this.diam[this.length] = diam;
    this.index[this.length] = index;
    this.length++;
  }

  clear(): void {
    this.length = 0;
  }

  private grow(): void {
    const capacity = this.diam.length * 2;
    const d = new Float32Array(capacity);
    d.set(this.diam);
    const x = new Float64Array(capacity);
    x.set(this.index);
    this.diam = d;
    this.index = x;
  }

  /** Sorts into filtration order: diameter ascending, ties by index descending. */
  sortFiltration(): void {
    filtrationSort(this.diam, this.index, this.length);
  }

  /** Reverses the order in place (filtration order -> the order cohomology reduces its columns in). */
  reverse(): void {
    for (let i = 0, j = this.length - 1; i < j; i++, j--) {
      const d = this.diam[i];
      this.diam[i] = this.diam[j];
      this.diam[j] = d;
      const x = this.index[i];
      this.index[i] = this.index[j];
      this.index[j] = x;
    }
  }

  bytes(): number {
    return this.diam.byteLength + this.index.byteLength;
  }
}

/** A binary min-heap of simplices in filtration order (smallest diameter, ties: largest index). */
class FiltrationHeap {
  private diam = new Float32Array(256);
  private index = new Float64Array(256);
  size = 0;
  /** Set by pop(): the entry removed. */
  topDiam = 0;
  topIndex = -1;

  get peekIndex(): number {
    return this.index[0];
  }

  push(diam: number, index: number): void {
    if (this.size === this.diam.length) {
      const d = new Float32Array(this.size * 2);
      d.set(this.diam);
      const x = new Float64Array(this.size * 2);
      x.set(this.index);
      this.diam = d;
      this.index = x;
    }
    const D = this.diam;
    const X = this.index;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pd = D[p];
      if (pd < diam || (pd === diam && X[p] > index)) break;
      D[i] = pd;
      X[i] = X[p];
      i = p;
    }
    D[i] = diam;
    X[i] = index;
  }

  /** Removes the top; its values are left in topDiam/topIndex. */
  pop(): void {
    const D = this.diam;
    const X = this.index;
    this.topDiam = D[0];
    this.topIndex = X[0];
    const n = --this.size;
    if (n === 0) return;
    const d = D[n];
    const x = X[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const r = c + 1;
      if (r < n && (D[r] < D[c] || (D[r] === D[c] && X[r] > X[c]))) c = r;
      if (d < D[c] || (d === D[c] && x > X[c])) break;
      D[i] = D[c];
      X[i] = X[c];
      i = c;
    }
    D[i] = d;
    X[i] = x;
  }
}

const float32 = new Float32Array(1);
const float32Bits = new Uint32Array(float32.buffer);

/**
 * The working column of a reduction: a priority queue whose top is the oldest simplex in the
 * filtration (smallest diameter, ties: largest index). Coefficients are Z/2, so equal entries cancel
 * when the pivot is popped.
 *
 * Long reductions grow a column to millions of entries of which only those near the pivot are ever
 * popped, and the pivot only moves forward: a radix heap on the float32 bits of the diameter (which
 * order like the values for non-negative floats). Entries go to bucket b when their bits first
 * differ from the last popped diameter's at bit b - 1; only the entries of the last popped diameter
 * form a heap (by index); a bucket is split into lower ones when it holds the oldest entries.
 * Pushes are appends and pops touch few entries. An entry older than the last popped diameter
 * (it cancels within the column being added) waits in a small heap of its own.
 */
export class WorkingColumn {
  /** Entries of the last popped diameter. */
  private readonly current = new FiltrationHeap();
  /** Entries older than the last popped diameter. */
  private readonly older = new FiltrationHeap();
  private readonly buckets = Array.from({ length: 33 }, () => new SimplexList(16));
  private lastDiam = 0;
  private lastBits = 0;
  size = 0;
  /** Set by popPivot()/pivot(): the pivot found (index -1 when the column is zero). */
  pivotDiam = 0;
  pivotIndex = -1;

  clear(): void {
    this.current.size = 0;
    this.older.size = 0;
    for (const b of this.buckets) b.clear();
    this.lastDiam = 0;
    this.lastBits = 0;
    this.size = 0;
  }

  push(diam: number, index: number): void {
    this.size++;
    if (diam < this.lastDiam) {
      this.older.push(diam, index);
      return;
    }
    float32[0] = diam;
    const b = 32 - Math.clz32(float32Bits[0] ^ this.lastBits);
    if (b === 0) this.current.push(diam, index);
    else this.buckets[b].push(diam, index);
  }

  /** With entries left, makes the oldest one the top of `older` or `current`. */
  private settle(): void {
    if (this.older.size > 0 || this.current.size > 0) return;
    let b = 1;
    while (this.buckets[b].length === 0) b++;
    const bucket = this.buckets[b];
    const D = bucket.diam;
    const X = bucket.index;
    let min = D[0];
    for (let i = 1; i < bucket.length; i++) if (D[i] < min) min = D[i];
    this.lastDiam = min;
    float32[0] = min;
    this.lastBits = float32Bits[0];
    for (let i = 0; i < bucket.length; i++) {
      float32[0] = D[i];
      const to = 32 - Math.clz32(float32Bits[0] ^ this.lastBits);
      if (to === 0) this.current.push(D[i], X[i]);
      else this.buckets[to].push(D[i], X[i]);
    }
    bucket.clear();
  }

  /** Removes the oldest entry; its values are left in topDiam/topIndex. */
  private pop(): void {
    this.settle();
    const heap = this.older.size > 0 ? this.older : this.current;
    heap.pop();
    this.topDiam = heap.topDiam;
    this.topIndex = heap.topIndex;
    this.size--;
  }

  private topDiam = 0;
  private topIndex = -1;

  /** Pops the pivot (cancelling pairs of equal entries); false when the column is zero. */
  popPivot(): boolean {
    while (this.size > 0) {
      this.pop();
      const x = this.topIndex;
      if (this.size > 0) {
        this.settle();
        if ((this.older.size > 0 ? this.older : this.current).peekIndex === x) {
          this.pop();
          continue;
        }
      }
      this.pivotDiam = this.topDiam;
      this.pivotIndex = x;
      return true;
    }
    this.pivotIndex = -1;
    return false;
  }

  /** The pivot without removing it. */
  pivot(): boolean {
    if (!this.popPivot()) return false;
    this.push(this.pivotDiam, this.pivotIndex);
    return true;
  }
}

/** Open-addressing hash map from a simplex index (integer < 2^53) to a non-negative int32. */
export class IndexMap {
  private keys: Float64Array;
  private values: Int32Array;
  private mask: number;
  size = 0;

  constructor(expected = 1024) {
    let capacity = 1024;
    while (capacity < expected * 2) capacity *= 2;
    this.keys = new Float64Array(capacity).fill(-1);
    this.values = new Int32Array(capacity);
    this.mask = capacity - 1;
  }

  private slot(key: number): number {
    const lo = key >>> 0;
    const hi = (key / 4294967296) >>> 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x27d4eb2d), 0x9e3779b1);
    h ^= h >>> 15;
    return h & this.mask;
  }

  /** The value stored for key, or -1. */
  get(key: number): number {
    const K = this.keys;
    for (let s = this.slot(key); ; s = (s + 1) & this.mask) {
      const k = K[s];
      if (k === key) return this.values[s];
      if (k === -1) return -1;
    }
  }

  has(key: number): boolean {
    return this.get(key) !== -1;
  }

  set(key: number, value: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.rehash();
    const K = this.keys;
    for (let s = this.slot(key); ; s = (s + 1) & this.mask) {
      const k = K[s];
      if (k === key) {
        this.values[s] = value;
        return;
      }
      if (k === -1) {
        K[s] = key;
        this.values[s] = value;
        this.size++;
        return;
      }
    }
  }

  bytes(): number {
    return this.keys.byteLength + this.values.byteLength;
  }

  /** The keys stored, in no particular order. */
  keyList(): Float64Array {
    return this.keys.filter((k) => k !== -1);
  }

  private rehash(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    this.keys = new Float64Array(oldKeys.length * 2).fill(-1);
    this.values = new Int32Array(oldKeys.length * 2);
    this.mask = this.keys.length - 1;
    this.size = 0;
    for (let s = 0; s < oldKeys.length; s++) if (oldKeys[s] !== -1) this.set(oldKeys[s], oldValues[s]);
  }
}

/**
 * Sorts (diam, index) pairs into filtration order: diameter ascending, ties by index descending.
 * A stable LSD radix sort on bytes: first the bytes of the complemented index that vary (an index below
 * 2^20 needs three), then the four bytes of the float32 diameter bits (which order like the values for
 * non-negative floats); bytes on which every key agrees are skipped. Small inputs use insertion sort.
 */
export function filtrationSort(diam: Float32Array, index: Float64Array, count: number): void {
  if (count < 2) return;
  if (count <= 32) {
    for (let i = 1; i < count; i++) {
      const d = diam[i];
      const x = index[i];
      let j = i - 1;
      while (j >= 0 && (diam[j] > d || (diam[j] === d && index[j] < x))) {
        diam[j + 1] = diam[j];
        index[j + 1] = index[j];
        j--;
      }
      diam[j + 1] = d;
      index[j + 1] = x;
    }
    return;
  }
  let maxIndex = 0;
  for (let i = 0; i < count; i++) if (index[i] > maxIndex) maxIndex = index[i];
  const indexBytes = Math.ceil(Math.log2(maxIndex + 1) / 8);
  let srcD = diam.slice(0, count);
  let srcX = index.slice(0, count);
  let dstD = new Float32Array(count);
  let dstX = new Float64Array(count);
  // Keys of the current pass, one byte each.
  const key = new Uint8Array(count);
  const counts = new Int32Array(256);
  for (let pass = 0; pass < indexBytes + 4; pass++) {
    if (pass < indexBytes) {
      // Index descending: sort on the bytes of maxIndex - index, low byte first.
      const scale = 2 ** (8 * pass);
      for (let i = 0; i < count; i++) key[i] = Math.floor((maxIndex - srcX[i]) / scale) & 255;
    } else {
      const bits = new Uint32Array(srcD.buffer, srcD.byteOffset, count);
      const shift = 8 * (pass - indexBytes);
      for (let i = 0; i < count; i++) key[i] = (bits[i] >>> shift) & 255;
    }
    counts.fill(0);
    for (let i = 0; i < count; i++) counts[key[i]]++;
    if (counts[key[0]] === count) continue; // every key has the same byte
    let sum = 0;
    for (let v = 0; v < 256; v++) {
      const c = counts[v];
      counts[v] = sum;
      sum += c;
    }
    for (let i = 0; i < count; i++) {
      const p = counts[key[i]]++;
      dstD[p] = srcD[i];
      dstX[p] = srcX[i];
    }
    [srcD, dstD] = [dstD, srcD];
    [srcX, dstX] = [dstX, srcX];
  }
  diam.set(srcD);
  index.set(srcX);
}

/** Union-find with path halving and union by rank. */
export class DisjointSets {
  private readonly parent: Int32Array;
  private readonly rank: Uint8Array;
  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
    this.rank = new Uint8Array(n);
  }
  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]];
      x = p[x];
    }
    return x;
  }
  /** Joins the sets of two roots. */
  union(a: number, b: number): void {
    if (this.rank[a] < this.rank[b]) this.parent[a] = b;
    else if (this.rank[a] > this.rank[b]) this.parent[b] = a;
    else {
      this.parent[b] = a;
      this.rank[a]++;
    }
  }
}
