/**
 * A progress bar that updates in place, tqdm-style (percent, bar, count, elapsed time, ETA, rate): a notebook display
 * (display_id) in tslab, stderr elsewhere. Every long call in the library reports through this one implementation.
 */
import { randomBytes } from "crypto";
import { escapeHtml } from "./bundle";
import { inKernel, sendBundle } from "./kernel";

export interface Progress {
  /** Sets the bar to `done` of `total` with an optional status text (e.g. the current loss). */
  update(done: number, status?: string): void;
  /** Final state; the bar stays visible with the final text. */
  finish(status?: string): void;
}

export interface ProgressOptions {
  /** Milliseconds clock (default performance.now); tests pass a fake one. */
  clock?: () => number;
  /** Text sink outside a kernel (default process.stderr; given explicitly it is written even under WEIGHTSCOPE_QUIET=1). */
  stream?: { write(text: string): unknown; isTTY?: boolean };
  /** Show nothing until this many milliseconds have passed (default 1000, as tqdm's `delay`): quick calls stay quiet. */
  delayMs?: number;
}

const MIN_INTERVAL_MS = 200;
const DEFAULT_DELAY_MS = 1000;
const BAR_WIDTH = 20;

/** Whole seconds (truncated, as tqdm does) as mm:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n: number) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${two(m)}:${two(s % 60)}`;
}

/** Items per second, or seconds per item when slower than one a second. */
function formatRate(done: number, seconds: number): string {
  if (done <= 0 || seconds <= 0) return "? it/s";
  const rate = done / seconds;
  return rate >= 1 ? `${rate.toFixed(rate >= 100 ? 0 : 2)} it/s` : `${(seconds / done).toFixed(2)} s/it`;
}

/**
 * One line of a bar: `label  45%|█████████           | 45/100 [00:12<00:15, 3.61 it/s, status]`. The ETA assumes the
 * remaining items go at the mean rate so far; it is "?" before the first item and absent once finished.
 */
export function progressText(label: string, done: number, total: number, elapsedMs: number, status?: string, finished = false): string {
  const frac = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
  const filled = Math.round(frac * BAR_WIDTH);
  const bar = "█".repeat(filled) + " ".repeat(BAR_WIDTH - filled);
  const seconds = elapsedMs / 1000;
  const eta = finished ? "" : done > 0 ? `<${formatDuration(((total - done) * seconds) / done)}` : "<?";
  const tail = [formatRate(done, seconds), ...(status ? [status] : [])].join(", ");
  return `${label} ${String(Math.floor(100 * frac)).padStart(3)}%|${bar}| ${done}/${total} [${formatDuration(seconds)}${eta}, ${tail}]`;
}

/** A bar unless the caller opted out with `progress: false` (every call that can take long has that option). */
export function optionalProgress(enabled: boolean | undefined, label: string, total: number): Progress | null {
  return enabled === false ? null : progress(label, total);
}

export function progress(label: string, total: number, options: ProgressOptions = {}): Progress {
  const clock = options.clock ?? (() => performance.now());
  const delay = options.delayMs ?? DEFAULT_DELAY_MS;
  const started = clock();
  const id = `ws-progress-${randomBytes(6).toString("hex")}`;
  const kernel = inKernel();
  const stream = options.stream ?? process.stderr;
  // Outside a notebook: a live bar on a terminal, one final line otherwise; nothing under WEIGHTSCOPE_QUIET=1
  // unless the caller chose the stream.
  const quiet = !kernel && options.stream === undefined && process.env.WEIGHTSCOPE_QUIET === "1";
  const tty = !kernel && stream.isTTY === true;
  let sent = false;
  let last = -Infinity;

  const render = (done: number, status: string | undefined, final: boolean) => {
    const now = clock();
    if (now - started < delay || (!final && now - last < MIN_INTERVAL_MS)) return;
    last = now;
    if (quiet) return;
    const text = progressText(label, done, total, now - started, status, final);
    if (kernel) {
      const html = `<pre style="margin:0">${escapeHtml(text)}</pre>`;
      sendBundle({ "text/html": html, "text/plain": text }, id, sent);
      sent = true;
    } else if (tty) {
      // \x1b[K clears what a longer previous line left behind.
      stream.write(`\r${text}\x1b[K` + (final ? "\n" : ""));
    } else if (final) {
      stream.write(`${text}\n`);
    }
  };

  return {
    update: (done, status) => render(done, status, false),
    finish: (status) => render(total, status, true),
  };
}

/** Lets queued events run (a notebook interrupt among them) between chunks of long work. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Long loops let the event loop run at least this often (an interrupt waits at most about this long). */
const YIELD_INTERVAL_MS = 20;

/**
 * Drives work written as a generator of steps (each yield: items done so far) to its end, moving `bar` (when given,
 * with `offset` items already done) after every step and awaiting the event loop after the first step and then every
 * 20 ms, so a notebook interrupt can stop it. Awaiting after every step would double the time of quick steps.
 */
export async function driveSteps<T>(steps: Generator<number, T, void>, bar: Progress | null, offset = 0): Promise<T> {
  let yielded = -Infinity;
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    bar?.update(offset + next.value);
    if (performance.now() - yielded >= YIELD_INTERVAL_MS) {
      await yieldToEventLoop();
      yielded = performance.now();
    }
  }
}
