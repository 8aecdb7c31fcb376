/**
 * What every ws.check grader returns, and the bookkeeping that produces it. A grader checks a list of
 * identities on several seeded cases; an identity earns its points only if it holds in every case, and
 * the feedback names, per failed identity, the first case where it failed with expected and actual values.
 */
import { Result } from "../display/result";
import type { Figure } from "../display/figure";
import { Table } from "../display/table";
import { ready } from "../backend";

export interface CheckOptions {
  /** Seed of the random cases (default 0). */
  seed?: number;
  /** Number of cases (each grader has its default; at least 1). */
  cases?: number;
}

/** One identity checked on one case. */
export interface CaseRecord {
  case: string;
  identity: string;
  passed: boolean;
  expected: string;
  actual: string;
  /** Where it failed and, when the output matches a known mistake, which one. */
  note: string;
}

export interface IdentityScore {
  name: string;
  points: number;
  passed: boolean;
}

export class CheckResult extends Result {
  readonly kind = "check";

  constructor(
    /** The grader, e.g. "teleport" (for ws.check.teleport). */
    readonly grader: string,
    readonly identities: IdentityScore[],
    readonly records: CaseRecord[],
    /** One line per failed identity (lines that would repeat, e.g. a function that throws in every case, once). */
    readonly feedback: string[],
  ) {
    super();
  }

  get score(): number {
    return this.identities.reduce((a, i) => a + (i.passed ? i.points : 0), 0);
  }

  get maxScore(): number {
    return this.identities.reduce((a, i) => a + i.points, 0);
  }

  get passed(): boolean {
    return this.score === this.maxScore;
  }

  /** Throws an Error carrying the score and the feedback unless every identity holds (for autograded test cells). */
  assert(): void {
    if (!this.passed) throw new Error(`ws.check.${this.grader}: ${this.score}/${this.maxScore} points\n${this.feedback.join("\n")}`);
  }

  summary(): string {
    const first = this.feedback.length ? `; ${this.feedback[0]}` : "";
    return `ws.check.${this.grader}: ${this.score}/${this.maxScore} points${this.passed ? ", every identity holds" : first}`;
  }

  figures(): Figure[] {
    return [];
  }

  table(): Table {
    return new Table(
      ["case", "identity", "passed", "expected", "actual", "note"],
      this.records.map((r) => [r.case, r.identity, r.passed, r.expected, r.actual, r.note]),
      this.summary(),
    );
  }

  protected data(): Record<string, unknown> {
    return { grader: this.grader, score: this.score, maxScore: this.maxScore, passed: this.passed, identities: this.identities, feedback: this.feedback, records: this.records };
  }
}

/** Collects the records of one grading run and turns them into a CheckResult. */
export class Grading {
  private readonly records: CaseRecord[] = [];

  constructor(
    readonly grader: string,
    /** The identities in the order they are checked, one point each unless given. */
    readonly identities: { name: string; points?: number }[],
  ) {}

  pass(caseName: string, identity: string, expected = "", actual = ""): void {
    this.record({ case: caseName, identity, passed: true, expected, actual, note: "" });
  }

  fail(caseName: string, identity: string, expected: string, actual: string, note = ""): void {
    this.record({ case: caseName, identity, passed: false, expected, actual, note });
  }

  /** Records `ok` as a pass or a fail. */
  check(caseName: string, identity: string, ok: boolean, expected: string, actual: string, note = ""): boolean {
    if (ok) this.pass(caseName, identity, expected, actual);
    else this.fail(caseName, identity, expected, actual, note);
    return ok;
  }

  /** The student's function failed to give a usable answer (threw, wrong shape, NaN): every identity fails in this case. */
  callFailed(caseName: string, message: string): void {
    for (const id of this.identities) this.record({ case: caseName, identity: id.name, passed: false, expected: "", actual: "", note: message });
  }

  result(): CheckResult {
    const feedback: string[] = [];
    const identities = this.identities.map((id) => {
      const mine = this.records.filter((r) => r.identity === id.name);
      if (mine.length === 0) throw new Error(`ws.check.${this.grader}: identity "${id.name}" was never checked (a grader bug)`);
      const failed = mine.find((r) => !r.passed);
      if (failed) {
        const line = failed.expected === "" && failed.actual === ""
          ? `case ${failed.case}: ${failed.note}`
          : `${id.name}: case ${failed.case}: expected ${failed.expected}, got ${failed.actual}${failed.note ? ` (${failed.note})` : ""}`;
        if (!feedback.includes(line)) feedback.push(line);
      }
      return { name: id.name, points: id.points ?? 1, passed: !failed };
    });
    return new CheckResult(this.grader, identities, this.records.slice(), feedback);
  }

  private record(r: CaseRecord): void {
    if (!this.identities.some((i) => i.name === r.identity)) throw new Error(`ws.check.${this.grader}: unknown identity "${r.identity}" (a grader bug)`);
    this.records.push(r);
  }
}

/** A number as feedback shows it: 6 significant digits, NaN and infinities spelled out. */
export function fmt(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (x === 0 || Number.isInteger(x)) return String(x);
  return String(Number(x.toPrecision(6)));
}

/**
 * Resolves the shared options (seed, number of cases >= 1) and starts the backend with ws.ready(), which
 * enables TF.js's prod mode: otherwise the pure-JS backend's first-use banner goes to stderr, and nbgrader
 * gives a test cell that writes to stderr zero points.
 */
export async function startGrading(options: CheckOptions, defaultCases: number, grader: string): Promise<{ seed: number; cases: number }> {
  await ready({ verbose: false });
  const seed = options.seed ?? 0;
  const cases = options.cases ?? defaultCases;
  if (!Number.isFinite(seed)) throw new Error(`ws.check.${grader}: seed must be a finite number, got ${seed}`);
  if (!Number.isInteger(cases) || cases < 1) throw new Error(`ws.check.${grader}: cases must be an integer >= 1, got ${cases}`);
  return { seed, cases };
}
