// Types of kernel/install.js for the TypeScript end-to-end tests.
export const KERNEL_NAME: string;
export const DISPLAY_NAME: string;
/** Installs the kernelspec; returns the folder it landed in. */
export function install(options: { scope: string[]; python: string }): string | undefined;
