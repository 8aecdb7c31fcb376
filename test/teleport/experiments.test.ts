/** The teleport experiments (sweep, level curve, micro-angles, optimized teleports, teleporting during training) against their closed forms. */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { assertNoLeak, assertClose, useTestBackend } from "../helpers";
import { readParams, viewOf } from "../../src/model";
import { Rng } from "../../src/math/rng";
import { train } from "../../src/train";
import { teleport, LevelCurveResult, type Objective } from "../../src/teleport";
import { cobStructure, factorsOf, sampleCob, type Sampling } from "../../src/teleport/structure";
import { ratioLaw, unitMoments } from "../../src/teleport/sweep";
import { mlpModel, bnMlp, bnCnn, classification, relDiff } from "./fixtures";

before(useTestBackend);

test("sweep: the exact law of R = ||g'||^2/||g||^2 (mean and variance from E[tau^+-2], E[tau^+-4]) matches 20000 Monte Carlo teleports within 4 standard errors", () => {
  const cases: [string, tf.LayersModel, Sampling, number][] = [
    ["relu mlp, 3 hidden layers", mlpModel([5, 6, 7, 5, 3], 1), "intra", 0.5],
    ["relu mlp, r = 0.8", mlpModel([5, 6, 7, 5, 3], 2), "intra", 0.8],
    ["linear mlp, inter", mlpModel([4, 5, 6, 3], 3, "linear"), "inter", 0.6],
    ["bn cnn", bnCnn(1, "avg"), "intra", 0.5],
  ];
  const draws = 20000;
  for (const [name, model, sampling, r] of cases) {
    const structure = cobStructure(viewOf(model));
    const rng = new Rng(7);
    const g = structure.params.map((p) => Float64Array.from({ length: p.size }, () => rng.normal()));
    const g2 = g.reduce((a, x) => a + x.reduce((b, v) => b + v * v, 0), 0);
    const law = ratioLaw(structure, g, null, unitMoments(structure, sampling, r, undefined));
    // R by identity 4 (g' = g / d), one draw of taus at a time.
    const values = Array.from({ length: draws }, () => {
      const d = factorsOf(structure, sampleCob(structure, { cobRange: r, sampling }, rng));
      return g.reduce((a, x, k) => a + x.reduce((b, v, e) => b + (v / d[k][e]) ** 2, 0), 0) / g2;
    });
    const mean = values.reduce((a, b) => a + b, 0) / draws;
    const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (draws - 1);
    const fourth = values.reduce((a, b) => a + (b - mean) ** 4, 0) / draws;
    assert.ok(Math.abs(mean - law.mean) <= 4 * Math.sqrt(variance / draws), `${name}: mean ${mean} vs law ${law.mean}`);
    assert.ok(Math.abs(variance - law.std ** 2) <= 4 * Math.sqrt((fourth - variance ** 2) / draws), `${name}: variance ${variance} vs law ${law.std ** 2}`);
    assert.ok(law.std > 0.01 * law.mean, `${name}: the spread is not trivially 0`);
  }
});

test("sweep: measured (autodiff) gradient boosts agree with the law within 4 exact standard errors at r <= 0.5; hidden -> hidden mean is (1 + r^2/3)/(1 - r^2)", async () => {
  const model = mlpModel([6, 24, 24, 3], 2);
  const data = classification([6], 32);
  const samples = 40;
  const result = await assertNoLeak(() => teleport.sweep(model, data, { ranges: [0.1, 0.3, 0.5, 0.9], samples, seed: 1 }), "sweep");
  for (const row of result.rows) {
    assertClose(row.predictedHidden, (1 + row.cobRange ** 2 / 3) / (1 - row.cobRange ** 2), { rtol: 1e-12, what: "closed form" });
    assert.ok(row.predictedHiddenStd > 0 && row.predictedGradStd > 0);
    assertClose(row.hiddenZ, (row.hiddenGradRatio - row.predictedHidden) / (row.predictedHiddenStd / Math.sqrt(samples)), { rtol: 1e-12 });
    if (row.cobRange > 0.5) continue; // heavy tails near r = 1: the mean of 40 is far from normal
    assert.ok(Math.abs(row.hiddenZ) <= 4, `hidden ratio at r = ${row.cobRange}: ${row.hiddenGradRatio} vs ${row.predictedHidden}, z ${row.hiddenZ}`);
    assert.ok(Math.abs(row.gradZ) <= 4, `total ratio at r = ${row.cobRange}: ${row.gradRatio} vs ${row.predictedGrad}, z ${row.gradZ}`);
    assertClose(row.hiddenGradRatioStd, row.predictedHiddenStd, { rtol: 0.4, what: `spread of the hidden ratio at r = ${row.cobRange}` });
  }
  assert.ok(result.rows[3].gradOverWeightChange > result.rows[0].gradOverWeightChange, "| ||g||/||w|| - ||g'||/||w'|| | grows with r");
  assert.equal(result.nanCount, 0);
  const single = await teleport.sweep(mlpModel([6, 5, 3], 1), data, { ranges: [0.5], samples: 2 });
  assert.ok(Number.isNaN(single.rows[0].hiddenGradRatio) && Number.isNaN(single.rows[0].predictedHidden) && single.nanCount === 1, "no hidden -> hidden weights: NaN, counted");
  assert.equal(result.figures().length, 3);
  assert.equal(result.table().rows.length, 4);
  // Figures and tables show what applies: the closed-form law in the legend only where it is the prediction,
  // no all-NaN hidden -> hidden traces or columns for a one-hidden-layer net.
  const names = (r: typeof result) => r.figures()[0].data.map((trace) => trace.name ?? "");
  assert.ok(names(result).includes("hidden->hidden, predicted (1 + r^2/3)/(1 - r^2)"), names(result).join("; "));
  assert.ok(!names(single).some((name) => name.includes("hidden") || name.includes("r^2")), `one hidden layer: ${names(single).join("; ")}`);
  for (const trace of single.figures().flatMap((f) => f.data)) {
    assert.ok(!(trace.y as number[]).every(Number.isNaN), `trace "${trace.name}" is all NaN`);
  }
  assert.ok(!single.table().columns.some((c) => c.includes("idden")), `columns: ${single.table().columns.join(", ")}`);
  const centered = await teleport.sweep(model, data, { ranges: [0.3], samples: 2, sampling: "centered", center: 2 });
  assert.ok(!names(centered).some((name) => name.includes("r^2")) && names(centered).includes("hidden->hidden, predicted E[tau_in^2] E[tau_out^-2]"), names(centered).join("; "));
  tf.dispose([data.x, data.y]);
});

test("levelCurve: the teleport walk keeps the loss (rel 1e-5) while moving away; the chord does not", async () => {
  const model = mlpModel([6, 10, 10, 3], 3);
  const data = classification([6], 32);
  const result = await assertNoLeak(() => teleport.levelCurve(model, data, { steps: 6, cobRange: 0.5, points: 11, seed: 2 }), "levelCurve");
  const l0 = result.walk[0].loss;
  assert.ok(result.walkDeviation <= 1e-5 * Math.max(1, l0), `walk deviation ${result.walkDeviation}`);
  assert.ok(result.walk[6].distance > 0.1, "the walk moves");
  assert.ok(Math.max(result.chordBarrier, -result.chordDip) > 1e-3, `chord barrier ${result.chordBarrier}, dip ${result.chordDip}: the chord leaves the level set`);
  assertClose(result.chord[0].loss, l0, { rtol: 1e-6 });
  assertClose(result.chord[10].loss, result.walk[6].loss, { rtol: 1e-5 });
  tf.dispose([data.x, data.y]);
});

test("levelCurve: the chord barrier and dip are measured against the line between the endpoints' losses, as plotted", () => {
  // A chord that dips from 0.817 to 0.763 and back: no barrier, a dip of 0.054 (the case the old summary called "barrier 0.000").
  const losses = [0.817, 0.79, 0.763, 0.79, 0.817];
  const chord = losses.map((loss, i) => ({ t: i / 4, loss, distance: i }));
  const dip = new LevelCurveResult([{ step: 0, loss: 0.817, distance: 0 }, { step: 1, loss: 0.817, distance: 4 }], chord);
  assertClose(dip.chordExcess, [0, -0.027, -0.054, -0.027, 0], { atol: 1e-12, what: "loss minus the endpoints' line" });
  assert.equal(dip.chordBarrier, 0);
  assertClose(dip.chordDip, -0.054, { atol: 1e-12 });
  assert.match(dip.summary(), /chord loss 0\.7630\.\.0\.8170: barrier 0\.00, dip -0\.0540/);
  // Unequal endpoints: the line is sloped, so a chord that rises monotonically less steeply than it has a dip, not a barrier.
  const sloped = new LevelCurveResult([{ step: 0, loss: 1, distance: 0 }], [{ t: 0, loss: 1, distance: 0 }, { t: 0.5, loss: 1.5, distance: 1 }, { t: 1, loss: 3, distance: 2 }]);
  assertClose(sloped.chordExcess, [0, -0.5, 0], { atol: 1e-12 });
  const bump = new LevelCurveResult([{ step: 0, loss: 1, distance: 0 }], [{ t: 0, loss: 1, distance: 0 }, { t: 0.5, loss: 2.5, distance: 1 }, { t: 1, loss: 3, distance: 2 }]);
  assertClose(bump.chordBarrier, 0.5, { atol: 1e-12 });
  const [figure] = dip.figures();
  const line = figure.data.find((trace) => trace.name === "endpoints' loss, interpolated");
  assertClose(line?.y as number[], [0.817, 0.817, 0.817, 0.817, 0.817], { atol: 1e-12, what: "the plotted reference line" });
  assertClose(dip.table().column("above endpoints' line").slice(2) as number[], dip.chordExcess, { atol: 0 });
});

test("microAngles: micro-teleports are orthogonal to the gradient to first order (|angle - 90| = O(r): < 0.01 deg at r = 1e-3, 10x less at 1e-4); random directions spread (180/pi)/sqrt(n)", async () => {
  const model = mlpModel([6, 16, 16, 3], 4);
  const data = classification([6], 32);
  const result = await assertNoLeak(() => teleport.microAngles(model, data, { n: 200, seed: 3 }), "microAngles");
  const worst = Math.max(...result.angles.map((a) => Math.abs(a - 90)));
  assert.ok(worst <= 1e-2, `worst deviation ${worst} deg at r = 1e-3`);
  const finer = await teleport.microAngles(model, data, { n: 50, seed: 3, cobRange: 1e-4 });
  const worstFiner = Math.max(...finer.angles.map((a) => Math.abs(a - 90)));
  assert.ok(worstFiner <= worst / 5, `deviation shrinks with r: ${worst} -> ${worstFiner}`);
  const control = result.control;
  const mean = control.reduce((a, b) => a + b, 0) / control.length;
  const std = Math.sqrt(control.reduce((a, b) => a + (b - mean) ** 2, 0) / (control.length - 1));
  assertClose(std, result.expectedControlStd, { rtol: 0.2, what: "control spread" });
  assert.ok(Math.abs(mean - 90) <= (4 * result.expectedControlStd) / Math.sqrt(control.length), `control mean ${mean}`);
  assert.ok(worst < result.expectedControlStd / 100, "teleport directions are far closer to 90 deg than random ones");
  tf.dispose([data.x, data.y]);
});

test("optimize: every objective ends no worse than the start, inside the box, with the function preserved; gradNorm / balance re-measured on the models", async () => {
  const model = bnMlp(5);
  const data = classification([5], 24);
  for (const objective of ["gradNorm", "oneStepDecrease", "balance", "sharper", "flatter"] as Objective[]) {
    const result = await assertNoLeak(async () => {
      const r = await teleport.optimize(model, data, { objective, cobRange: 0.5, steps: 15, lr: 0.1, samples: 6 });
      r.model.dispose();
      return r;
    }, `optimize ${objective}`);
    const better = objective === "balance" || objective === "flatter" ? result.after <= result.before : result.after >= result.before;
    assert.ok(better, `${objective}: ${result.before} -> ${result.after}`);
    assert.ok(result.after !== result.before, `${objective} moved`);
    for (const c of result.cob) for (const t of c.tau) assert.ok(t >= 0.5 * (1 - 1e-12) && t <= 1.5 * (1 + 1e-12), `${objective}: tau ${t} outside [0.5, 1.5]`);
    assert.ok(result.check.rel <= 1e-5, `${objective}: check ${result.check.rel}`);
    if (objective === "gradNorm" || objective === "balance") {
      assert.ok(result.measured !== null);
      assertClose(result.measured.before, result.before, { rtol: 1e-5, what: `${objective} before` });
      assertClose(result.measured.after, result.after, { rtol: 1e-4, what: `${objective} after (closed form vs the teleported model)` });
    }
  }
  // CNNs (BN, pooling, dropout, Flatten) take every objective, Hessian ones included.
  const cnnData = classification([8, 8, 2]);
  const cnn = bnCnn(1, "avg");
  for (const objective of ["gradNorm", "sharper", "flatter"] as Objective[]) {
    const cnnResult = await assertNoLeak(async () => {
      const r = await teleport.optimize(cnn, cnnData, { objective, steps: 5, samples: 4 });
      r.model.dispose();
      return r;
    }, `optimize ${objective} on a CNN`);
    const better = objective === "flatter" ? cnnResult.after < cnnResult.before : cnnResult.after > cnnResult.before;
    assert.ok(better && cnnResult.check.rel <= 1e-5, `CNN ${objective}: ${cnnResult.before} -> ${cnnResult.after}, check ${cnnResult.check.rel}`);
  }
  tf.dispose([cnnData.x, cnnData.y]);
  tf.dispose([data.x, data.y]);
});

test("train({ teleport }) at the start equals training the teleported model; the hook leaks nothing and leaves optimizer state consistent", async () => {
  const data = classification([6], 40);
  const a = mlpModel([6, 8, 8, 3], 6);
  const b = mlpModel([6, 8, 8, 3], 6);
  const options = { epochs: 2, batchSize: 8, lr: 0.05, optimizer: "momentum" as const, seed: 1, progress: false };
  // Tensors ws.train itself leaves behind (its optimizer slots, a shared-code issue) are the baseline: teleporting adds none.
  const tensorsAfter = async (run: () => Promise<unknown>) => {
    const before = tf.memory().numTensors;
    await run();
    return tf.memory().numTensors - before;
  };
  const moved = teleport(b, { cobRange: 0.9, seed: 3 });
  const baseline = await tensorsAfter(() => train(moved.model, data, options));
  assert.equal(await tensorsAfter(() => train(a, data, { ...options, teleport: { cobRange: 0.9, seed: 3 } })), baseline, "train with teleport adds no tensors");
  assert.ok(relDiff(readParams(a), readParams(moved.model)) <= 1e-6, "teleport-at-init inside train == teleport then train");
  // Periodic random and optimised teleports with Adam run, leak nothing and keep the loss finite.
  for (const policy of ["random", "optimized"] as const) {
    const c = mlpModel([6, 8, 8, 3], 7);
    const adam = { ...options, optimizer: "adam" as const, lr: 0.01 };
    const reference = mlpModel([6, 8, 8, 3], 7);
    const plain = await tensorsAfter(() => train(reference, data, adam));
    let run: Awaited<ReturnType<typeof train>> | null = null;
    assert.equal(await tensorsAfter(async () => (run = await train(c, data, { ...adam, teleport: { every: 3, cobRange: 0.3, policy, seed: 1 } }))), plain, `train teleport ${policy} adds no tensors`);
    assert.ok(run !== null);
    const finalLoss = (run as unknown as { finalLoss: number }).finalLoss;
    assert.ok(Number.isFinite(finalLoss), `${policy}: loss ${finalLoss}`);
  }
  await assert.rejects(train(mlpModel(), data, { teleport: { policy: "best" as "random" } }), /policy must be "random" or "optimized"/);
  tf.dispose([data.x, data.y]);
});
