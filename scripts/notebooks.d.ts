// Types of scripts/notebooks.js for the TypeScript end-to-end tests.
export interface NotebookRun {
  name: string;
  ok: boolean;
  seconds: number;
  executed: string;
  html: string | null;
  log: string;
}
export const ROOT: string;
export const PYTHON: string;
export const APT_PACKAGES: string[];
export const CHROMIUM: string | null;
export function missingJupyter(): string[];
export function notebooks(dir?: string): string[];
export function executeNotebook(notebook: string, outDir: string, options?: { jupyterPath?: string; timeout?: number }): Promise<NotebookRun>;
export function inspectNotebook(executed: string): { errors: string[]; figures: number; badFigures: string[] };
export function renderedDom(htmlFile: string, budgetMs?: number): string;
export function renderedFigures(dom: string): { svg: boolean; missingLibrary: boolean }[];
