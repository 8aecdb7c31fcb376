/** A progress bar that updates in place: a notebook display (display_id) in tslab, stderr elsewhere. */
import { randomBytes } from "crypto";
import { inKernel, sendBundle } from "./kernel";

export interface Progress {
  /** Sets the bar to `done` of `total` with an optional status text (e.g. the current loss). */
  update(done: number, status?: string): void;
  /** Final state; the bar stays visible with the final text. */
  finish(status?: string): void;
}

const MIN_INTERVAL_MS = 200;

export function progress(label: string, total: number): Progress {
  const id = `ws-progress-${randomBytes(6).toString("hex")}`;
  const kernel = inKernel();
  // Outside a notebook: a live bar on a terminal, one final line otherwise; nothing under WEIGHTSCOPE_QUIET=1.
  const quiet = !kernel && process.env.WEIGHTSCOPE_QUIET === "1";
  const tty = !kernel && process.stderr.isTTY === true;
  let sent = false;
  let last = 0;
  let lastText = "";

  const render = (done: number, status: string | undefined, force: boolean) => {
    const now = Date.now();
    if (!force && now - last < MIN_INTERVAL_MS) return;
    last = now;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const text = `${label} ${done}/${total}${status ? `  ${status}` : ""}`;
    if (text === lastText && !force) return;
    lastText = text;
    if (quiet) return;
    if (kernel) {
      const pct = (100 * frac).toFixed(1);
      const html = `<div style="font-family:monospace"><progress value="${done}" max="${total}" style="width:240px"></progress> ${pct}% ${escape(text)}</div>`;
      sendBundle({ "text/html": html, "text/plain": text }, id, sent);
      sent = true;
    } else if (tty) {
      process.stderr.write(`\r${text}`.padEnd(80) + (force ? "\n" : ""));
    } else if (force) {
      process.stderr.write(`${text}\n`);
    }
  };

  return {
    update: (done, status) => render(done, status, false),
    finish: (status) => render(total, status, true),
  };
}

function escape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
}

/** Lets queued events run (a notebook interrupt among them) between chunks of long work. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
