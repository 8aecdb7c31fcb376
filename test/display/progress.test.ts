import { describe, it } from "node:test";
import * as assert from "node:assert/strict";
import { formatDuration, optionalProgress, progress, progressText } from "../../src/display/progress";

describe("progress text (tqdm-like)", () => {
  it("elapsed, ETA from the mean rate, rate and status", () => {
    // 45 of 100 items in 12 s: 3.75 it/s, 55 items left -> 55 / 3.75 = 14.67 s -> 00:14 (truncated).
    const text = progressText("sharpness", 45, 100, 12_000, "lambda 3.2");
    assert.equal(text, `sharpness  45%|${"█".repeat(9)}${" ".repeat(11)}| 45/100 [00:12<00:14, 3.75 it/s, lambda 3.2]`);
  });

  it("slow items read as seconds per item; nothing done yet has an unknown ETA and rate", () => {
    assert.match(progressText("hessian", 2, 10, 5_000), /\[00:05<00:20, 2\.50 s\/it\]$/);
    assert.match(progressText("hessian", 0, 10, 300), /  0%\| {20}\| 0\/10 \[00:00<\?, \? it\/s\]$/);
  });

  it("a finished bar has no ETA; long runs show hours", () => {
    assert.match(progressText("train", 10, 10, 4_000, undefined, true), /100%\|█{20}\| 10\/10 \[00:04, 2\.50 it\/s\]$/);
    assert.equal(formatDuration(3723), "1:02:03");
    assert.equal(formatDuration(59.6), "00:59");
  });
});

describe("progress bar", () => {
  it("renders on a terminal at most every 200 ms of its clock, and the final line always", () => {
    let now = 1_000;
    const written: string[] = [];
    const bar = progress("work", 4, { clock: () => now, delayMs: 0, stream: { write: (s: string) => written.push(s), isTTY: true } });
    now += 500;
    bar.update(1);
    now += 100; // within 200 ms of the last render: skipped
    bar.update(2);
    now += 400;
    bar.update(3, "almost");
    now += 1_000;
    bar.finish("done");
    assert.equal(written.length, 3);
    // 1 item in 0.5 s: 2 it/s, 3 left -> 1.5 s -> 00:01; 3 items in 1 s: 3 it/s, 1 left -> 0.33 s -> 00:00.
    assert.match(written[0], /^\r.* 1\/4 \[00:00<00:01, 2\.00 it\/s\]\x1b\[K$/);
    assert.match(written[1], /^\r.* 3\/4 \[00:01<00:00, 3\.00 it\/s, almost\]\x1b\[K$/);
    assert.match(written[2], /^\rwork 100%.* 4\/4 \[00:02, 2\.00 it\/s, done\]\x1b\[K\n$/);
  });

  it("off a terminal only the final line is written", () => {
    let now = 0;
    const written: string[] = [];
    const bar = progress("quiet", 2, { clock: () => now, delayMs: 0, stream: { write: (s: string) => written.push(s) } });
    now = 1_000;
    bar.update(1);
    now = 2_000;
    bar.finish();
    assert.deepEqual(written, [`quiet 100%|${"█".repeat(20)}| 2/2 [00:02, 1.00 it/s]\n`]);
  });
});

describe("progress delay (tqdm's delay)", () => {
  it("a call that ends within the delay shows nothing; a longer one appears once the delay has passed", () => {
    let now = 0;
    const written: string[] = [];
    const stream = { write: (s: string) => written.push(s), isTTY: true };
    const quick = progress("quick", 2, { clock: () => now, stream });
    now = 400;
    quick.update(1);
    now = 900;
    quick.finish();
    assert.deepEqual(written, [], "finished after 900 ms, within the default 1000 ms delay: silent");
    now = 0;
    const slow = progress("slow", 3, { clock: () => now, stream });
    now = 500;
    slow.update(1);
    now = 1_200;
    slow.update(2);
    now = 1_500;
    slow.finish();
    assert.equal(written.length, 2);
    assert.match(written[0], /slow .* 2\/3 \[00:01<00:00, 1\.67 it\/s\]/);
    assert.match(written[1], /slow 100%.* 3\/3 \[00:01, 2\.00 it\/s\]/);
  });
});

describe("progress: false", () => {
  it("gives no bar; any other value (the default undefined included) gives one", () => {
    assert.equal(optionalProgress(false, "off", 3), null);
    for (const enabled of [undefined, true]) {
      const bar = optionalProgress(enabled, "on", 3);
      assert.ok(bar !== null && typeof bar.update === "function" && typeof bar.finish === "function");
    }
  });
});
