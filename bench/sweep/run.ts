/**
 * The reliability sweep of issue 19 (its cases outside topology): runs every bad-input and fault case against the
 * public API and prints one outcome per case and the counts per outcome. `npm run bench sweep`, or
 * `node --import tsx bench/sweep/run.ts [name-filter]`.
 *
 * Each case runs in a child process, one after another; a child that dies is a "crash" and one that does not answer
 * within the case's time limit is a "hang" (the parent kills it and goes on with the next case in a new child).
 * In the child an outcome is:
 *   leak         tf.memory().numTensors changed, or a temporary file stayed behind;
 *   clear error  a ws.errors kind (WeightscopeError with a code) was thrown;
 *   unclear      any other error (an internal TF.js / V8 / Node message reached the user);
 *   correct / silent wrong / damaged   the call returned and the case's own check judged the result.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import * as ws from "../../src";
import { Trajectory } from "../../src/train";

type Outcome = "crash" | "hang" | "silent wrong" | "damaged" | "leak" | "unclear" | "clear error" | "correct";
const OUTCOMES: Outcome[] = ["crash", "hang", "silent wrong", "damaged", "leak", "unclear", "clear error", "correct"];

/** What a returning case reports: "correct", or the defect with a reason. */
type Verdict = "correct" | { outcome: "silent wrong" | "damaged" | "leak"; why: string };

/**
 * Models and data a case uses, made before the tensor count is taken, so that what a call leaves behind is told
 * apart from the case's own inputs (the issue's prelude: m = ws.mlp([4, 8, 3]), d = ws.data.blobs(n 8, k 3, dim 4)).
 */
function fixtures() {
  return {
    m: ws.mlp([4, 8, 3]),
    d: ws.data.blobs({ n: 8, k: 3, dim: 4, seed: 1 }),
    twoClasses: ws.mlp([4, 8, 2]),
    narrow: ws.mlp([2, 3, 2]),
    nanProbe: tf.tensor2d([[NaN, 0, 0, 0]]),
    wide: { x: tf.zeros([6, 4]), y: tf.zeros([6, 3]) },
    badValidation: { x: tf.zeros([2, 5]), y: tf.tensor1d([0, 1], "int32") },
    zeroLabels: tf.zeros([24], "int32"),
    wrongWeights: [tf.zeros([4, 8]), tf.zeros([8]), tf.zeros([8, 2]), tf.zeros([3])],
    conv: ws.cnn([6, 6, 1], { filters: [2], dense: [], classes: 3 }),
    images: { x: tf.zeros([3, 6, 6, 1]), y: tf.tensor1d([0, 1, 2], "int32") },
    nanModel: (() => {
      const model = ws.mlp([4, 8, 3]);
      model.layers[0].setWeights([tf.fill([4, 8], NaN), tf.zeros([8])]);
      return model;
    })(),
  };
}
type Fixtures = ReturnType<typeof fixtures>;

interface Case {
  name: string;
  /** Seconds before the case counts as a hang (default 60). */
  limit?: number;
  /** The case disposes whatever a successful call returns (a result's model, a run's trajectory). */
  run(f: Fixtures): Promise<Verdict>;
}

const q = { progress: false } as const;
const weightsOf = (model: tf.LayersModel) => model.getWeights().map((w) => Array.from(w.dataSync()));
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const made: string[] = [];
process.on("exit", () => made.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ws-sweep-"));
  made.push(dir);
  return dir;
};
const tempsIn = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith(".tmp"));
const finite = (model: tf.LayersModel) => weightsOf(model).every((w) => w.every(Number.isFinite));
/** A returned value where an error was due: the call computed something it should have refused. */
const wrong = (why: string): Verdict => ({ outcome: "silent wrong", why });

/** The model must read back unchanged after a refused call. */
async function untouched(m: tf.LayersModel, call: () => Promise<unknown> | unknown): Promise<Verdict> {
  const before = weightsOf(m);
  try {
    await call();
  } finally {
    if (!same(before, weightsOf(m))) throw Object.assign(new Error("the model changed"), { damaged: true });
  }
  return wrong("returned instead of refusing");
}

const cases: Case[] = [
  // Crashes
  { name: "embed.ladder every 0", run: async () => (await ws.embed.ladder({ widths: [1], steps: 10, every: 0 }), wrong("returned")) },
  { name: "embed.ladder every -1", run: async () => (await ws.embed.ladder({ widths: [1], steps: 10, every: -1 }), wrong("returned")) },
  { name: "embed.split copies 5e7", run: async ({ m }) => (ws.embed.split(m, { neuron: 0, copies: 5e7 }), wrong("returned")) },
  { name: "embed.widen [3e7]", run: async ({ narrow }) => (ws.embed.widen(narrow, [3e7]), wrong("returned")) },
  { name: "symmetry.ensemble width 3e8", run: async () => (ws.symmetry.ensemble({ sizes: [1, 3e8, 1] }, { networks: 4 }), wrong("returned")) },
  { name: "embed.ladder widths [2e7]", run: async () => (await ws.embed.ladder({ widths: [2e7] }), wrong("returned")) },
  { name: "data.regression1d n 2e9", run: async () => (ws.data.regression1d({ n: 2e9 }), wrong("returned")) },
  {
    name: "CIFAR-size CNN, batch 128 on wasm; then a probe", limit: 120,
    run: async ({ m, d }) => {
      await ws.ready({ backend: "wasm" });
      const conv = (filters: number, inputShape?: number[]) => tf.layers.conv2d({ filters, kernelSize: 3, padding: "same", activation: "relu", inputShape });
      const model = tf.sequential({ layers: [conv(32, [32, 32, 3]), conv(32), tf.layers.maxPooling2d({ poolSize: 2 }), conv(64), conv(64), tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.flatten(), tf.layers.dense({ units: 256, activation: "relu" }), tf.layers.dense({ units: 10 })] });
      const x = tf.zeros([128, 32, 32, 3]);
      const y = tf.zeros([128], "int32");
      try {
        await ws.train(model, { x, y }, { batchSize: 128, ...q });
        return "correct";
      } catch (error) {
        // The error is the case's outcome once the session is shown to go on: a probe on the same backend.
        if (!Number.isFinite((await ws.sharpness(m, d, { progress: false })).lambdaMax)) return wrong("the probe after the error failed");
        throw error;
      } finally {
        tf.dispose([x, y]);
        model.dispose();
      }
    },
  },
  // Hangs
  { name: "evaluate batchSize 0", limit: 20, run: async ({ m, d }) => (ws.evaluate(m, d, { batchSize: 0 }), wrong("returned")) },
  { name: "teleport.levelCurve points 1e8", limit: 20, run: async ({ m, d }) => (await ws.teleport.levelCurve(m, d, { points: 1e8 }), wrong("returned")) },
  { name: "teleport.microAngles n 1e9", limit: 20, run: async ({ m, d }) => (await ws.teleport.microAngles(m, d, { n: 1e9 }), wrong("returned")) },
  { name: "sharpness traceSamples 1e9", limit: 20, run: async ({ m, d }) => (await ws.sharpness(m, d, { traceSamples: 1e9 }), wrong("returned")) },
  // The user's model or files damaged
  {
    name: "train lr 1e20 (diverges)",
    run: async ({ m, d }) => {
      const run = await ws.train(m, d, { lr: 1e20, epochs: 5, ...q });
      if (!finite(m)) return { outcome: "damaged", why: "NaN weights left in the model" };
      return /keeps the weights/.test(run.info.stopped ?? "") ? "correct" : wrong(`stopped says ${run.info.stopped}`);
    },
  },
  { name: "train validation of the wrong shape", run: ({ m, d, badValidation }) => untouched(m, () => ws.train(m, d, { validation: badValidation, ...q })) },
  {
    name: "two interleaved train calls on one model",
    run: async ({ d, m }) => {
      const options = { epochs: 2, batchSize: "full" as const, shuffle: false, ...q };
      const copy = ws.cloneModel(m);
      await Promise.all([ws.train(m, d, options), ws.train(m, d, options)]);
      await ws.train(copy, d, options);
      await ws.train(copy, d, options);
      const ok = same(weightsOf(m), weightsOf(copy));
      copy.dispose();
      return ok ? "correct" : { outcome: "damaged", why: "one run's updates were lost" };
    },
  },
  {
    name: "save.tfjs failing half-way (model.json + weights.bin)",
    run: async ({ m }) => {
      const dir = tempDir();
      const json = await ws.save.tfjs(m, dir);
      const read = () => [fs.readFileSync(json, "utf8"), fs.readFileSync(path.join(dir, "weights.bin")).toString("hex")];
      const before = read();
      function* failing(): Generator<Uint8Array> {
        yield Buffer.from("{");
        throw new Error("disk full");
      }
      // Loaded here so that the sweep also runs against older code without it (the case is then "unclear").
      const { writeFilesAtomic } = (await import("../../src/io")) as { writeFilesAtomic: (files: { file: string; content: string | Uint8Array | Iterable<Uint8Array> }[], where?: string) => void };
      if (typeof writeFilesAtomic !== "function") return { outcome: "damaged", why: "this code writes weights.bin, then model.json, in place: a failure between them leaves a mixed pair" };
      try {
        writeFilesAtomic([{ file: path.join(dir, "weights.bin"), content: new Uint8Array(8) }, { file: json, content: failing() }], "save.tfjs");
      } catch {
        if (!same(before, read())) return { outcome: "damaged", why: "the old save changed" };
        return tempsIn(dir).length ? { outcome: "leak", why: "temporary file left" } : "correct";
      }
      return wrong("the failing write reported success");
    },
  },
  // Wrong numbers without an error
  { name: "evaluate labels >= outputs", run: async ({ twoClasses, d }) => (ws.evaluate(twoClasses, d), wrong("returned a loss")) },
  { name: "train validation labels >= outputs", run: ({ twoClasses, d, zeroLabels }) => untouched(twoClasses, () => ws.train(twoClasses, { x: d.x, y: zeroLabels }, { validation: d, ...q })) },
  { name: "teleport.sweep labels >= outputs", run: async ({ twoClasses, d }) => (await ws.teleport.sweep(twoClasses, d, { samples: 2 }), wrong("returned rows")) },
  { name: "teleport.levelCurve labels >= outputs", run: async ({ twoClasses, d }) => (await ws.teleport.levelCurve(twoClasses, d), wrong("returned a loss")) },
  { name: "train regression targets of the wrong width", run: ({ twoClasses, wide }) => untouched(twoClasses, () => ws.train(twoClasses, wide, q)) },
  { name: "teleport.sweep regression targets of the wrong width", run: async ({ twoClasses, wide }) => (await ws.teleport.sweep(twoClasses, wide, { samples: 2 }), wrong("returned rows")) },
  { name: "train lrDecay -1", run: ({ m, d }) => untouched(m, () => ws.train(m, d, { lrDecay: -1, epochs: 2, ...q })) },
  { name: "train lrDecay NaN", run: ({ m, d }) => untouched(m, () => ws.train(m, d, { lrDecay: NaN, epochs: 2, ...q })) },
  { name: "evaluate on NaN weights", run: async ({ nanModel, d }) => (ws.evaluate(nanModel, d), wrong("returned an accuracy")) },
  { name: "teleport NaN probe input", run: async ({ m, nanProbe }) => { const r = ws.teleport(m, { probe: nanProbe }); r.model.dispose(); return wrong(`check ${r.preserved ? "passed" : "failed"}`); } },
  { name: "embed.split NaN probe input", run: async ({ m, nanProbe }) => { const r = ws.embed.split(m, { neuron: 0, x: nanProbe }); r.model.dispose(); return wrong(`check ${r.check.passed ? "passed" : "failed"}`); } },
  { name: "hessian exact false, iterations 0", run: async ({ m, d }) => (await ws.hessian(m, d, { exact: false, iterations: 0 }), wrong("empty spectrum")) },
  { name: "elasticity.locality negative distances", run: async ({ m, d }) => (await ws.elasticity.locality(m, d, { ...q, points: 6, distance: Array.from({ length: 6 }, () => new Array<number>(6).fill(-1)) }), wrong("correlated negative distances")) },
  { name: "elasticity.locality NaN distances", run: async ({ m, d }) => (await ws.elasticity.locality(m, d, { ...q, points: 6, distance: Array.from({ length: 6 }, () => new Array<number>(6).fill(NaN)) }), wrong("correlated NaN distances")) },
  {
    name: "elasticity eta 1e30 (finite mode)",
    run: async ({ m, d }) => {
      const r = await ws.elasticity(m, d, { ...q, mode: "finite", eta: 1e30, points: 6 });
      const nan = r.srel.flat().filter(Number.isNaN).length;
      return nan === r.undefinedCount && r.warnings.some((w) => /overflow/.test(w)) ? "correct" : wrong(`${nan} NaN entries, ${r.undefinedCount} counted, warnings: ${r.warnings.join("; ")}`);
    },
  },
  { name: "embed.ladder init NaN", run: async () => { const r = await ws.embed.ladder({ widths: [1], steps: 10, init: NaN }); r.models.forEach((x) => x.dispose()); return wrong("NaN model"); } },
  { name: "mlp init std Infinity", run: async () => (ws.mlp([4, 3], { init: { std: Infinity } }).dispose(), wrong("NaN model")) },
  { name: "data.blobs std NaN", run: async () => { const b = ws.data.blobs({ std: NaN }); tf.dispose([b.x, b.y]); return wrong("NaN data"); } },
  {
    name: "truncated trajectory spill file",
    run: async () => {
      const dir = tempDir();
      const t = new Trajectory({ a: [4] }, { maxMemoryMB: 0, spillDir: dir });
      t.push(0, { a: Float32Array.from([1, 2, 3, 4]) });
      fs.truncateSync(path.join(dir, fs.readdirSync(dir)[0]), 8);
      try {
        return wrong(`read [${Array.from(t.snapshot("a", 0)).join(", ")}]`);
      } finally {
        t.dispose();
      }
    },
  },
  { name: "train logEvery 0", run: ({ m, d }) => untouched(m, () => ws.train(m, d, { logEvery: 0, ...q })) },
  // Leaks
  { name: "train with NaN weights", run: async ({ nanModel, d }) => (await ws.train(nanModel, d, q), wrong("trained")) },
  { name: "train unknown optimizer", run: ({ m, d }) => untouched(m, () => ws.train(m, d, { optimizer: "adamw" as "adam", ...q })) },
  { name: "train bad record.layers", run: ({ m, d }) => untouched(m, () => ws.train(m, d, { record: { layers: ["nope"] }, ...q })) },
  { name: "cloneModel with wrong shapes", run: async ({ m, wrongWeights }) => (ws.cloneModel(m, wrongWeights).dispose(), wrong("cloned")) },
  { name: "elasticity dense engine on a CNN", run: async ({ conv, images }) => (await ws.elasticity(conv, images, { ...q, engine: "dense" }), wrong("ran")) },
  { name: "elasticity.track unsupported factory model", run: async ({ d }) => (await ws.elasticity.track(() => tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4] }), tf.layers.layerNormalization()] }), d, { ...q, seeds: [0, 1] }), wrong("ran")) },
  { name: "symmetry.breaking (a successful call)", limit: 120, run: async ({ d }) => (await ws.symmetry.breaking({ train: d, test: d }, { mu: [0.1], k: [1], epochs: 1, seeds: 1, hidden: 4 }), "correct") },
  // Temporary files
  {
    name: "killed safetensors save, then a save of the same file", limit: 120,
    run: async ({ twoClasses }) => {
      const dir = tempDir();
      const file = path.join(dir, "big.safetensors");
      const script = `const ws = require(${JSON.stringify(path.resolve(__dirname, "../../src"))});
        ws.ready({ backend: "cpu" }).then(() => ws.save.safetensors(ws.mlp([8000, 8000], { init: "zeros" }), ${JSON.stringify(file)}));`;
      const child = spawn(process.execPath, ["--import", "tsx", "-e", script], { stdio: "ignore", env: { ...process.env, WEIGHTSCOPE_QUIET: "1" } });
      const started = Date.now();
      while (tempsIn(dir).length === 0 && Date.now() - started < 60000) await new Promise((r) => setTimeout(r, 5));
      child.kill("SIGKILL");
      await new Promise((r) => child.on("exit", r));
      if (tempsIn(dir).length !== 1) return wrong("the killed save left no temporary file to clean (killed too late?)");
      await ws.save.safetensors(twoClasses, file);
      return tempsIn(dir).length ? { outcome: "leak", why: "the killed save's temporary file stayed" } : "correct";
    },
  },
  { name: "ws.save to a directory", run: async ({ m, d }) => saveRun(m, d, (run) => { const dir = tempDir(); try { ws.save(run, dir); } finally { leftTemps(dir); } }) },
  { name: "ws.save to \"\"", run: async ({ m, d }) => saveRun(m, d, (run) => { try { ws.save(run, ""); } finally { leftTemps(process.cwd()); } }) },
  {
    name: "trajectory spill files deleted",
    run: async ({ m, d }) => {
      const dir = tempDir();
      const run = await ws.train(m, d, { record: { every: 1, maxMemoryMB: 0, spillDir: dir }, epochs: 2, ...q });
      const spilled = fs.readdirSync(dir).length;
      run.trajectory?.dispose();
      return spilled === 1 && fs.readdirSync(dir).length === 0 ? "correct" : { outcome: "leak", why: `${spilled} spill files, ${fs.readdirSync(dir).length} left after dispose` };
    },
  },
  // Unclear internal messages
  { name: "teleport undo() after the result's model is disposed", run: async ({ m }) => { const r = ws.teleport(m); r.model.dispose(); r.undo().model.dispose(); return wrong("undid"); } },
  { name: "ws.load of a missing file", run: async () => (ws.load(path.join(tempDir(), "none.json")), wrong("loaded")) },
  { name: "ws.load.tfjs of a missing file", run: async () => ((await ws.load.tfjs(path.join(tempDir(), "model.json"))).dispose(), wrong("loaded")) },
  { name: "a run's JSON passed to topology.trajectory", run: async ({ m, d }) => { const run = await ws.train(m, d, { record: true, ...q }); await ws.topology.trajectory(run.toJSON() as unknown as ws.TrainRun); run.trajectory?.dispose(); return wrong("ran"); } },
  // Controls: ordinary calls must come out correct.
  { name: "control: train + evaluate", run: async ({ m, d }) => { await ws.train(m, d, q); return Number.isFinite(ws.evaluate(m, d).loss) ? "correct" : wrong("NaN loss"); } },
  { name: "control: teleport preserves the function", run: async ({ m }) => { const r = ws.teleport(m); const ok = r.preserved; r.model.dispose(); return ok ? "correct" : wrong("not preserved"); } },
];

/** Trains the fixture one step and saves the run with `write`, which must refuse. */
async function saveRun(m: tf.LayersModel, d: ws.Dataset, write: (run: ws.TrainRun) => void): Promise<Verdict> {
  const run = await ws.train(m, d, q);
  write(run);
  return wrong("saved");
}

function leftTemps(dir: string): void {
  if (tempsIn(dir).length) throw Object.assign(new Error(`a temporary file stayed in ${dir}`), { leakedFile: true });
}

/** Messages of TF.js, V8 and Node internals that reached users before (issue 19's list, and similar). */
const INTERNAL = /Pass at least one tensor|Invalid typed array length|Size\(\d+\) must match|Invalid string length|is not a function|ENOENT|EISDIR|is disposed|already disposed|Cannot read properties|TypeError|RangeError|RuntimeError|Aborted/;
/** ws.errors where this code has it. */
const typed = (ws as { errors?: typeof ws.errors }).errors;

/** Runs cases from `start` in this process, printing one JSON line per case. */
async function child(start: number, filter: string): Promise<void> {
  await ws.ready({ backend: "cpu" });
  for (let i = start; i < cases.length; i++) {
    const c = cases[i];
    if (filter && !c.name.includes(filter)) continue;
    console.log(JSON.stringify({ started: i }));
    const f = fixtures();
    const before = tf.memory().numTensors;
    let outcome: Outcome;
    let detail = "";
    try {
      const verdict = await c.run(f);
      if (verdict === "correct") outcome = "correct";
      else [outcome, detail] = [verdict.outcome, verdict.why];
    } catch (error) {
      const e = error as Error & { code?: string; damaged?: boolean; leakedFile?: boolean };
      if (e.damaged) [outcome, detail] = ["damaged", "the model changed before the error"];
      else if (e.leakedFile) [outcome, detail] = ["leak", "a temporary file stayed"];
      else if (typed && e instanceof typed.WeightscopeError) [outcome, detail] = ["clear error", `${e.name} ${e.code}: ${e.message}`];
      // Code from before ws.errors: judged by the message (TF.js, V8 and Node internals are unclear, the rest clear).
      else if (!typed && e instanceof Error && !INTERNAL.test(`${e.name}: ${e.message}`)) [outcome, detail] = ["clear error", `(untyped) ${e.message}`];
      else [outcome, detail] = ["unclear", `${e?.name}: ${e?.message}`];
    }
    const after = tf.memory().numTensors;
    if (after !== before) [outcome, detail] = ["leak", `${after - before} tensors left (${outcome}: ${detail})`];
    if (tf.getBackend() !== "cpu") await ws.ready({ backend: "cpu" });
    console.log(JSON.stringify({ case: i, outcome, detail: detail.split("\n")[0].slice(0, 240) }));
  }
}

async function parent(filter: string): Promise<void> {
  const results = new Map<number, { outcome: Outcome; detail: string }>();
  let next = 0;
  while (next < cases.length) {
    const proc = spawn(process.execPath, ["--import", "tsx", __filename, "--child", String(next), filter], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WEIGHTSCOPE_QUIET: "1" } });
    let current = next;
    let timer: NodeJS.Timeout | undefined;
    let buffer = "";
    const arm = (i: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        results.set(i, { outcome: "hang", detail: `no answer in ${cases[i].limit ?? 60} s` });
        proc.kill("SIGKILL");
      }, (cases[i].limit ?? 60) * 1000);
    };
    let stderr = "";
    proc.stderr.on("data", (chunk) => (stderr = (stderr + String(chunk)).slice(-2000)));
    proc.stdout.on("data", (chunk) => {
      buffer += String(chunk);
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!line.startsWith("{")) continue;
        const message = JSON.parse(line) as { started?: number; case?: number; outcome?: Outcome; detail?: string };
        if (message.started !== undefined) {
          current = message.started;
          arm(current);
        } else if (message.case !== undefined) {
          results.set(message.case, { outcome: message.outcome as Outcome, detail: message.detail ?? "" });
          console.log(`${message.outcome!.padEnd(12)} ${cases[message.case].name}  ${message.detail ?? ""}`.slice(0, 220));
        }
      }
    });
    await new Promise((resolve) => proc.on("exit", resolve));
    clearTimeout(timer);
    if (!results.has(current) && (!filter || cases[current].name.includes(filter))) {
      results.set(current, { outcome: "crash", detail: stderr.trim().split("\n").slice(-1)[0] ?? "" });
    }
    const r = results.get(current);
    if (r && (r.outcome === "crash" || r.outcome === "hang")) console.log(`${r.outcome.padEnd(12)} ${cases[current].name}  ${r.detail}`.slice(0, 220));
    next = current + 1;
  }
  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, [...results.values()].filter((r) => r.outcome === o).length]));
  console.log(`\n${results.size} cases: ${OUTCOMES.map((o) => `${counts[o]} ${o}`).join(", ")}`);
}

const args = process.argv.slice(2);
if (args[0] === "--child") void child(Number(args[1]), args[2] ?? "");
else void parent(args[0] ?? "");
