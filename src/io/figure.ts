/** ws.saveFigure: one figure as a standalone offline HTML page (plotly.js inlined), written atomically. */
import { figurePage, type Figure } from "../display/figure";
import { Result } from "../display/result";
import { writeFileAtomic } from "./index";

/**
 * Writes `figure` (Plotly JSON, or a result: its main figure) to `file` as a standalone HTML page that works
 * offline. Returns the path written.
 */
export function saveFigure(figure: Figure | Result, file: string): string {
  const f = figure instanceof Result ? figure.figure() : figure;
  if (!f || typeof f !== "object" || !Array.isArray(f.data) || (f.layout !== undefined && (typeof f.layout !== "object" || f.layout === null))) {
    throw new Error("ws.saveFigure: expected a figure ({ data: [...], layout }) or a weightscope result");
  }
  if (typeof file !== "string" || !/\.html?$/i.test(file)) {
    throw new Error(`ws.saveFigure writes an HTML page: give a path ending in .html (got ${JSON.stringify(file)})`);
  }
  writeFileAtomic(file, figurePage({ ...f, layout: f.layout ?? {} }));
  return file;
}
