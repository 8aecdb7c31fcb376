/** The one rich-output path: figures and tables go to the live kernel, or as text to stdout. */
import { inKernel, sendBundle, type MimeBundle } from "./kernel";
import { figureDisplay, figureText, type Figure } from "./figure";
import { Table } from "./table";

/** Displays a mime bundle in the kernel, or prints its text/plain form outside one. */
export function showBundle(bundle: MimeBundle): void {
  if (!sendBundle(bundle)) console.log(String(bundle["text/plain"] ?? ""));
}

export function showFigure(f: Figure): void {
  if (!inKernel()) {
    console.log(figureText(f));
    return;
  }
  showBundle(figureDisplay(f).data);
}

export function showTable(t: Table): void {
  showBundle(t.bundle());
}

/** Shows markdown text (rendered in the kernel, printed as is outside it). */
export function showMarkdown(md: string): void {
  showBundle({ "text/markdown": md, "text/plain": md });
}
