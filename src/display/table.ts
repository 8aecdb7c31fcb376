/** Tables: one class, rendered as HTML, markdown and aligned text, convertible to a danfojs DataFrame. */
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
    const head = this.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("");
    const body = this.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(formatCell(c))}</td>`).join("")}</tr>`).join("\n");
    const caption = this.title ? `<caption>${escapeHtml(this.title)}</caption>` : "";
    return `<table class="weightscope-table">${caption}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
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

  /** A danfojs DataFrame (danfojs-node is loaded on first use: it is large). */
  toDataFrame(): unknown {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const dfd = require("danfojs-node") as { DataFrame: new (data: unknown, options?: unknown) => unknown };
    const data = Object.fromEntries(this.columns.map((c, j) => [c, this.rows.map((r) => r[j])]));
    return new dfd.DataFrame(data);
  }

  toJSON(): { title: string; columns: string[]; rows: Cell[][] } {
    return { title: this.title, columns: this.columns, rows: this.rows };
  }
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

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
