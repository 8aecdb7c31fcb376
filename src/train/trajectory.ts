/**
 * Weight trajectories: snapshots of chosen layers' kernels every k steps, kept as float32 in memory
 * up to a budget and spilled to one append-only file beyond it, so long runs do not fill the heap.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { randomBytes } from "crypto";
import { FileFormatError, InputError, checkOptions, rules } from "../errors";

/**
 * Spill files of live trajectories. They are deleted by dispose(), when their trajectory is garbage-collected, and
 * at the latest when the process exits, so a session never leaves them in the temp folder.
 */
const liveSpills = new Set<string>();
const removeSpill = (file: string) => {
  fs.rmSync(file, { force: true });
  liveSpills.delete(file);
};
const spillCleanup = new FinalizationRegistry<string>(removeSpill);
process.on("exit", () => liveSpills.forEach(removeSpill));

export interface TrajectoryOptions {
  /** In-memory budget in megabytes before snapshots go to disk (default 256). */
  maxMemoryMB?: number;
  /** Folder for the spill file (default: the system temp folder). */
  spillDir?: string;
}

interface Stored { memory: Float32Array | null; offset: number }

export class Trajectory {
  readonly layers: string[];
  readonly steps: number[] = [];
  private readonly shapes: Map<string, number[]>;
  private readonly stored: Map<string, Stored[]>;
  private readonly budget: number;
  private readonly spillDir: string;
  private memoryBytes = 0;
  private spillFile: string | null = null;
  private spillBytes = 0;

  constructor(shapes: Record<string, number[]>, options: TrajectoryOptions = {}) {
    this.layers = Object.keys(shapes);
    if (this.layers.length === 0) throw new InputError("invalid-option", "a trajectory needs at least one layer", "layers");
    checkOptions("trajectory", options, { maxMemoryMB: rules.nonNegative() });
    this.shapes = new Map(Object.entries(shapes).map(([k, v]) => [k, v.slice()]));
    this.stored = new Map(this.layers.map((l) => [l, []]));
    this.budget = (options.maxMemoryMB ?? 256) * 1024 * 1024;
    this.spillDir = options.spillDir ?? os.tmpdir();
  }

  /** TF.js kernel shape of a recorded layer (Dense: [in, out]; neuron j's incoming weights are column j). */
  shape(layer: string): number[] {
    const s = this.shapes.get(layer);
    if (!s) throw new InputError("invalid-option", `layer "${layer}" was not recorded; recorded layers: ${this.layers.join(", ")}`, "layer");
    return s.slice();
  }

  get length(): number {
    return this.steps.length;
  }

  /** Bytes held on disk (0 while everything fits in memory). */
  get spilledBytes(): number {
    return this.spillBytes;
  }

  /** Adds one snapshot: the kernel values of every recorded layer at training step `step`. */
  push(step: number, kernels: Record<string, Float32Array>): void {
    for (const layer of this.layers) {
      const values = kernels[layer];
      const size = this.shape(layer).reduce((a, b) => a * b, 1);
      if (!values || values.length !== size) throw new InputError("invalid-data", `snapshot of "${layer}" must have ${size} values, got ${values?.length ?? "none"}`);
      if (this.memoryBytes + values.byteLength <= this.budget) {
        this.stored.get(layer)!.push({ memory: values.slice(), offset: -1 });
        this.memoryBytes += values.byteLength;
      } else {
        this.stored.get(layer)!.push({ memory: null, offset: this.spill(values) });
      }
    }
    this.steps.push(step);
  }

  /** Kernel values of `layer` at snapshot `index`, row-major in the TF.js layout. */
  snapshot(layer: string, index: number): Float32Array {
    const list = this.stored.get(layer);
    if (!list) throw new InputError("invalid-option", `layer "${layer}" was not recorded; recorded layers: ${this.layers.join(", ")}`, "layer");
    if (!(Number.isInteger(index) && index >= 0 && index < list.length)) throw new InputError("invalid-option", `snapshot index ${index} out of range [0, ${list.length})`, "index");
    const entry = list[index];
    if (entry.memory) return entry.memory;
    const size = this.shape(layer).reduce((a, b) => a * b, 1);
    const out = new Float32Array(size);
    if (!this.spillFile || !fs.existsSync(this.spillFile)) {
      throw new FileFormatError("file-not-found", `trajectory: snapshot ${index} of "${layer}" was on disk, but the spill file ${this.spillFile ?? ""} is gone (the trajectory was disposed, or the file deleted)`, this.spillFile ?? undefined);
    }
    const fd = fs.openSync(this.spillFile, "r");
    let read: number;
    try {
      read = fs.readSync(fd, new Uint8Array(out.buffer), 0, out.byteLength, entry.offset);
    } finally {
      fs.closeSync(fd);
    }
    // A short read would leave zeros that look like weights.
    if (read !== out.byteLength) {
      throw new FileFormatError("file-format", `trajectory: the spill file ${this.spillFile} is truncated (snapshot ${index} of "${layer}" needs bytes ${entry.offset}..${entry.offset + out.byteLength}, the file has ${fs.statSync(this.spillFile).size})`, this.spillFile);
    }
    return out;
  }

  /** Deletes the spill file (snapshots on disk are gone afterwards). */
  dispose(): void {
    if (this.spillFile) {
      removeSpill(this.spillFile);
      spillCleanup.unregister(this);
    }
    this.spillFile = null;
  }

  toJSON(): { layers: string[]; steps: number[]; shapes: Record<string, number[]>; snapshots: Record<string, number[][]> } {
    return {
      layers: this.layers,
      steps: this.steps,
      shapes: Object.fromEntries(this.shapes),
      snapshots: Object.fromEntries(this.layers.map((l) => [l, this.steps.map((_, i) => Array.from(this.snapshot(l, i)))])),
    };
  }

  static fromJSON(json: ReturnType<Trajectory["toJSON"]>): Trajectory {
    const t = new Trajectory(json.shapes);
    json.steps.forEach((step, i) => t.push(step, Object.fromEntries(json.layers.map((l) => [l, Float32Array.from(json.snapshots[l][i])]))));
    return t;
  }

  private spill(values: Float32Array): number {
    if (!this.spillFile) {
      fs.mkdirSync(this.spillDir, { recursive: true });
      this.spillFile = path.join(this.spillDir, `weightscope-trajectory-${process.pid}-${randomBytes(4).toString("hex")}.f32`);
      liveSpills.add(this.spillFile);
      spillCleanup.register(this, this.spillFile, this);
    }
    const offset = this.spillBytes;
    fs.appendFileSync(this.spillFile, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    this.spillBytes += values.byteLength;
    return offset;
  }
}
