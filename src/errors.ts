/**
 * Typed errors (`ws.errors`): every error weightscope raises on purpose is a WeightscopeError with a stable
 * string `code`, so callers and tests can tell kinds apart without matching sentences, and a small declarative
 * option validator that names the option, the value and what is allowed.
 */

/** Stable error codes; the message may change wording, the code does not. */
export type ErrorCode =
  | "invalid-option"
  | "invalid-data"
  | "non-finite-weights"
  | "unsupported-model"
  | "backend-failed"
  | "backend-unavailable"
  | "file-format"
  | "file-not-found"
  | "file-write"
  | "out-of-memory";

/** The base of every error weightscope throws on purpose. */
export class WeightscopeError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input: an option, a dataset, a model whose weights are not finite. */
export class InputError extends WeightscopeError {
  constructor(
    code: "invalid-option" | "invalid-data" | "non-finite-weights",
    message: string,
    /** The option or argument at fault, when there is one (e.g. "batchSize"). */
    readonly option?: string,
  ) {
    super(code, message);
  }
}

/** The model has a layer or shape this call does not handle. */
export class UnsupportedModelError extends WeightscopeError {
  constructor(message: string) {
    super("unsupported-model", message);
  }
}

/** The TF.js backend failed (e.g. the wasm heap aborted) or is not available. */
export class BackendError extends WeightscopeError {
  constructor(code: "backend-failed" | "backend-unavailable", message: string) {
    super(code, message);
  }
}

/** A file is missing, damaged, truncated or could not be written. */
export class FileFormatError extends WeightscopeError {
  constructor(code: "file-format" | "file-not-found" | "file-write", message: string, readonly file?: string) {
    super(code, message);
  }
}

/** The call would need more memory than the backend can hold; thrown before anything is allocated. */
export class MemoryError extends WeightscopeError {
  constructor(
    message: string,
    /** Estimated peak bytes of the request. */
    readonly neededBytes: number,
    /** Bytes available to the backend for it. */
    readonly availableBytes: number,
    /** The largest value of the option named in the message that fits (e.g. a batch size), null when none does. */
    readonly fits: number | null = null,
  ) {
    super("out-of-memory", message);
  }
}

/** A rule for one numeric option. Bounds are inclusive unless named `above`/`below`; NaN and infinities are refused. */
export interface NumberRule {
  integer?: boolean;
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  above?: number;
  /** Exclusive upper bound. */
  below?: number;
}

/** A rule for one option: numeric, one of a list of strings, or a boolean. */
export type Rule = NumberRule | { oneOf: readonly (string | number | boolean | null)[] } | { boolean: true };

/** Shorthands for the common rules. */
export const rules = {
  integer: (min = -Infinity, max = Infinity): NumberRule => ({ integer: true, min, max }),
  /** A finite number > 0 (at most `max`). */
  positive: (max = Infinity): NumberRule => ({ above: 0, max }),
  /** A finite number >= 0. */
  nonNegative: (max = Infinity): NumberRule => ({ min: 0, max }),
  finite: (): NumberRule => ({}),
  oneOf: (...values: (string | number | boolean | null)[]): Rule => ({ oneOf: values }),
  boolean: (): Rule => ({ boolean: true }),
};

function describeNumberRule(rule: NumberRule): string {
  const { integer, min = -Infinity, max = Infinity, above, below } = rule;
  // The common cases read as words; the rest as bounds.
  const atMost = max < Infinity ? ` <= ${max}` : "";
  if (integer && min === 1 && above === undefined && below === undefined) return `a positive integer${atMost}`;
  if (integer && min === 0 && above === undefined && below === undefined) return `a non-negative integer${atMost}`;
  if (!integer && above === 0 && max === Infinity && below === undefined) return "positive and finite";
  const parts: string[] = [];
  if (min > -Infinity) parts.push(`>= ${min}`);
  if (above !== undefined) parts.push(`> ${above}`);
  if (max < Infinity) parts.push(`<= ${max}`);
  if (below !== undefined) parts.push(`< ${below}`);
  const kind = integer ? "an integer" : "a finite number";
  return parts.length ? `${kind} ${parts.join(" and ")}` : kind;
}

/** What a rule allows, in words (for messages). */
export function describeRule(rule: Rule): string {
  if ("oneOf" in rule) return `one of ${rule.oneOf.map((v) => JSON.stringify(v)).join(", ")}`;
  if ("boolean" in rule) return "true or false";
  return describeNumberRule(rule);
}

function satisfies(value: unknown, rule: Rule): boolean {
  if ("oneOf" in rule) return rule.oneOf.includes(value as string);
  if ("boolean" in rule) return typeof value === "boolean";
  if (typeof value !== "number" || !Number.isFinite(value)) return false;
  if (rule.integer && !Number.isInteger(value)) return false;
  if (rule.min !== undefined && value < rule.min) return false;
  if (rule.max !== undefined && value > rule.max) return false;
  if (rule.above !== undefined && !(value > rule.above)) return false;
  if (rule.below !== undefined && !(value < rule.below)) return false;
  return true;
}

/** The value as a user wrote it (NaN stays NaN, strings keep their quotes). */
export function formatValue(value: unknown): string {
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean" || value === undefined || value === null) return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return value.length > 8 ? `an array of length ${value.length}` : `[${value.map(formatValue).join(", ")}]`;
  if (typeof value === "function") return "a function";
  return typeof value;
}

/** Throws an InputError unless `value` satisfies `rule`; returns the value. */
export function checkOption<T>(where: string, name: string, value: T, rule: Rule): T {
  if (!satisfies(value, rule)) {
    throw new InputError("invalid-option", `${where}: ${name} must be ${describeRule(rule)}, got ${formatValue(value)}`, name);
  }
  return value;
}

/** Every entry of an array option must satisfy `rule` (and the array must hold `minLength`..`maxLength` entries). */
export function checkEach(where: string, name: string, values: unknown, rule: Rule, minLength = 1, maxLength = Infinity): void {
  if (!Array.isArray(values) || values.length < minLength || values.length > maxLength) {
    const count = maxLength < Infinity ? `${minLength} to ${maxLength}` : `at least ${minLength}`;
    throw new InputError("invalid-option", `${where}: ${name} must be an array of ${count} entries, each ${describeRule(rule)}; got ${formatValue(values)}`, name);
  }
  values.forEach((v, i) => {
    if (!satisfies(v, rule)) throw new InputError("invalid-option", `${where}: ${name}[${i}] must be ${describeRule(rule)}, got ${formatValue(v)}`, name);
  });
}

/**
 * Declarative validation of an options object: each option that is present (not undefined) must satisfy its
 * rule. Options without a rule are not checked here.
 */
export function checkOptions<T extends object>(where: string, options: T | undefined, spec: { [K in keyof T]?: Rule }): void {
  if (options === undefined || options === null) return;
  if (typeof options !== "object") throw new InputError("invalid-option", `${where}: options must be an object, got ${formatValue(options)}`);
  for (const key of Object.keys(spec) as (keyof T & string)[]) {
    const value = options[key];
    const rule = spec[key];
    if (value !== undefined && rule) checkOption(where, key, value, rule);
  }
}
