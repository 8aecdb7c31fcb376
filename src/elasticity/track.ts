/**
 * ws.elasticity.track: S_rel recorded during training (through ws.train hooks) on fixed samples.
 * Classification: class-pair averages Sbar(c, c') per snapshot, one panel per probed class c
 * (Dan et al.). Regression: mean S_rel with the loss beside it, where the elastic phase (S_rel moving
 * fast) and the inelastic phase (S_rel flat while the loss keeps falling) show (He & Su).
 * Runs over several seeds give mean and spread. The user's model is never trained: each run trains a clone.
 * A run whose loss becomes non-finite stops early (ws.train); it is reported, and the later snapshots
 * average over the runs still going.
 */
import * as tf from "@tensorflow/tfjs";
import { checkEach, checkOption, rules } from "../errors";
import { viewOf } from "../model/view";
import { cloneModel } from "../model/params";
import { asDataset, type Dataset } from "../data/dataset";
import { train, evaluateParams, type TrainOptions } from "../train/train";
import { Rng } from "../math/rng";
import { Result } from "../display/result";
import { figure, type Figure, type Trace } from "../display/figure";
import { Table } from "../display/table";
import { checkInputs, measureElasticity, resolveOptions, type ElasticityOptions } from "./probe";
import { selectPoints } from "./points";
import { fmt } from "./result";
import { meanAndStd } from "../math/special";

export interface TrackOptions extends Omit<ElasticityOptions, "points" | "against" | "progress"> {
  /** Options of ws.train for each run (epochs, batchSize, lr, optimizer, ...); its seed is the run's seed. */
  train?: Omit<TrainOptions, "hooks" | "seed">;
  /** Record every this many optimizer steps (and before the first step). Default 10. */
  every?: number;
  /** Classification: probed samples per class (default 20). */
  perClass?: number;
  /** Classification: the classes probed (default: every class in the data). */
  classes?: number[];
  /** Regression: number of probed samples (default 20; S_rel over all their pairs). */
  points?: number;
  /** One run per seed (training order, sampled points, and the model when `model` is a factory). Default [0]. */
  seeds?: number[];
  progress?: boolean;
}

export interface TrackSnapshot {
  step: number;
  epoch: number;
  /** Loss of the training set at this step (inference form). */
  loss: number;
  /** Mean S_rel over the probed pairs (a sample paired with itself left out). */
  mean: number;
  /** Classification: Sbar[a][b] for probed class classes[a] and affected class classes[b]. */
  classPairs: number[][] | null;
}

export type ModelSource = tf.LayersModel | ((seed: number) => tf.LayersModel);

export async function track(model: ModelSource, data: Dataset | { x: tf.Tensor; y: tf.Tensor }, options: TrackOptions = {}): Promise<ElasticityTrack> {
  const dataset = asDataset(data, "elasticity.track");
  const seeds = options.seeds ?? [0];
  checkEach("elasticity.track", "seeds", seeds, rules.finite());
  const every = checkOption("elasticity.track", "every", options.every ?? 10, rules.integer(1));
  const classification = dataset.task === "classification";
  const runs: TrackSnapshot[][] = [];
  const stopped: (string | null)[] = [];
  let classes: number[] = [];
  let modelName = "";
  let similarity = "";
  for (const seed of seeds) {
    const source = typeof model === "function" ? model(seed) : model;
    // A model the factory made is ours to dispose, whatever fails.
    try {
      const view = viewOf(source);
      checkInputs(view, dataset, "elasticity.track data");
      modelName = view.name;
      const resolved = { ...resolveOptions(view, dataset, options), progress: false };
      similarity = resolved.kind;
      const rows = selectPoints(classification ? { perClass: options.perClass ?? 20, classes: options.classes } : options.points ?? 20, dataset, new Rng(seed), "elasticity.track");
      const snapshots: TrackSnapshot[] = [];
      const copy = cloneModel(source);
      try {
        const trained = await train(copy, dataset, {
          ...options.train,
          progress: options.progress !== false && options.train?.progress !== false,
          seed,
          hooks: [{
            every,
            atStart: true,
            onStep: async (ctx) => {
              const result = await measureElasticity(ctx.view, ctx.params, dataset, rows, dataset, rows, resolved);
              const pairs = result.classPairs;
              if (pairs) classes = pairs.classes;
              snapshots.push({ step: ctx.step, epoch: ctx.epoch, loss: evaluateParams(ctx.view, ctx.params, dataset, ctx.loss).loss, mean: result.mean, classPairs: pairs?.mean ?? null });
            },
          }],
        });
        stopped.push(trained.info.stopped);
      } finally {
        copy.dispose();
      }
      runs.push(snapshots);
    } finally {
      if (typeof model === "function") source.dispose();
    }
  }
  const names = classes.map((c) => dataset.classes?.[c] ?? String(c));
  return new ElasticityTrack(modelName, seeds, runs, stopped, classes, names, similarity);
}

export class ElasticityTrack extends Result {
  readonly kind = "elasticity.track";

  constructor(
    readonly model: string,
    readonly seeds: number[],
    /** Snapshots of each run (one list per seed, on the same steps; shorter where a run stopped early). */
    readonly runs: TrackSnapshot[][],
    /** Per run, why it stopped before the last step (non-finite loss), or null when it finished. */
    readonly stopped: (string | null)[],
    /** Probed classes (empty for regression). */
    readonly classes: number[],
    readonly classNames: string[],
    readonly similarity: string,
  ) {
    super();
  }

  /** Steps of the snapshots (of the longest run: every run records on the same steps until it stops). */
  get steps(): number[] {
    const longest = this.runs.reduce((a, r) => (r.length > a.length ? r : a), this.runs[0]);
    return longest.map((s) => s.step);
  }

  /** Runs still going at each snapshot (fewer after a run stopped early). */
  get runsAt(): number[] {
    return this.steps.map((_, t) => this.runs.filter((r) => r.length > t).length);
  }

  /** Mean and standard deviation over the runs that reached each snapshot, of a per-snapshot quantity. */
  spread(pick: (s: TrackSnapshot) => number): { mean: number[]; std: number[] } {
    const length = this.steps.length;
    const mean: number[] = [];
    const std: number[] = [];
    for (let t = 0; t < length; t++) {
      const values = this.runs.filter((r) => r.length > t).map((r) => pick(r[t])).filter((v) => !Number.isNaN(v));
      const summary = meanAndStd(values);
      mean.push(summary.mean);
      std.push(values.length ? summary.std : 0);
    }
    return { mean, std };
  }

  /** One line per run that stopped early: its seed, its last snapshot and why. */
  get stoppedRuns(): string[] {
    return this.stopped.flatMap((why, r) => (why === null ? [] : [`seed ${this.seeds[r]} stopped early (${why}; last snapshot at step ${this.runs[r].at(-1)?.step ?? 0})`]));
  }

  /** Same-class minus mean cross-class S_rel of probed class index a, per snapshot (averaged over runs). */
  margin(a: number): number[] {
    return this.spread((s) => {
      const row = s.classPairs![a];
      const cross = row.filter((_, b) => b !== a);
      return row[a] - cross.reduce((x, y) => x + y, 0) / cross.length;
    }).mean;
  }

  summary(): string {
    const steps = this.steps;
    const last = steps.length - 1;
    const base = `${this.runs.length} run(s) of ${this.model}, ${steps.length} snapshots to step ${steps[last]}`;
    const stops = this.stoppedRuns.length ? `; ${this.stoppedRuns.join("; ")}` : "";
    if (this.classes.length === 0) {
      const s = this.spread((x) => x.mean).mean;
      return `${base}: mean S_rel ${fmt(s[0])} -> ${fmt(s[last])}, loss ${fmt(this.spread((x) => x.loss).mean[0])} -> ${fmt(this.spread((x) => x.loss).mean[last])}${stops}`;
    }
    const same = this.spread((x) => mean(x.classPairs!.map((r, a) => r[a]))).mean;
    const cross = this.spread((x) => mean(x.classPairs!.flatMap((r, a) => r.filter((_, b) => b !== a)))).mean;
    return `${base}: same-class S_rel ${fmt(same[0])} -> ${fmt(same[last])}, cross-class ${fmt(cross[0])} -> ${fmt(cross[last])}${stops}`;
  }

  figures(): Figure[] {
    const steps = this.steps;
    const band = (name: string, s: { mean: number[]; std: number[] }, extra: Partial<Trace> = {}): Trace => ({
      type: "scatter", mode: "lines+markers", name, x: steps, y: s.mean,
      error_y: this.runs.length > 1 ? { type: "data", array: s.std, visible: true, thickness: 1 } : undefined, ...extra,
    });
    if (this.classes.length === 0) {
      return [
        figure([band("mean S_rel", this.spread((x) => x.mean))], { title: `Mean S_rel (${this.similarity}) during training`, xaxis: { title: { text: "step" } }, yaxis: { title: { text: "mean S_rel" } } }),
        figure([band("training loss", this.spread((x) => x.loss))], { title: "Loss", xaxis: { title: { text: "step" } }, yaxis: { title: { text: "loss" }, type: "log" } }),
      ];
    }
    return this.classes.map((_, a) => figure(
      this.classes.map((__, b) => band(a === b ? `same class (${this.classNames[b]})` : `affected ${this.classNames[b]}`, this.spread((x) => x.classPairs![a][b]), { line: { width: a === b ? 3 : 1.5, dash: a === b ? "solid" : "dot" } })),
      { title: `Probed class ${this.classNames[a]}`, xaxis: { title: { text: "step" } }, yaxis: { title: { text: `S_rel (${this.similarity})` } } },
    ));
  }

  table(): Table {
    const steps = this.steps;
    const loss = this.spread((x) => x.loss).mean;
    const meanS = this.spread((x) => x.mean).mean;
    const runsAt = this.runsAt;
    const records = steps.map((step, t) => {
      const record: Record<string, number> = { step, runs: runsAt[t], loss: loss[t], "mean S_rel": meanS[t] };
      this.classes.forEach((_, a) => this.classes.forEach((__, b) => {
        record[`${this.classNames[a]}->${this.classNames[b]}`] = this.spread((x) => x.classPairs![a][b]).mean[t];
      }));
      return record;
    });
    return Table.fromRecords(records, `S_rel during training (${this.similarity}, mean over ${this.runs.length} run(s))`);
  }

  protected data(): Record<string, unknown> {
    return { model: this.model, seeds: this.seeds, classes: this.classes, classNames: this.classNames, similarity: this.similarity, runs: this.runs, stopped: this.stopped };
  }
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
