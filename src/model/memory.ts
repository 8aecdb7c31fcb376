/**
 * Peak-memory estimates, checked before a call allocates: a request the backend cannot hold fails with a
 * MemoryError that names a batch size that fits, instead of aborting the wasm heap (which kills the backend) or
 * the process. Estimates are upper bounds calibrated with tf.profile's peakBytes (test/model/memory.test.ts).
 */
import * as os from "os";
import * as v8 from "v8";
import * as tf from "@tensorflow/tfjs";
import { BackendError, MemoryError, WeightscopeError } from "../errors";
import { ready } from "../backend";
import type { ModelView } from "./view";

/**
 * The wasm backend's heap cannot grow past 4 GiB - 64 KiB (emscripten's getHeapMax in tfjs-backend-wasm 4.22);
 * allocation past it aborts the module and every later TF.js call on that backend fails.
 */
export const WASM_HEAP_MAX_BYTES = 4294901760;
/** Share of a heap a request may plan to use: malloc fragmentation and the caller's own tensors need the rest. */
const USABLE_SHARE = 0.75;
/** Bytes per float32. */
const FLOAT = 4;
/**
 * Live floats of a forward + backward pass per float of layer work counted by `sampleFloats`, measured with
 * tf.profile's peakBytes: about 2.4 for Dense layers (input and output of each) and 5.4-5.6 for the windowed
 * convolution and pooling (taps and per-offset products); rounded up so the estimate stays an upper bound.
 */
const DENSE_FACTOR = 3;
const WINDOW_FACTOR = 7;

const MB = 1024 * 1024;
export function formatMB(bytes: number): string {
  return bytes >= 10 * MB ? `${Math.round(bytes / MB)} MB` : `${(bytes / MB).toFixed(1)} MB`;
}

/** Bytes the current backend can still give one request (its heap limit less what live tensors hold). */
export function availableBytes(backend = tf.getBackend()): { bytes: number; limit: string } {
  const inUse = tf.memory().numBytes;
  if (backend === "wasm") {
    return { bytes: Math.max(0, WASM_HEAP_MAX_BYTES * USABLE_SHARE - inUse), limit: `the wasm backend's heap holds at most ${formatMB(WASM_HEAP_MAX_BYTES)}, ${formatMB(inUse)} in use` };
  }
  // cpu-like backends keep tensors in ArrayBuffers outside the V8 heap: the machine's free memory bounds them.
  const machine = Math.min(os.totalmem() * USABLE_SHARE, os.freemem());
  return { bytes: Math.max(0, machine - inUse), limit: `this machine has ${formatMB(os.freemem())} of memory free (${formatMB(os.totalmem())} in all), ${formatMB(inUse)} in tensors` };
}

/** Bytes V8's own heap (plain JS arrays and objects) can still take. */
export function availableHeapBytes(): number {
  const stats = v8.getHeapStatistics();
  return Math.max(0, (stats.heap_size_limit - stats.used_heap_size) * USABLE_SHARE);
}

/**
 * Floats a training step keeps alive per sample: each layer's input and output, and for the windowed convolution
 * and pooling their kh*kw taps of the input and per-offset products, each weighted by its measured factor.
 */
export function sampleFloats(view: ModelView): number {
  let shape = view.inputShape.map((d) => Math.max(1, d));
  const size = () => shape.reduce((a, b) => a * b, 1);
  let floats = DENSE_FACTOR * size();
  for (const block of view.blocks) {
    if (block.kind === "dense") {
      floats += DENSE_FACTOR * (size() + block.units);
      shape = [block.units];
    } else if (block.kind === "conv2d" || block.kind === "maxPool" || block.kind === "avgPool") {
      const [h, w, c] = shape;
      const [kh, kw] = block.kind === "conv2d" ? block.kernelSize : block.poolSize;
      const [sh, sw] = block.strides;
      const [dh, dw] = block.kind === "conv2d" ? block.dilation : [1, 1];
      const outH = block.padding === "same" ? Math.ceil(h / sh) : Math.max(1, Math.ceil((h - (kh - 1) * dh) / sh));
      const outW = block.padding === "same" ? Math.ceil(w / sw) : Math.max(1, Math.ceil((w - (kw - 1) * dw) / sw));
      const outC = block.kind === "conv2d" ? block.filters : c;
      const padded = (h + kh) * (w + kw) * c;
      floats += WINDOW_FACTOR * (padded + kh * kw * outH * outW * (c + outC));
      shape = [outH, outW, outC];
    } else if (block.kind === "flatten") {
      shape = [size()];
    } else {
      floats += DENSE_FACTOR * size();
    }
  }
  return floats;
}

/** Parameter floats held during a training step: weights, gradients, optimizer slots, the restore copy, update temporaries. */
function parameterFloats(view: ModelView, optimizerSlots: number): number {
  const params = view.params.reduce((a, p) => a + p.size, 0);
  return params * (5 + optimizerSlots);
}

/** Estimated peak bytes of one pass over `batch` samples: "train" (forward + backward), "forward", or "hvp" (a Hessian-vector product). */
export function passBytes(view: ModelView, batch: number, pass: "train" | "forward" | "hvp", optimizerSlots = 0): number {
  const perSample = sampleFloats(view) * FLOAT * (pass === "forward" ? 0.5 : pass === "hvp" ? 2 : 1);
  return parameterFloats(view, optimizerSlots) * FLOAT * (pass === "hvp" ? 2 : 1) + batch * perSample;
}

/** The largest batch whose pass fits `bytes`, 0 if none. */
export function largestBatch(view: ModelView, bytes: number, pass: "train" | "forward" | "hvp", optimizerSlots = 0): number {
  const fixed = passBytes(view, 0, pass, optimizerSlots);
  const perSample = passBytes(view, 1, pass, optimizerSlots) - fixed;
  return Math.max(0, Math.floor((bytes - fixed) / perSample));
}

/**
 * Throws a MemoryError (before anything is allocated) unless a pass over `batch` samples fits the backend.
 * `option` names what the user can lower (e.g. "batchSize"), and the message gives the largest value that fits.
 */
export function assertPassFits(where: string, view: ModelView, batch: number, pass: "train" | "forward" | "hvp", option: string, optimizerSlots = 0): void {
  const needed = passBytes(view, batch, pass, optimizerSlots);
  const { bytes, limit } = availableBytes();
  if (needed <= bytes) return;
  const fits = largestBatch(view, bytes, pass, optimizerSlots);
  const advice = fits >= 1
    ? option === "samples" ? `pass at most ${fits} samples (a subset of the data)` : `use ${option} ${fits} or less`
    : `the model's parameters alone do not fit; use a smaller model${tf.getBackend() === "wasm" ? ' or ws.ready({ backend: "cpu" })' : ""}`;
  throw new MemoryError(`${where}: ${batch} samples at once need about ${formatMB(needed)} at the peak, but ${limit}; ${advice}`, needed, bytes, fits >= 1 ? fits : null);
}

/** Throws a MemoryError unless `bytes` of plain arrays (JS heap) or typed arrays fit; `advice` says what to lower. */
export function assertBytesFit(where: string, what: string, bytes: number, advice: string, heap: "js" | "backend" = "js"): void {
  const available = heap === "js" ? availableHeapBytes() : availableBytes().bytes;
  if (bytes <= available) return;
  throw new MemoryError(`${where}: ${what} needs about ${formatMB(bytes)}, more than the ${formatMB(available)} available; ${advice}`, bytes, available);
}

/**
 * Whether an error is the backend itself failing (the wasm module aborting or reading out of bounds) rather than a
 * bad argument: after one, every TF.js call on that backend fails.
 */
export function isBackendFailure(error: unknown): boolean {
  if (error instanceof WeightscopeError) return false;
  const text = error instanceof Error ? `${error.name} ${error.message}` : String(error);
  return /Aborted\(|RuntimeError|memory access out of bounds|out of memory/i.test(text);
}

/**
 * After a backend failure: switches to the cpu backend (every tensor on the failed one is lost, and its heap may
 * read back as zeros), runs `restore` there (e.g. setting a model's weights from copies taken before the call), and
 * returns the BackendError to throw, which says what happened and how to go on.
 */
export async function recoverFromBackendFailure(where: string, error: unknown, restore: () => void): Promise<BackendError> {
  const failed = tf.getBackend();
  const detail = (error instanceof Error ? error.message : String(error)).split("\n")[0];
  let outcome: string;
  try {
    await ready({ backend: "cpu" });
    restore();
    outcome = "weightscope switched to the cpu backend (as `await ws.ready({ backend: \"cpu\" })` does) and put back the model's weights from before the call";
  } catch (second) {
    outcome = `switching to the cpu backend failed too (${second instanceof Error ? second.message : String(second)}); restart the kernel`;
  }
  return new BackendError("backend-failed", `${where}: the ${failed} backend failed (${detail}); ${outcome}. Tensors made on ${failed} (datasets included) are lost: make them again`);
}
