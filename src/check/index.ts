/**
 * ws.check: graders of a student's own implementation of the ideas behind the probes, for courses.
 * Each grader is async and returns a CheckResult (score, feedback, .show(), .assert()); it never throws
 * because of the student's code.
 */
export { teleport, type TeleportFn } from "./teleport";
export { srel, type SrelFn, type LabelledSample } from "./srel";
export { split, type SplitFn } from "./split";
export { h0, type H0Fn } from "./h0";
export { g2, type G2Fn } from "./g2";
export { CheckResult, type CheckOptions, type CaseRecord, type IdentityScore } from "./result";
