/** The result of ws.train: per-step and per-epoch history, an optional weight trajectory. */
import { Result } from "../display/result";
import { figure, type Figure } from "../display/figure";
import { Table } from "../display/table";
import { Trajectory } from "./trajectory";

export interface StepRecord { step: number; epoch: number; loss: number }
export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
  lr: number;
  seconds: number;
}

export interface RunInfo {
  model: string;
  backend: string;
  optimizer: string;
  loss: string;
  batchSize: number;
  samples: number;
  seconds: number;
  /** Set when the run stopped early (interrupt, non-finite loss). */
  stopped: string | null;
}

export class TrainRun extends Result {
  readonly kind = "train";
  constructor(
    readonly info: RunInfo,
    readonly history: { steps: StepRecord[]; epochs: EpochRecord[] },
    readonly trajectory: Trajectory | null,
  ) {
    super();
  }

  get finalLoss(): number {
    return this.history.epochs.at(-1)?.loss ?? this.history.steps.at(-1)?.loss ?? NaN;
  }

  summary(): string {
    const last = this.history.epochs.at(-1);
    const acc = last?.accuracy != null ? `, accuracy ${last.accuracy.toFixed(4)}` : "";
    const val = last?.valAccuracy != null ? ` (val ${last.valAccuracy.toFixed(4)})` : last?.valLoss != null ? ` (val loss ${last.valLoss.toPrecision(4)})` : "";
    const traj = this.trajectory ? `, ${this.trajectory.length} snapshots` : "";
    const stop = this.info.stopped ? `, stopped: ${this.info.stopped}` : "";
    return `${this.history.epochs.length} epochs, ${this.history.steps.length} steps, final loss ${this.finalLoss.toPrecision(4)}${acc}${val}${traj}, ${this.info.seconds.toFixed(1)} s on ${this.info.backend}${stop}`;
  }

  figures(): Figure[] {
    const steps = this.history.steps;
    const epochs = this.history.epochs;
    const loss = figure(
      [
        { type: "scatter", mode: "lines", name: "step loss", x: steps.map((s) => s.step), y: steps.map((s) => s.loss), line: { width: 1 }, opacity: 0.6 },
        { type: "scatter", mode: "lines+markers", name: "epoch mean", x: epochs.map((e) => stepAtEpochEnd(steps, e.epoch)), y: epochs.map((e) => e.loss) },
        ...(epochs.some((e) => e.valLoss !== null)
          ? [{ type: "scatter", mode: "lines+markers", name: "validation", x: epochs.map((e) => stepAtEpochEnd(steps, e.epoch)), y: epochs.map((e) => e.valLoss) }]
          : []),
      ],
      { title: `Loss (${this.info.loss})`, xaxis: { title: { text: "step" } }, yaxis: { title: { text: "loss" }, type: "log" } },
    );
    if (!epochs.some((e) => e.accuracy !== null)) return [loss];
    const accuracy = figure(
      [
        { type: "scatter", mode: "lines+markers", name: "train", x: epochs.map((e) => e.epoch), y: epochs.map((e) => e.accuracy) },
        ...(epochs.some((e) => e.valAccuracy !== null) ? [{ type: "scatter", mode: "lines+markers", name: "validation", x: epochs.map((e) => e.epoch), y: epochs.map((e) => e.valAccuracy) }] : []),
      ],
      { title: "Accuracy at the end of each epoch", xaxis: { title: { text: "epoch (numbered from 0)" }, dtick: 1 }, yaxis: { title: { text: "accuracy" }, range: [0, 1] } },
    );
    return [loss, accuracy];
  }

  /** One row per epoch, numbered from 0 as in history.epochs and history.steps. */
  table(): Table {
    return Table.fromRecords(this.history.epochs.map((e) => ({ epoch: e.epoch, loss: e.loss, accuracy: e.accuracy, valLoss: e.valLoss, valAccuracy: e.valAccuracy, lr: e.lr, seconds: e.seconds })), `Training of ${this.info.model}`);
  }

  /** Per-step losses as a table (step, epoch, loss). */
  stepTable(): Table {
    return Table.fromRecords(this.history.steps.map((s) => ({ ...s })), "Step losses");
  }

  protected data(): Record<string, unknown> {
    return { info: this.info, history: this.history, trajectory: this.trajectory?.toJSON() ?? null };
  }

  static fromJSON(json: Record<string, unknown>): TrainRun {
    const info = json.info as Partial<RunInfo> | undefined;
    const history = json.history as Partial<TrainRun["history"]> | undefined;
    if (!info || typeof info.model !== "string" || typeof info.samples !== "number") throw new Error("training run without valid info");
    if (!history || !Array.isArray(history.steps) || !Array.isArray(history.epochs)) throw new Error("training run without step and epoch history");
    const trajectory = json.trajectory ? Trajectory.fromJSON(json.trajectory as Parameters<typeof Trajectory.fromJSON>[0]) : null;
    return new TrainRun(json.info as RunInfo, json.history as TrainRun["history"], trajectory);
  }
}

function stepAtEpochEnd(steps: StepRecord[], epoch: number): number {
  let last = 0;
  for (const s of steps) if (s.epoch === epoch) last = s.step;
  return last;
}
