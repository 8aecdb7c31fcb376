/**
 * Tables as danfojs DataFrames that display well: danfojs's own print cuts numbers to 15 characters and its
 * util.inspect form is its internals, so each frame made here gets a one-line summary and an HTML bundle.
 */
import type { DataFrame } from "danfojs-node";
import { attachDisplay } from "./bundle";
import { htmlTable, type Cell, type Table } from "./table";

type Danfo = typeof import("danfojs-node");

let danfo: Danfo | undefined;

/** danfojs-node is large (it loads TF.js ops and xlsx): loaded on the first DataFrame only. */
function danfojs(): Danfo {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  danfo ??= require("danfojs-node") as Danfo;
  return danfo;
}

/** More rows than this display as the first and last five, as pandas does. */
export const FRAME_MAX_ROWS = 60;

/**
 * danfojs makes every column a property of the frame, so a column named like a member (index, shape, max, mean ...)
 * hides that member. A column `index` with distinct values becomes the row index (pandas' set_index); any other
 * clashing name gets trailing underscores until it is free.
 */
function frameLayout(table: Table): { columns: string[]; rows: Cell[][]; index?: (string | number)[] } {
  const proto = danfojs().DataFrame.prototype as object;
  const at = table.columns.indexOf("index");
  const values = at >= 0 ? table.column("index") : [];
  const usable = at >= 0 && table.rows.length > 0 && values.every((v) => typeof v === "number" || typeof v === "string") && new Set(values).size === values.length;
  const keep = table.columns.map((_, j) => !(usable && j === at));
  const taken = new Set(table.columns);
  const columns = table.columns
    .filter((_, j) => keep[j])
    .map((name) => {
      let free = name;
      while (free in proto) free += "_";
      if (free !== name && taken.has(free)) throw new Error(`toDataFrame: column "${name}" is a DataFrame member and "${free}" is taken too; rename one`);
      return free;
    });
  const rows = table.rows.map((r) => r.filter((_, j) => keep[j]));
  return usable ? { columns, rows, index: values as (string | number)[] } : { columns, rows };
}

/** A DataFrame of a table's rows, with a readable one-line inspect form and an HTML bundle. */
export function tableToDataFrame(table: Table): DataFrame {
  const { columns, rows, index } = frameLayout(table);
  const frame = new (danfojs().DataFrame)(rows, index ? { columns, index } : { columns });
  return describeFrame(frame);
}

/** Gives a frame the one-line inspect text and the HTML bundle; both read the frame when shown. */
export function describeFrame(frame: DataFrame): DataFrame {
  return attachDisplay(frame, () => frameLine(frame), () => frameHtml(frame));
}

export function frameLine(frame: DataFrame): string {
  const [rows, cols] = frame.shape;
  const names = frame.columns as string[];
  const dtypes = frame.dtypes as string[];
  const shown = names.slice(0, 8).map((c, j) => `${c} (${dtypes[j]})`);
  if (names.length > 8) shown.push(`... ${names.length - 8} more`);
  return `DataFrame ${rows} x ${cols} { ${shown.join(", ")} }`;
}

export function frameHtml(frame: DataFrame): string {
  const [rows, cols] = frame.shape;
  const values = (rows === 0 ? [] : frame.values) as unknown[][];
  return htmlTable(frame.columns as string[], values, { index: frame.index as unknown[], maxRows: FRAME_MAX_ROWS, footer: `${rows} rows x ${cols} columns` });
}
