/** Tables: one class, rendered as HTML, markdown and aligned text, convertible to a danfojs DataFrame. */
import { inspect } from "util";
import type { DataFrame } from "danfojs-node";
import { escapeHtml } from "./bundle";
import { tableToDataFrame } from "./frame";
import { mimeBundle, type DisplayBundle, type MimeBundle } from "./kernel";

export type Cell = number | string | boolean | null;

export class Table {
  readonly columns: string[];
  readonly rows: Cell[][];
  readonly title: string;

  constructor(columns: string[], rows: Cell[][], title = "") {
    for (const [i, row] of rows.entries()) {
      if (row.length !== columns.length) {
        throw new Error(`Table row ${i} has ${row.length} cells, expected ${columns.length} (${columns.join(", ")})`);
      }
    }
    this.columns = columns;
    this.rows = rows;
    this.title = title;
  }

  /** A table from records (one object per row); columns in the order of first appearance. */
  static fromRecords(records: Record<string, Cell>[], title = ""): Table {
    const columns: string[] = [];
    for (const r of records) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
    return new Table(columns, records.map((r) => columns.map((c) => r[c] ?? null)), title);
  }

  /** Two-column key/value table from an object of scalars. */
  static fromObject(values: Record<string, Cell>, title = ""): Table {
    return new Table(["quantity", "value"], Object.entries(values).map(([k, v]) => [k, v]), title);
  }

  column(name: string): Cell[] {
    const i = this.columns.indexOf(name);
    if (i < 0) throw new Error(`Table has no column "${name}" (columns: ${this.columns.join(", ")})`);
    return this.rows.map((r) => r[i]);
  }

  records(): Record<string, Cell>[] {
    return this.rows.map((r) => Object.fromEntries(this.columns.map((c, i) => [c, r[i]])));
  }

  toHTML(): string {
    return htmlTable(this.columns, this.rows, { title: this.title });
  }

  toMarkdown(): string {
    const esc = (s: string) => s.replace(/\|/g, "\\|");
    const lines = [
      `| ${this.columns.map(esc).join(" | ")} |`,
      `| ${this.columns.map(() => "---").join(" | ")} |`,
      ...this.rows.map((r) => `| ${r.map((c) => esc(formatCell(c))).join(" | ")} |`),
    ];
    return (this.title ? `**${esc(this.title)}**\n\n` : "") + lines.join("\n");
  }

  toText(): string {
    const cells = [this.columns, ...this.rows.map((r) => r.map(formatCell))];
    const widths = this.columns.map((_, j) => Math.max(...cells.map((r) => r[j].length)));
    const line = (r: string[]) => r.map((c, j) => c.padEnd(widths[j])).join("  ").trimEnd();
    const out = [line(cells[0]), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)];
    return (this.title ? `${this.title}\n` : "") + out.join("\n");
  }

  bundle(): MimeBundle {
    return { "text/html": this.toHTML(), "text/markdown": this.toMarkdown(), "text/plain": this.toText() };
  }

  /** As a cell's last value: the table's HTML, markdown and text. */
  [mimeBundle](): DisplayBundle {
    return { data: this.bundle() };
  }

  /**
   * A danfojs DataFrame of the rows (danfojs-node is loaded on first use: it is large). A column named `index`
   * with distinct values becomes the row index; other names that are DataFrame members get a trailing "_".
   */
  toDataFrame(): DataFrame {
    return tableToDataFrame(this);
  }

  toJSON(): { title: string; columns: string[]; rows: Cell[][] } {
    return { title: this.title, columns: this.columns, rows: this.rows };
  }

  /** One line: the title, the size and the column names. */
  [inspect.custom](): string {
    const columns = this.columns.length > 8 ? [...this.columns.slice(0, 8), "..."] : this.columns;
    return `Table${this.title ? ` "${oneLine(this.title)}"` : ""} (${this.rows.length} rows x ${this.columns.length} columns: ${columns.join(", ")})`;
  }
}

/** Titles may hold line breaks; an inspect line must not. */
function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, " ").trim();
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}

export function formatCell(c: Cell): string {
  if (c === null) return "";
  if (typeof c === "number") {
    if (Number.isNaN(c)) return "NaN";
    if (!Number.isFinite(c)) return c > 0 ? "Infinity" : "-Infinity";
    if (Number.isInteger(c)) return String(c);
    const a = Math.abs(c);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? c.toExponential(3) : String(Number(c.toPrecision(5)));
  }
  return String(c);
}

export interface HtmlTableOptions {
  title?: string;
  /** Row labels shown in a first, unnamed header column (a DataFrame's index); none when absent. */
  index?: readonly unknown[];
  /** More rows than this show the first and last five with an ellipsis row between (as pandas does). */
  maxRows?: number;
  /** A line under the table, e.g. "441 rows x 3 columns". */
  footer?: string;
}

const EDGE_ROWS = 5;

/** The one HTML table renderer (tables and DataFrames): cells formatted by formatCell, text escaped. */
export function htmlTable(columns: readonly string[], rows: readonly (readonly unknown[])[], options: HtmlTableOptions = {}): string {
  const { title = "", index, maxRows = Infinity, footer } = options;
  const cell = (c: unknown) => escapeHtml(formatCell(isCell(c) ? c : String(c)));
  const label = (i: number) => (index ? `<th>${cell(index[i])}</th>` : "");
  const line = (i: number) => `<tr>${label(i)}${rows[i].map((c) => `<td>${cell(c)}</td>`).join("")}</tr>`;
  const shown = rows.length > maxRows ? [...range(0, EDGE_ROWS), -1, ...range(rows.length - EDGE_ROWS, rows.length)] : range(0, rows.length);
  const ellipsis = `<tr>${index ? "<th>...</th>" : ""}${columns.map(() => "<td>...</td>").join("")}</tr>`;
  const body = shown.map((i) => (i < 0 ? ellipsis : line(i))).join("\n");
  const head = (index ? "<th></th>" : "") + columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("");
  const caption = title ? `<caption>${escapeHtml(title)}</caption>` : "";
  const table = `<table class="weightscope-table">${caption}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
  return footer ? `${table}\n<p>${escapeHtml(footer)}</p>` : table;
}

function isCell(c: unknown): c is Cell {
  return c === null || typeof c === "number" || typeof c === "string" || typeof c === "boolean";
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}
