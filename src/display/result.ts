/**
 * The base of every probe's result: rich display, Plotly JSON, a table, a DataFrame, JSON and a
 * one-line inspect summary. Subclasses implement summary(), figures(), table() and data().
 */
import { inspect } from "util";
import type { DataFrame } from "danfojs-node";
import { figureDisplay, grid, type Figure } from "./figure";
import { mimeBundle, type DisplayBundle } from "./kernel";
import { showFigure, showTable } from "./show";
import type { Table } from "./table";

export abstract class Result {
  /** Short name of the probe, e.g. "teleport"; also the `kind` field of toJSON(). */
  abstract readonly kind: string;
  /** One line, shown by util.inspect and as the last expression of a notebook cell. */
  abstract summary(): string;
  /** The figures .show() draws, in order. */
  abstract figures(): Figure[];
  /** The numbers of the result as one table. */
  abstract table(): Table;
  /** Plain JSON data of the result (numbers and arrays only, no tensors). */
  protected abstract data(): Record<string, unknown>;

  /** The main figure as Plotly JSON: the only figure, or all of them as subplots of one. */
  figure(): Figure {
    const main = mainFigure(this.figures());
    if (!main) throw new Error(`${this.kind} result has no figure`);
    return main;
  }

  /** Rich display in a notebook (each figure, then the table); text outside one. */
  show(): void {
    for (const f of this.figures()) showFigure(f);
    showTable(this.table());
  }

  /** The table as a danfojs DataFrame (see Table.toDataFrame). */
  toDataFrame(): DataFrame {
    return this.table().toDataFrame();
  }

  toJSON(): Record<string, unknown> {
    return { kind: this.kind, ...this.data() };
  }

  /** As a cell's last value: the main figure (the table when there is none), with the summary as its text form. */
  [mimeBundle](): DisplayBundle {
    const main = mainFigure(this.figures());
    const text = inspect(this);
    return main ? figureDisplay(main, text) : { data: { ...this.table().bundle(), "text/plain": text } };
  }

  [inspect.custom](): string {
    return `${this.constructor.name} { ${this.summary()} }`;
  }
}

function mainFigure(figures: Figure[]): Figure | null {
  if (figures.length === 0) return null;
  return figures.length === 1 ? figures[0] : grid(figures, { columns: Math.min(2, figures.length) });
}
