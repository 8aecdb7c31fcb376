/**
 * The base of every probe's result: rich display, Plotly JSON, a table, a DataFrame, JSON and a
 * one-line inspect summary. Subclasses implement summary(), figures(), table() and data().
 */
import { inspect } from "util";
import type { DataFrame } from "danfojs-node";
import { grid, type Figure } from "./figure";
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
    const figs = this.figures();
    if (figs.length === 0) throw new Error(`${this.kind} result has no figure`);
    return figs.length === 1 ? figs[0] : grid(figs, { columns: Math.min(2, figs.length) });
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

  [inspect.custom](): string {
    return `${this.constructor.name} { ${this.summary()} }`;
  }
}
