/**
 * ws.teleport.levelCurve: a walk of random teleports (the loss stays put while the weights travel)
 * against the straight chord from the start to the walk's end (the loss does not stay put).
 */
import * as tf from "@tensorflow/tfjs";
import type { Dataset } from "../data/dataset";
import type { LossKind } from "../model/functional";
import { Rng } from "../math/rng";
import { Result } from "../display/result";
import { figure, type Figure } from "../display/figure";
import { Table } from "../display/table";
import { applyCob, sampleCob, type SamplingOptions } from "./structure";
import { landscapeOf, paramsOf, lossAt, valuesOf } from "./landscape";
import { linspace } from "../math/special";
import { optionalProgress, yieldToEventLoop } from "../display/progress";
import { checkOptions, rules } from "../errors";

export interface LevelCurveOptions extends SamplingOptions {
  /** Teleports in the walk (default 10). */
  steps?: number;
  /** Points on the chord, ends included (default 21). */
  points?: number;
  seed?: number;
  loss?: LossKind;
  /** Show a progress bar with elapsed time, rate and ETA (default true). */
  progress?: boolean;
}

const MAX_WALK = 100000;

export interface WalkPoint { step: number; loss: number; distance: number }
export interface ChordPoint { t: number; loss: number; distance: number }

export async function levelCurve(model: tf.LayersModel, data: Dataset | { x: tf.Tensor; y: tf.Tensor }, options: LevelCurveOptions = {}): Promise<LevelCurveResult> {
  // Each teleport and each chord point costs a full loss evaluation: beyond these counts a call would run for days.
  checkOptions("teleport.levelCurve", options, { steps: rules.integer(1, MAX_WALK), points: rules.integer(2, MAX_WALK), seed: rules.finite() });
  const land = landscapeOf(model, data, "teleport.levelCurve", options.loss);
  const steps = options.steps ?? 10;
  const points = options.points ?? 21;
  const rng = new Rng(options.seed ?? 0);
  const start = paramsOf(model, land, "teleport.levelCurve");
  const w0 = valuesOf(land, start);
  let current = start;
  const bar = optionalProgress(options.progress, "teleport level curve", steps + points);
  try {
    const walk: WalkPoint[] = [{ step: 0, loss: lossAt(land, start), distance: 0 }];
    for (let k = 1; k <= steps; k++) {
      const next = applyCob(land.structure, current, sampleCob(land.structure, options, rng));
      if (current !== start) tf.dispose(current);
      current = next;
      walk.push({ step: k, loss: lossAt(land, current), distance: distance(valuesOf(land, current), w0) });
      bar?.update(k);
      await yieldToEventLoop();
    }
    const end = current;
    const length = walk[walk.length - 1].distance;
    const chord: ChordPoint[] = [];
    for (const [i, t] of linspace(0, 1, points).entries()) {
      const mixed = tf.tidy(() => start.map((p, j) => tf.add(tf.mul(p, 1 - t), tf.mul(end[j], t))));
      chord.push({ t, loss: lossAt(land, mixed), distance: t * length });
      tf.dispose(mixed);
      bar?.update(steps + i + 1);
      await yieldToEventLoop();
    }
    bar?.finish();
    return new LevelCurveResult(walk, chord);
  } finally {
    if (current !== start) tf.dispose(current);
    tf.dispose(start);
  }
}

function distance(a: Float64Array[], b: Float64Array[]): number {
  let s = 0;
  a.forEach((x, k) => {
    for (let e = 0; e < x.length; e++) s += (x[e] - b[k][e]) ** 2;
  });
  return Math.sqrt(s);
}

export class LevelCurveResult extends Result {
  readonly kind = "teleport.levelCurve";
  constructor(readonly walk: WalkPoint[], readonly chord: ChordPoint[]) {
    super();
  }

  /** max_k |L(w_k) - L(w_0)| along the walk (float32 round-off only). */
  get walkDeviation(): number {
    return Math.max(...this.walk.map((p) => Math.abs(p.loss - this.walk[0].loss)));
  }

  /**
   * Per chord point, L(chord(t)) minus the straight line between the endpoints' losses,
   * (1 - t) L(start) + t L(end): positive above that line (a barrier), negative below it (a dip).
   */
  get chordExcess(): number[] {
    const first = this.chord[0].loss;
    const last = this.chord[this.chord.length - 1].loss;
    return this.chord.map((p) => p.loss - ((1 - p.t) * first + p.t * last));
  }

  /** max_t of chordExcess: how far the chord's loss rises above the line between its endpoints' losses (0 at the ends). */
  get chordBarrier(): number {
    return Math.max(...this.chordExcess);
  }

  /** min_t of chordExcess: how far the chord's loss falls below that line (0 at the ends, negative when it dips). */
  get chordDip(): number {
    return Math.min(...this.chordExcess);
  }

  summary(): string {
    const last = this.walk[this.walk.length - 1];
    const losses = this.chord.map((p) => p.loss);
    return `${this.walk.length - 1} teleports: loss ${this.walk[0].loss.toPrecision(5)} (max deviation ${this.walkDeviation.toExponential(2)}) at distance up to ${last.distance.toPrecision(3)}; chord loss ${Math.min(...losses).toPrecision(4)}..${Math.max(...losses).toPrecision(4)}: barrier ${this.chordBarrier.toPrecision(3)}, dip ${this.chordDip.toPrecision(3)} against the endpoints' line`;
  }

  figures(): Figure[] {
    const excess = this.chordExcess;
    return [figure(
      [
        { type: "scatter", mode: "lines+markers", name: "teleport walk", x: this.walk.map((p) => p.distance), y: this.walk.map((p) => p.loss) },
        { type: "scatter", mode: "lines", name: "straight chord w -> T(w)", x: this.chord.map((p) => p.distance), y: this.chord.map((p) => p.loss) },
        {
          type: "scatter", mode: "lines", name: "endpoints' loss, interpolated", line: { dash: "dot" },
          x: this.chord.map((p) => p.distance), y: this.chord.map((p, i) => p.loss - excess[i]),
        },
      ],
      { title: "Loss along a teleport walk and along the chord", xaxis: { title: "distance from the start ||w - w0||" }, yaxis: { title: "loss" } },
    )];
  }

  table(): Table {
    const excess = this.chordExcess;
    const rows = [
      ...this.walk.map((p) => ["walk", p.step, p.distance, p.loss, null]),
      ...this.chord.map((p, i) => ["chord", p.t, p.distance, p.loss, excess[i]]),
    ];
    return new Table(["path", "step or t", "distance", "loss", "above endpoints' line"], rows, "Level curve");
  }

  protected data(): Record<string, unknown> {
    return { walk: this.walk, chord: this.chord, walkDeviation: this.walkDeviation, chordBarrier: this.chordBarrier, chordDip: this.chordDip };
  }
}

