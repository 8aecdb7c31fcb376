/**
 * ws.symmetry.breaking: the Fashion-MNIST symmetry-breaking experiment. A ReLU MLP d-N-D without
 * biases starts from W0 ~ N(0, 1/d), W1 ~ N(0, 1/N) except that the first k output units of W1 get
 * weight mean mu; it trains with MSE against one-hot or one-cold targets (Adam, lr decayed per epoch)
 * through ws.train, and the best test accuracy over the epochs is recorded per seed.
 *
 * What is really varied: the k shifted rows share one mean vector, so the mean matrix is rank 1 and
 * the residual output symmetry is SO(D - 1) for every k >= 1 and mu != 0; (mu, k) only set the SIZE
 * of the breaking, ||E W1||_F = |mu| sqrt(k N). Cells with mu = 0 or k = 0 are the same symmetric
 * density, so they are trained once per seed and shared. A seed fixes the Gaussian part of the
 * initialisation and the batch order in every cell (common random numbers), so cell differences are
 * paired and their spread is the seed-to-seed spread of the difference.
 */
import * as tf from "@tensorflow/tfjs";
import { Result } from "../display/result";
import { figure, type Figure } from "../display/figure";
import { Table } from "../display/table";
import { optionalProgress } from "../display/progress";
import { asDataset, type Dataset } from "../data/dataset";
import { forward } from "../model/functional";
import { train } from "../train/train";
import { ensemble } from "./ensemble";
import { meanAndStd } from "../math/special";

export type TargetCoding = "one-hot" | "one-cold";

export interface BreakingData {
  train: Dataset;
  test: Dataset;
}

export interface BreakingOptions {
  /** Weight means of the shifted rows (default [0, 0.05, 0.1, 0.2]). */
  mu?: number | number[];
  /** Numbers of shifted output units (default [0, 5, 10]). */
  k?: number | number[];
  /** Target coding, or both (default "one-hot"). One-cold predicts the argmin. */
  targets?: TargetCoding | TargetCoding[];
  /** Epochs per run (default 3; the paper: 20). */
  epochs?: number;
  /** Runs per cell (default 3; the paper: 10). */
  seeds?: number;
  /** Seed of the first run (default 0); run s uses seed + s. */
  seed?: number;
  /** Hidden width N (default 50). */
  hidden?: number;
  batchSize?: number;
  /** Adam learning rate (default 1e-3), multiplied by lrDecay after each epoch (default 0.7). */
  lr?: number;
  lrDecay?: number;
  /** Show a progress bar with elapsed time, rate and ETA (default true). */
  progress?: boolean;
}

/** One (targets, mu, k) cell. */
export interface BreakingCell {
  targets: TargetCoding;
  mu: number;
  k: number;
  /** ||E W1||_F = |mu| sqrt(k N): the size of the breaking. */
  meanNorm: number;
  /** The output rotations that leave the initial density invariant: SO(D), or SO(D - 1) when broken. */
  residual: string;
  /** Best test accuracy over the epochs, one per seed. */
  best: number[];
  /** Test accuracy after each epoch, per seed. */
  epochs: number[][];
  mean: number;
  sd: number;
  /** Mean and standard error over seeds of best - best(symmetric cell, same seed); 0 for symmetric cells. */
  gain: number;
  gainStderr: number;
}

export class SymmetryBreaking extends Result {
  readonly kind = "symmetry.breaking";
  readonly cells: BreakingCell[];
  readonly settings: { sizes: number[]; epochs: number; seeds: number; seed: number; batchSize: number; lr: number; lrDecay: number; train: number; test: number; runs: number; seconds: number };

  constructor(cells: BreakingCell[], settings: SymmetryBreaking["settings"]) {
    super();
    this.cells = cells;
    this.settings = settings;
  }

  /** Mean best accuracy as a grid [k][mu] for one target coding. */
  grid(targets: TargetCoding): { mu: number[]; k: number[]; accuracy: number[][] } {
    const cells = this.cells.filter((c) => c.targets === targets);
    const mu = [...new Set(cells.map((c) => c.mu))];
    const k = [...new Set(cells.map((c) => c.k))];
    const at = (m: number, kk: number) => cells.find((c) => c.mu === m && c.k === kk)?.mean ?? NaN;
    return { mu, k, accuracy: k.map((kk) => mu.map((m) => at(m, kk))) };
  }

  /** The most broken cell of a target coding (largest ||mean||_F) and its paired gain over symmetric. */
  strongest(targets: TargetCoding): BreakingCell | undefined {
    return this.cells.filter((c) => c.targets === targets).reduce<BreakingCell | undefined>((a, c) => (!a || c.meanNorm > a.meanNorm ? c : a), undefined);
  }

  summary(): string {
    const codings = [...new Set(this.cells.map((c) => c.targets))];
    const parts = codings.map((t) => {
      const s = this.strongest(t) as BreakingCell;
      const base = this.cells.find((c) => c.targets === t && c.meanNorm === 0);
      const baseText = base ? `symmetric ${pct(base.mean)}` : "no symmetric cell";
      const top = this.cells.filter((c) => c.targets === t).reduce((a, c) => (c.gain > a.gain ? c : a));
      const best = top.gain > 0 ? `best ${signed(top.gain)} +- ${pct(top.gainStderr)} at mu ${top.mu}, k ${top.k}; ` : "no cell above symmetric; ";
      return `${t}: ${baseText}; ${best}at the largest ||mean||_F ${s.meanNorm.toFixed(2)} (mu ${s.mu}, k ${s.k}) ${signed(s.gain)} +- ${pct(s.gainStderr)}`;
    });
    return `symmetry breaking, ${this.settings.seeds} seeds x ${this.settings.epochs} epochs on ${this.settings.train} images: ${parts.join("; ")}`;
  }

  figures(): Figure[] {
    const codings = [...new Set(this.cells.map((c) => c.targets))];
    const heatmaps = codings.map((t) => {
      const g = this.grid(t);
      return figure([{ type: "heatmap", x: g.mu, y: g.k, z: g.accuracy, colorscale: "Viridis", colorbar: { title: "accuracy" } }], {
        title: `${t}: mean best test accuracy (${this.settings.seeds} seeds)`, xaxis: { title: "mu (mean of the shifted rows)", type: "category" }, yaxis: { title: "k (shifted output units)", type: "category" },
      });
    });
    const bySize = figure(codings.map((t) => {
      const cells = this.cells.filter((c) => c.targets === t).sort((a, b) => a.meanNorm - b.meanNorm);
      return {
        type: "scatter", mode: "markers", name: t, x: cells.map((c) => c.meanNorm), y: cells.map((c) => c.gain),
        error_y: { type: "data", array: cells.map((c) => 2 * c.gainStderr) }, text: cells.map((c) => `mu ${c.mu}, k ${c.k}`),
      };
    }), {
      title: "accuracy gain over the symmetric initialisation (paired, +- 2 se) vs size of the breaking",
      xaxis: { title: "||E W1||_F = mu sqrt(k N)" }, yaxis: { title: "best accuracy - symmetric" },
    });
    return [...heatmaps, bySize];
  }

  table(): Table {
    return Table.fromRecords(this.cells.map((c) => ({
      targets: c.targets, mu: c.mu, k: c.k, meanNorm: c.meanNorm, residual: c.residual,
      accuracy: c.mean, sd: c.sd, gain: c.gain, gainStderr: c.gainStderr, seeds: c.best.length,
    })), `Symmetry breaking (${this.settings.sizes.join("-")}, ${this.settings.epochs} epochs)`);
  }

  protected data(): Record<string, unknown> {
    return { settings: this.settings, cells: this.cells };
  }
}

function pct(v: number): string {
  return `${(100 * v).toFixed(2)}%`;
}

function signed(v: number): string {
  return `${v >= 0 ? "+" : ""}${pct(v)}`;
}

function list(value: number | number[] | undefined, fallback: number[], name: string, valid: (v: number) => boolean, rule: string): number[] {
  const values = value === undefined ? fallback : Array.isArray(value) ? value : [value];
  if (values.length === 0 || values.some((v) => typeof v !== "number" || !valid(v))) throw new Error(`symmetry.breaking: ${name} must be ${rule}, got ${JSON.stringify(value)}`);
  return [...new Set(values)];
}

/** Class labels as float targets [n, D]: one-hot, or one-cold (1 - one-hot). */
function targetsOf(labels: tf.Tensor, classes: number, coding: TargetCoding): tf.Tensor2D {
  return tf.tidy(() => {
    const hot = tf.oneHot(labels.toInt(), classes).toFloat();
    return (coding === "one-hot" ? hot : tf.sub(1, hot)) as tf.Tensor2D;
  });
}

/** Fraction of test images whose prediction (argmax for one-hot, argmin for one-cold) is the label. */
function accuracyOf(outputs: tf.Tensor, labels: tf.Tensor, coding: TargetCoding): number {
  return tf.tidy(() => {
    const predicted = coding === "one-hot" ? tf.argMax(outputs, 1) : tf.argMin(outputs, 1);
    return tf.mean(tf.cast(tf.equal(predicted, labels.toInt()), "float32")).dataSync()[0];
  });
}

function classCount(data: Dataset): number {
  if (data.classes) return data.classes.length;
  const max = tf.max(data.y);
  const value = max.dataSync()[0];
  max.dispose();
  return value + 1;
}

export async function breaking(data: BreakingData, options: BreakingOptions = {}): Promise<SymmetryBreaking> {
  const where = "symmetry.breaking";
  if (!data || typeof data !== "object" || !data.train || !data.test) throw new Error(`${where}: data must be { train, test } datasets, e.g. from ws.data.fashionMnist({ split })`);
  const trainSet = asDataset(data.train, `${where} train`);
  const testSet = asDataset(data.test, `${where} test`);
  for (const [name, d] of [["train", trainSet], ["test", testSet]] as const) {
    if (d.task !== "classification") throw new Error(`${where}: ${name} data must be classification data with int32 labels`);
    if (d.x.rank !== 2) throw new Error(`${where}: ${name} images must be flattened to [n, features], got shape [${d.x.shape.join(", ")}] (load with flatten: true)`);
  }
  if (trainSet.x.shape[1] !== testSet.x.shape[1]) throw new Error(`${where}: train images have ${trainSet.x.shape[1]} features but test images have ${testSet.x.shape[1]}`);
  const classes = Math.max(classCount(trainSet), classCount(testSet));
  const mus = list(options.mu, [0, 0.05, 0.1, 0.2], "mu", Number.isFinite, "finite numbers");
  const ks = list(options.k, [0, 5, 10], "k", (v) => Number.isInteger(v) && v >= 0 && v <= classes, `integers in 0..${classes} (the number of classes)`);
  const codings = [...new Set(Array.isArray(options.targets) ? options.targets : [options.targets ?? "one-hot"])];
  if (codings.length === 0 || codings.some((t) => t !== "one-hot" && t !== "one-cold")) throw new Error(`${where}: targets must be "one-hot" or "one-cold" (or both), got ${JSON.stringify(options.targets)}`);
  const positive = (name: string, v: number | undefined, fallback: number, integer: boolean) => {
    const value = v ?? fallback;
    if (!(Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value)))) throw new Error(`${where}: ${name} must be a positive ${integer ? "integer" : "number"}, got ${v}`);
    return value;
  };
  const epochs = positive("epochs", options.epochs, 3, true);
  const seeds = positive("seeds", options.seeds, 3, true);
  const hidden = positive("hidden", options.hidden, 50, true);
  const batchSize = positive("batchSize", options.batchSize, 64, true);
  const lr = positive("lr", options.lr, 1e-3, false);
  const lrDecay = positive("lrDecay", options.lrDecay, 0.7, false);
  const seed = options.seed ?? 0;
  const features = trainSet.x.shape[1] as number;
  const sizes = [features, hidden, classes];

  // Distinct densities: the symmetric one (mu k = 0) once, then each broken (mu, k).
  const densities: { mu: number; k: number }[] = [{ mu: 0, k: 0 }];
  for (const mu of mus) for (const k of ks) if (mu !== 0 && k !== 0) densities.push({ mu, k });
  const runs = codings.length * densities.length * seeds;
  const bar = optionalProgress(options.progress, `${where} (${runs} training runs)`, runs);
  const started = Date.now();
  const results = new Map<string, number[][]>();
  let done = 0;
  for (const coding of codings) {
    const trainTargets = targetsOf(trainSet.y, classes, coding);
    try {
      for (const { mu, k } of densities) {
        const perSeed: number[][] = [];
        const init = [{}, { mean: mu, rows: Array.from({ length: k }, (_, j) => j) }];
        for (let s = 0; s < seeds; s++) {
          const model = ensemble({ sizes, activation: "relu", bias: false, init }, { networks: 1, seed: seed + s }).model(0);
          const accuracies: number[] = [];
          try {
            await train(model, { x: trainSet.x, y: trainTargets, task: "regression" }, {
              epochs, batchSize, lr, lrDecay, optimizer: "adam", loss: "mse", seed: seed + s, progress: false,
              hooks: [{
                every: Math.ceil(trainSet.x.shape[0] / batchSize),
                onStep: (ctx) => {
                  const outputs = forward(ctx.view, ctx.params, testSet.x);
                  accuracies.push(accuracyOf(outputs, testSet.y, coding));
                  outputs.dispose();
                },
              }],
            });
          } finally {
            model.dispose();
          }
          perSeed.push(accuracies);
          bar?.update(++done, `${coding} mu ${mu} k ${k} seed ${s}: best ${pct(bestOf(accuracies))}`);
        }
        results.set(`${coding}|${mu}|${k}`, perSeed);
      }
    } finally {
      trainTargets.dispose();
    }
  }
  bar?.finish();

  const cells: BreakingCell[] = [];
  for (const coding of codings) {
    const symmetric = (results.get(`${coding}|0|0`) as number[][]).map(bestOf);
    for (const mu of mus) {
      for (const k of ks) {
        const broken = mu !== 0 && k !== 0;
        const perSeed = results.get(broken ? `${coding}|${mu}|${k}` : `${coding}|0|0`) as number[][];
        const best = perSeed.map(bestOf);
        const gains = best.map((b, s) => b - symmetric[s]);
        const { mean, std: sd } = meanAndStd(best, NaN);
        const gain = meanAndStd(gains, NaN);
        cells.push({
          targets: coding, mu, k, meanNorm: Math.abs(mu) * Math.sqrt(k * hidden), residual: broken ? `SO(${classes - 1})` : `SO(${classes})`,
          best, epochs: perSeed, mean, sd, gain: gain.mean, gainStderr: gain.std / Math.sqrt(gains.length),
        });
      }
    }
  }
  return new SymmetryBreaking(cells, {
    sizes, epochs, seeds, seed, batchSize, lr, lrDecay, train: trainSet.x.shape[0], test: testSet.x.shape[0], runs, seconds: (Date.now() - started) / 1000,
  });
}

/** Best accuracy over the epochs; NaN when a run stopped (non-finite loss) before its first epoch ended. */
function bestOf(accuracies: number[]): number {
  return accuracies.length ? Math.max(...accuracies) : NaN;
}

