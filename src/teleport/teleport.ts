/**
 * ws.teleport: an exact, function-preserving change of basis of a ReLU-like network, returned as a
 * NEW tf.LayersModel of the same architecture, with a check of the outputs on probe inputs.
 */
import * as tf from "@tensorflow/tfjs";
import { viewOf, type ModelView } from "../model/view";
import { readParams, cloneModel, assertFiniteParams, flattenParams } from "../model/params";
import { Rng } from "../math/rng";
import { Result } from "../display/result";
import { figure, type Figure } from "../display/figure";
import { Table } from "../display/table";
import { cobStructure, applyCob, sampleCob, parseCob, perLayer, type CobStructure, type CobInput, type LayerCob, type SamplingOptions } from "./structure";
import { compareFunctions, probeInputs, type FunctionCheck } from "../model/check";
import { UnsupportedModelError } from "../errors";

export interface TeleportOptions extends SamplingOptions {
  seed?: number;
  /** An explicit CoB: one tau vector per hidden layer (as in result.cob), instead of sampling. */
  cob?: CobInput;
  /** Inputs [n, ...inputShape] for the function check (default: 32 seeded N(0, 1) samples). */
  probe?: tf.Tensor;
}

export type { FunctionCheck };

export const FUNCTION_TOLERANCE = 1e-5;
const PROBE_SAMPLES = 32;
const HISTOGRAM_VALUES = 20000;

export function teleport(model: tf.LayersModel, options: TeleportOptions = {}): TeleportResult {
  const view = viewOf(model);
  const structure = cobStructure(view);
  const params = readParams(model);
  try {
    assertFiniteParams(view, params, "teleport");
    const tau = options.cob ? parseCob(structure, options.cob) : sampleCob(structure, options, new Rng(options.seed ?? 0));
    const moved = applyCob(structure, params, tau);
    try {
      assertFiniteParams(view, moved, "teleport (the CoB overflows float32)");
      const teleported = cloneModel(model, moved);
      try {
        const check = functionCheck(view, model, teleported, options.probe, options.seed ?? 0);
        return new TeleportResult(teleported, structure, tau, check, sampleValues(view, params), sampleValues(view, moved), options.probe);
      } catch (error) {
        teleported.dispose();
        throw error;
      }
    } finally {
      tf.dispose(moved);
    }
  } finally {
    tf.dispose(params);
  }
}

/** Seeded N(0, 1) probe inputs shaped like the model's input, or the given ones checked (shape, finite values). */
function teleportProbe(view: ModelView, probe: tf.Tensor | undefined, seed: number): tf.Tensor {
  if (!probe && view.inputShape.some((d) => d < 1)) {
    throw new UnsupportedModelError(`teleport: model "${view.name}" has an open input shape [${view.inputShape.join(", ")}]; pass probe inputs`);
  }
  return probeInputs(view, probe, PROBE_SAMPLES, seed + 1, "teleport", "probe inputs");
}

/** Compares the outputs of two models on probe inputs, with the models' own (inference) predict. */
export function functionCheck(view: ModelView, before: tf.LayersModel, after: tf.LayersModel, probe: tf.Tensor | undefined, seed: number): FunctionCheck {
  const x = teleportProbe(view, probe, seed);
  try {
    return compareFunctions(before, after, x, FUNCTION_TOLERANCE);
  } finally {
    x.dispose();
  }
}

function sampleValues(view: ModelView, params: readonly tf.Tensor[]): Float32Array {
  const all = flattenParams(view, params);
  const stride = Math.max(1, Math.ceil(all.length / HISTOGRAM_VALUES));
  return stride === 1 ? all : Float32Array.from({ length: Math.ceil(all.length / stride) }, (_, i) => all[i * stride]);
}

export class TeleportResult extends Result {
  readonly kind = "teleport";
  /** The CoB per hidden layer (input and output units have tau = 1 and are not listed). */
  readonly cob: LayerCob[];

  constructor(
    /** The teleported model: a new tf.LayersModel of the same architecture (the caller owns it; dispose() when done). */
    readonly model: tf.LayersModel,
    readonly structure: CobStructure,
    /** The CoB in one flat vector over all hidden layers. */
    readonly tau: Float64Array,
    readonly check: FunctionCheck,
    private readonly weightsBefore: Float32Array,
    private readonly weightsAfter: Float32Array,
    private readonly probe: tf.Tensor | undefined,
  ) {
    super();
    this.cob = perLayer(structure, tau);
  }

  /** Whether the function check passes the float32 tolerance (rel <= 1e-5). */
  get preserved(): boolean {
    return this.check.rel <= FUNCTION_TOLERANCE;
  }

  /** The inverse teleport (tau -> 1/tau) of this result's model: its .model holds the original weights. */
  undo(): TeleportResult {
    return teleport(this.model, { cob: this.cob.map((c) => ({ layer: c.layer, tau: c.tau.map((t) => 1 / t) })), probe: this.probe });
  }

  summary(): string {
    const taus = Array.from(this.tau);
    const range = taus.length ? `tau in [${Math.min(...taus).toPrecision(3)}, ${Math.max(...taus).toPrecision(3)}]` : "no hidden units";
    return `${this.cob.length} hidden layers, ${this.tau.length} units, ${range}; function check max|f'-f| ${this.check.maxAbs.toExponential(2)} (rel ${this.check.rel.toExponential(2)}, ${this.preserved ? "preserved" : "NOT preserved"})`;
  }

  figures(): Figure[] {
    const weights = figure(
      [
        { type: "histogram", name: "before", x: Array.from(this.weightsBefore), opacity: 0.6, nbinsx: 80 },
        { type: "histogram", name: "after", x: Array.from(this.weightsAfter), opacity: 0.6, nbinsx: 80 },
      ],
      { title: "Trainable weights before and after the teleport", barmode: "overlay", xaxis: { title: "weight" }, yaxis: { title: "count" } },
    );
    const taus = figure(
      this.cob.map((c) => ({ type: "histogram", name: c.layer, x: Array.from(c.tau), opacity: 0.6 })),
      { title: "Change of basis per hidden layer", barmode: "overlay", xaxis: { title: "tau" }, yaxis: { title: "units" } },
    );
    return [weights, taus];
  }

  table(): Table {
    const rows = this.cob.map((c) => {
      const t = Array.from(c.tau);
      return [c.layer, t.length, Math.min(...t), Math.max(...t), this.check.maxAbs, this.check.rel];
    });
    return new Table(["layer", "units", "tau min", "tau max", "check maxAbs", "check rel"], rows, "Teleport");
  }

  protected data(): Record<string, unknown> {
    return { cob: this.cob.map((c) => ({ layer: c.layer, tau: Array.from(c.tau) })), check: this.check, preserved: this.preserved };
  }
}
