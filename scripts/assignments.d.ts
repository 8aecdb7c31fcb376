// Types of scripts/assignments.js for the TypeScript tests.
export interface Notebook {
  cells: { id?: string; cell_type: string; source: string | string[]; metadata: { nbgrader?: Record<string, unknown> }; outputs?: unknown[]; execution_count?: number | null }[];
  metadata: { kernelspec?: { name: string; display_name: string; language: string } };
  [key: string]: unknown;
}
export const SOURCE_DIR: string;
export const CODE_STUB: Record<string, string>;
export const TEXT_STUB: string;
export function clearRegions(source: string, stub: string, where: string): string;
export function studentVersion(notebook: Notebook, name?: string): Notebook;
export function writeStudentVersions(outDir?: string, sourceDir?: string): string[];
