/** Plotly figures as plain JSON, and their rich-output bundle (plotly JSON + HTML + text). */
import * as fs from "fs";
import { randomBytes } from "crypto";
import { currentExecution, inKernel, mimeBundle, sendBundle, type DisplayBundle, type MimeBundle } from "./kernel";

export type Trace = Record<string, unknown> & { type?: string; name?: string };
export interface Figure {
  data: Trace[];
  layout: Record<string, unknown> & { title?: string | { text: string } };
  config?: Record<string, unknown>;
  /** Rich display as a cell's last value; set (not enumerable, not in JSON) on figures made by figure() and grid(). */
  [mimeBundle]?(): DisplayBundle;
}

export const PLOTLY_MIME = "application/vnd.plotly.v1+json";
const DEFAULT_CONFIG = { responsive: true, displaylogo: false };

/**
 * plotly.js 3+ ignores a plain-string `title` (layout, axes, colorbars): it must be `{ text }`. Every figure goes
 * through this, so probes may write the short form.
 */
function withTitleObjects<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withTitleObjects) as T;
  if (!value || typeof value !== "object" || ArrayBuffer.isView(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = key === "title" && typeof v === "string" ? { text: v } : withTitleObjects(v);
  return out as T;
}

/**
 * Plotly draws its mode bar (the toolbar) over the top 30 px of a figure. The title starts below it, left-aligned,
 * inside a top margin that holds both, so a long title never runs under the toolbar.
 */
export const MODEBAR_HEIGHT = 30;
const TITLE_PLACEMENT = { x: 0.01, xref: "container", xanchor: "left", y: 1, yref: "container", yanchor: "top", pad: { t: MODEBAR_HEIGHT + 6 } };
const DEFAULT_MARGIN = { t: 80, r: 20, b: 50, l: 70 };

/**
 * Every axis (2-D, subplot and 3-D scene axes) labels large and small numbers as 1e-4, not with SI prefixes
 * ("100µ", "10n"), which read as units.
 */
function withReadableAxes(layout: Record<string, unknown>, axes = ["xaxis", "yaxis"]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...layout };
  for (const key of new Set([...axes, ...Object.keys(layout).filter((k) => /^[xyz]axis\d*$/.test(k))])) {
    out[key] = { exponentformat: "e", ...(layout[key] as object | undefined) };
  }
  if (layout.scene) out.scene = withReadableAxes(layout.scene as Record<string, unknown>, ["xaxis", "yaxis", "zaxis"]);
  return out;
}

/** Project defaults for a figure's layout: margins, title placement, axis number format. */
function finishLayout(layout: Figure["layout"]): Figure["layout"] {
  const title = typeof layout.title === "string" ? { text: layout.title } : layout.title;
  const placed = title ? { title: { ...TITLE_PLACEMENT, ...title } } : {};
  return { template: undefined, ...withReadableAxes(layout), margin: { ...DEFAULT_MARGIN, ...(layout.margin as object | undefined) }, ...placed };
}

/** Gives a figure its rich display as a cell's last value, without changing its JSON or its spread copies. */
function displayable(f: Figure): Figure {
  const display = function (this: Figure): DisplayBundle {
    return figureDisplay(this);
  };
  Object.defineProperty(f, mimeBundle, { value: display, enumerable: false, writable: true, configurable: true });
  return f;
}

/** Builds a figure with the project's default layout. */
export function figure(data: Trace[], layout: Figure["layout"] = {}): Figure {
  return displayable(withTitleObjects({ data, layout: finishLayout(layout) }));
}

/** Lays several figures out as subplots of one figure, side by side (or in `columns` columns). */
export function grid(figures: Figure[], options: { columns?: number; title?: string } = {}): Figure {
  const columns = Math.max(1, Math.min(options.columns ?? figures.length, figures.length));
  const rows = Math.ceil(figures.length / columns);
  const data: Trace[] = [];
  // A taller top margin: the subplots' titles sit above each panel, below the figure's own title.
  const layout: Figure["layout"] = { grid: { rows, columns, pattern: "independent" }, title: options.title, height: 320 * rows + 40, margin: { t: 120 } };
  figures.forEach((f, i) => {
    const suffix = i === 0 ? "" : String(i + 1);
    for (const trace of f.data) data.push({ ...trace, xaxis: `x${suffix}`, yaxis: `y${suffix}` });
    const sub = f.layout as Record<string, { title?: unknown } | undefined>;
    layout[`xaxis${suffix}`] = { ...(sub.xaxis ?? {}) };
    layout[`yaxis${suffix}`] = { ...(sub.yaxis ?? {}) };
    const title = titleText(f);
    if (title) {
      const annotations = (layout.annotations as unknown[] | undefined) ?? [];
      annotations.push({ text: title, showarrow: false, xref: `x${suffix} domain`, yref: `y${suffix} domain`, x: 0.5, y: 1.12, xanchor: "center" });
      layout.annotations = annotations;
    }
  });
  return displayable(withTitleObjects({ data, layout: finishLayout(layout) }));
}

export function titleText(f: Figure): string {
  const t = f.layout.title;
  return typeof t === "string" ? t : t?.text ?? "";
}

/** A one-paragraph text form of a figure, for text/plain and for plain Node. */
export function figureText(f: Figure): string {
  const traces = f.data.map((t) => {
    const n = Array.isArray(t.y) ? (t.y as unknown[]).length : Array.isArray(t.z) ? (t.z as unknown[]).length : Array.isArray(t.x) ? (t.x as unknown[]).length : 0;
    return `${t.type ?? "scatter"}${t.name ? ` "${t.name}"` : ""} (${n} points)`;
  });
  return `Figure${titleText(f) ? ` "${titleText(f)}"` : ""}: ${traces.join(", ")}`;
}

let plotlySource: string | null = null;

/**
 * plotly.js (the offline bundle of plotly.js-dist-min) as one script element, its license comment first. The code
 * runs only where the page has no plotly.js yet: in a live notebook every cell that shows a figure carries the
 * library again (see carryPlotly), and each evaluation would keep another full copy in the page's memory.
 */
export function plotlyLibraryHtml(): string {
  if (plotlySource === null) {
    const file = require.resolve("plotly.js-dist-min");
    plotlySource = fs.readFileSync(file, "utf8");
  }
  const licenseEnd = plotlySource.indexOf("*/") + 2;
  const guarded = `${plotlySource.slice(0, licenseEnd)}\nif (!window.Plotly) {\n${plotlySource.slice(licenseEnd)}\n}`;
  // "</script" inside the bundle would end the tag early.
  return `<script type="text/javascript">${guarded.replace(/<\/script/gi, "<\\/script")}</script>`;
}

/**
 * A figure as HTML: a div and a script that draws it with the page's plotly.js, waiting for the library (the
 * output that carries it may come later in the page) and showing a readable message if it never arrives.
 */
export function figureHtml(f: Figure): string {
  return drawingHtml(withTitleObjects(f));
}

/** figureHtml of a figure whose titles are already objects (see withTitleObjects). */
function drawingHtml(f: Figure): string {
  const id = `ws-${randomBytes(6).toString("hex")}`;
  const spec = JSON.stringify({ data: f.data, layout: f.layout, config: { ...DEFAULT_CONFIG, ...f.config } }).replace(/</g, "\\u003c");
  const height = typeof f.layout.height === "number" ? f.layout.height : 420;
  return `<div id="${id}" class="weightscope-figure" style="width:100%;min-height:${height}px"></div>
<script type="text/javascript">(function () {
  var spec = ${spec};
  var started = Date.now();
  function draw() {
    var el = document.getElementById("${id}");
    if (!el) return;
    if (window.Plotly) { window.Plotly.newPlot(el, spec.data, spec.layout, spec.config); return; }
    if (Date.now() - started > 15000) {
      el.textContent = "weightscope: plotly.js is not loaded on this page. Trust the notebook (File > Trust), or re-run a cell that shows a figure: the last one run carries plotly.js.";
      return;
    }
    setTimeout(draw, 50);
  }
  draw();
})();</script>`;
}

/** The mime bundle of a figure: Plotly JSON, HTML drawn by the page's plotly.js (see figureHtml), text. */
export function figureBundle(f: Figure): MimeBundle {
  f = withTitleObjects(f);
  return {
    [PLOTLY_MIME]: { data: f.data, layout: f.layout, config: { ...DEFAULT_CONFIG, ...f.config } },
    "text/html": drawingHtml(f),
    "text/plain": figureText(f),
  };
}

/** The cell execution whose output carries plotly.js, and that output's display id; undefined before the first. */
let libraryCarrier: { execution: unknown; displayId: string } | undefined;

/**
 * Sends plotly.js with the first figure a cell shows. Every cell that shows a figure carries it and empties the
 * copy the previous carrier holds (an update of that output's display id; each carrier has its own id, since a
 * new output with an existing id would refill the old ones), so a saved or exported notebook holds exactly one
 * copy, in the last cell run that showed a figure: re-running, editing or clearing the cell that carried it
 * cannot leave the figures blank. Without a per-cell handle (tslab's public display API only) it is sent once.
 */
function carryPlotly(): void {
  const execution = currentExecution();
  if (libraryCarrier && (execution === null || execution === libraryCarrier.execution)) return;
  if (libraryCarrier && execution !== null) sendBundle({ "text/plain": "" }, libraryCarrier.displayId, true);
  const displayId = `weightscope-plotly-${randomBytes(6).toString("hex")}`;
  sendBundle({ "text/html": plotlyLibraryHtml(), "text/plain": "" }, displayId);
  libraryCarrier = { execution, displayId };
}

/** A figure's display in the kernel (plotly.js carried as needed); `text` replaces its text/plain form. */
export function figureDisplay(f: Figure, text = figureText(f)): DisplayBundle {
  if (inKernel()) carryPlotly();
  return { data: { ...figureBundle(f), "text/plain": text } };
}

/** A standalone offline HTML page of one figure, plotly.js inlined. */
export function figurePage(f: Figure): string {
  const title = titleText(f) || "weightscope figure";
  const escaped = title.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>${escaped}</title>
${plotlyLibraryHtml()}
</head>
<body style="margin:0">
${figureHtml(f)}
</body>
</html>
`;
}
