/**
 * Class-pair averages (Dan et al.): Sbar(c, c') = mean of S_rel(x, x') over probed x in class c and
 * affected x' in class c'. Undefined (NaN) entries are left out and counted; a sample paired with
 * itself (S_rel = 1 by definition) is left out too, so same-class averages are not inflated.
 */
export interface ClassPairs {
  /** Probed classes (those of the rows), in the order of the matrices' rows. */
  classes: number[];
  names: string[];
  /** Affected classes (those of the columns), in the order of the matrices' columns; equal to classes for a square result. */
  affected: number[];
  affectedNames: string[];
  /** mean[a][b]: probed class classes[a], affected class affected[b]. */
  mean: number[][];
  std: number[][];
  /** Pairs averaged in each cell. */
  count: number[][];
  /** Mean over the same-class cells and over the cross-class cells (pair-weighted). */
  same: number;
  cross: number;
}

export function classPairs(
  srel: number[][],
  rowLabels: number[],
  columnLabels: number[],
  sameSample: (i: number, j: number) => boolean,
  names: (c: number) => string,
): ClassPairs {
  // Only the classes present on each side: probing 3 of 10 classes gives 3 rows, not 7 more of NaN.
  const classes = [...new Set(rowLabels)].sort((a, b) => a - b);
  const affected = [...new Set(columnLabels)].sort((a, b) => a - b);
  const rowSlot = new Map(classes.map((c, k) => [c, k]));
  const columnSlot = new Map(affected.map((c, k) => [c, k]));
  const sum = zeros(classes.length, affected.length);
  const sumSq = zeros(classes.length, affected.length);
  const count = zeros(classes.length, affected.length);
  let same = 0, sameCount = 0, cross = 0, crossCount = 0;
  srel.forEach((row, i) => {
    const a = rowSlot.get(rowLabels[i])!;
    row.forEach((value, j) => {
      if (Number.isNaN(value) || sameSample(i, j)) return;
      const b = columnSlot.get(columnLabels[j])!;
      sum[a][b] += value;
      sumSq[a][b] += value * value;
      count[a][b]++;
      if (rowLabels[i] === columnLabels[j]) {
        same += value;
        sameCount++;
      } else {
        cross += value;
        crossCount++;
      }
    });
  });
  const mean = sum.map((r, a) => r.map((s, b) => (count[a][b] > 0 ? s / count[a][b] : NaN)));
  const std = sumSq.map((r, a) => r.map((s, b) => (count[a][b] > 1 ? Math.sqrt(Math.max(0, s / count[a][b] - mean[a][b] ** 2) * (count[a][b] / (count[a][b] - 1))) : NaN)));
  return {
    classes, names: classes.map(names), affected, affectedNames: affected.map(names), mean, std, count,
    same: sameCount > 0 ? same / sameCount : NaN,
    cross: crossCount > 0 ? cross / crossCount : NaN,
  };
}

function zeros(rows: number, columns: number): number[][] {
  return Array.from({ length: rows }, () => new Array<number>(columns).fill(0));
}
