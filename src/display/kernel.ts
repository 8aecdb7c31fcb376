/**
 * Bridge to the live tslab kernel. A library must never load its own copy of tslab (it answers
 * "Not ready"); the kernel exposes its copy through globalThis.__tslab__.require("tslab").
 */
import * as path from "path";

export type MimeBundle = Record<string, unknown>;

/** What a value's {@link mimeBundle} method returns: one display's representations (with "text/plain"). */
export interface DisplayBundle {
  data: MimeBundle;
  metadata?: Record<string, unknown>;
}

/**
 * The key of a value's rich display: when the last expression of a notebook cell has a method under this
 * symbol, the weightscope kernel sends its bundle as the cell's execute_result (Out[n]) instead of printing the
 * value, as IPython does with _repr_mimebundle_. The key is Symbol.for("weightscope.mimeBundle"), so any
 * package can implement it without importing weightscope.
 */
export const mimeBundle: unique symbol = Symbol.for("weightscope.mimeBundle");

/** A value that displays itself as a rich output when it is the last expression of a cell. */
export interface RichDisplay {
  [mimeBundle](): DisplayBundle;
}

interface DisplayMessage {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}
type WriteDisplayData = (msg: DisplayMessage, update: boolean) => void;

interface TslabPublic {
  display: { html(s: string): void; text(s: string): void };
  newDisplay(): { html(s: string): void; text(s: string): void; raw(mime: string, s: string): void; id?: string };
}

interface TslabHandle {
  readonly publicModule: TslabPublic;
  /** The kernel's internal module that holds the writer for the executing cell, when it can be found. */
  readonly jupyterModule: { lastWriteDisplayData: WriteDisplayData | null } | null;
}

let cached: TslabHandle | null | undefined;

/** The live kernel's tslab, or null when this code does not run inside a tslab cell. */
export function liveKernel(): TslabHandle | null {
  if (cached !== undefined) return cached;
  const bridge = (globalThis as { __tslab__?: { require?: (id: string) => unknown } }).__tslab__;
  if (!bridge || typeof bridge.require !== "function") return (cached = null);
  let publicModule: TslabPublic;
  try {
    publicModule = bridge.require("tslab") as TslabPublic;
  } catch {
    return (cached = null);
  }
  cached = { publicModule, jupyterModule: findJupyterModule(publicModule) };
  return cached;
}

/** The internal jupyter.js that sits beside the kernel's public.js, found in the module cache. */
function findJupyterModule(publicModule: TslabPublic): TslabHandle["jupyterModule"] {
  for (const [filename, mod] of Object.entries(require.cache)) {
    if (!mod || mod.exports !== publicModule) continue;
    const sibling = require.cache[path.join(path.dirname(filename), "jupyter.js")];
    const exported = sibling?.exports as { lastWriteDisplayData?: unknown } | undefined;
    if (exported && "lastWriteDisplayData" in exported) return exported as TslabHandle["jupyterModule"];
  }
  return null;
}

/**
 * Identifies the cell execution in progress (tslab makes the display writer per request), or null when the
 * kernel does not expose it.
 */
export function currentExecution(): unknown {
  return liveKernel()?.jupyterModule?.lastWriteDisplayData ?? null;
}

/** True when a cell of a live kernel is executing, so rich output can be sent. */
export function inKernel(): boolean {
  const kernel = liveKernel();
  return kernel !== null && (kernel.jupyterModule === null || kernel.jupyterModule.lastWriteDisplayData !== null);
}

/**
 * Sends one display_data message carrying every mime type of the bundle. Falls back to the
 * bundle's text/html (one mime type, tslab's public API) when the internal writer is unavailable.
 * Returns false outside a kernel so the caller can print the text form instead.
 */
export function sendBundle(bundle: MimeBundle, displayId?: string, update = false): boolean {
  const kernel = liveKernel();
  if (!kernel) return false;
  const writer = kernel.jupyterModule?.lastWriteDisplayData;
  if (writer) {
    writer({ data: bundle, metadata: {}, transient: displayId ? { display_id: displayId } : {} }, update);
    return true;
  }
  const html = bundle["text/html"];
  if (typeof html === "string") kernel.publicModule.display.html(html);
  else kernel.publicModule.display.text(String(bundle["text/plain"] ?? ""));
  return true;
}
