/**
 * Worker threads for the independent part of the engine: building the next dimension's columns
 * (cofacet enumeration, clearing and apparent-pair tests) is split into chunks of simplices. The
 * distance matrix is shared (SharedArrayBuffer); the calling thread computes one chunk itself and then
 * blocks on Atomics.wait, so persistence() stays synchronous. Workers load the engine module by its
 * resolved path, which is engine.js under dist/ and engine.ts under tsx (workers inherit the loader).
 */
import * as os from "os";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "worker_threads";
import { assembleNextColumns, RipsComplex, type NextColumns } from "./engine";
import { IndexMap, SimplexList } from "./structures";

/** Chunk work (simplices x vertices scanned) below which a thread costs more to start than it saves. */
const MIN_PARALLEL_WORK = 1_000_000;
/** A worker that has not started after this long is given up and its chunk computed here. */
const START_TIMEOUT_MS = 20_000;

const WORKER_SOURCE = `
const { workerData } = require("worker_threads");
const { status, slot, port } = workerData;
Atomics.store(status, slot, 1);
try {
  // Under tsx (tests, benchmarks) the engine is TypeScript: load it through tsx's CommonJS hook.
  if (workerData.tsx) require(workerData.tsx).register();
  const { runChunk } = require(workerData.module);
  const out = runChunk(workerData);
  port.postMessage({ out }, [out.next.diam.buffer, out.next.index.buffer, out.nextColumns.diam.buffer, out.nextColumns.index.buffer]);
  Atomics.store(status, slot, 2);
} catch (e) {
  port.postMessage({ error: String(e && e.stack || e) });
  Atomics.store(status, slot, 3);
}
Atomics.notify(status, slot);
`;

interface ChunkJob {
  distances: Float32Array;
  n: number;
  maxDim: number;
  threshold: number;
  diam: Float32Array;
  index: Float64Array;
  dim: number;
  pivotKeys: Float64Array;
  keepSimplices: boolean;
}

interface ChunkResult {
  next: { diam: Float32Array; index: Float64Array; length: number };
  nextColumns: { diam: Float32Array; index: Float64Array; length: number };
  apparent: number;
}

/** Worker side: one chunk from plain data. */
export function runChunk(job: ChunkJob): ChunkResult {
  const complex = new RipsComplex(job.distances, job.n, job.maxDim, job.threshold);
  const pivots = new IndexMap(job.pivotKeys.length);
  for (const k of job.pivotKeys) pivots.set(k, 0);
  const simplices = SimplexList.of(job.diam, job.index);
  const r = assembleNextColumns(complex, simplices, 0, simplices.length, job.dim, pivots, job.keepSimplices);
  const plain = (l: SimplexList) => ({ diam: l.diam.slice(0, l.length), index: l.index.slice(0, l.length), length: l.length });
  return { next: plain(r.next), nextColumns: plain(r.nextColumns), apparent: r.apparent };
}

/** Threads available for the engine besides the calling one (default: cores - 1). */
export function defaultWorkers(): number {
  const cores = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  return Math.max(0, cores - 1);
}

/** A float32 distance matrix in shared memory, so workers read it without copies. */
export function sharedDistances(values: Float32Array): Float32Array {
  const shared = new Float32Array(new SharedArrayBuffer(values.byteLength));
  shared.set(values);
  return shared;
}

/**
 * The `assemble` hook of the engine, splitting the work over `workers` threads plus the caller.
 * `distances` must be shared (sharedDistances); counts.workerChunks counts the chunks workers returned.
 */
export function parallelAssembler(distances: Float32Array, maxDim: number, workers: number, counts = { workerChunks: 0 }) {
  return (complex: RipsComplex, simplices: SimplexList, dim: number, pivots: IndexMap, keepSimplices: boolean): NextColumns => {
    const chunks = Math.min(workers + 1, Math.floor((simplices.length * complex.cofacetScan) / MIN_PARALLEL_WORK));
    if (chunks < 2) return assembleNextColumns(complex, simplices, 0, simplices.length, dim, pivots, keepSimplices);
    const bounds = Array.from({ length: chunks + 1 }, (_, c) => Math.floor((c * simplices.length) / chunks));
    const status = new Int32Array(new SharedArrayBuffer(4 * chunks));
    const pivotKeys = pivots.keyList();
    const started: { worker: Worker; port: MessagePort }[] = [];
    for (let c = 1; c < chunks; c++) {
      const { port1, port2 } = new MessageChannel();
      const job: ChunkJob & { status: Int32Array; slot: number; port: MessagePort; module: string; tsx: string | null } = {
        distances,
        n: complex.n,
        maxDim,
        threshold: complex.threshold,
        diam: simplices.diam.slice(bounds[c], bounds[c + 1]),
        index: simplices.index.slice(bounds[c], bounds[c + 1]),
        dim,
        pivotKeys,
        keepSimplices,
        status,
        slot: c,
        port: port2,
        module: __filename,
        tsx: __filename.endsWith(".ts") ? require.resolve("tsx/cjs/api") : null,
      };
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: job, transferList: [port2] });
      worker.unref();
      started.push({ worker, port: port1 });
    }
    const parts: NextColumns[] = [assembleNextColumns(complex, simplices, bounds[0], bounds[1], dim, pivots, keepSimplices)];
    started.forEach(({ worker, port }, k) => {
      const c = k + 1;
      const deadline = Date.now() + START_TIMEOUT_MS;
      while (Atomics.load(status, c) < 2) {
        if (Atomics.load(status, c) === 0 && Date.now() > deadline) break;
        Atomics.wait(status, c, Atomics.load(status, c), 100);
      }
      const message = Atomics.load(status, c) >= 2 ? receiveMessageOnPort(port)?.message : undefined;
      void worker.terminate();
      port.close();
      // A worker that could not start or failed leaves its chunk to this thread: same result, slower.
      if (!message || message.error) {
        parts.push(assembleNextColumns(complex, simplices, bounds[c], bounds[c + 1], dim, pivots, keepSimplices));
        return;
      }
      counts.workerChunks++;
      const out = message.out as ChunkResult;
      parts.push({ next: SimplexList.of(out.next.diam, out.next.index, out.next.length), nextColumns: SimplexList.of(out.nextColumns.diam, out.nextColumns.index, out.nextColumns.length), apparent: out.apparent });
    });
    const merged: NextColumns = { next: new SimplexList(16), nextColumns: new SimplexList(16), apparent: 0 };
    for (const p of parts) {
      if (keepSimplices) merged.next.append(p.next);
      merged.nextColumns.append(p.nextColumns);
      merged.apparent += p.apparent;
    }
    return merged;
  };
}
