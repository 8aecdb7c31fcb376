/**
 * How a value says what a notebook should show when it is a cell's last expression: a one-line util.inspect text
 * (tslab prints that) and a rich mime bundle under Symbol.for("weightscope.mimeBundle") (the weightscope kernel sends
 * it as the cell's execute_result). Plain objects of the library (datasets, backend info, DataFrames) get both here.
 */
import { inspect } from "util";
import { mimeBundle, type DisplayBundle } from "./kernel";

/**
 * Gives `target` a one-line inspect text and a rich bundle, as non-enumerable properties: JSON, spreading and
 * Object.keys do not see them. Both are computed when shown, so they follow later changes to the object.
 */
export function attachDisplay<T extends object>(target: T, line: () => string, html: () => string): T {
  Object.defineProperty(target, inspect.custom, { value: line, enumerable: false, configurable: true });
  Object.defineProperty(target, mimeBundle, {
    value: (): DisplayBundle => ({ data: { "text/html": html(), "text/plain": line() } }),
    enumerable: false,
    configurable: true,
  });
  return target;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
