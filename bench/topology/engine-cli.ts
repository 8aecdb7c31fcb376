/** One persistence computation in its own process, so /usr/bin/time measures its peak memory: engine-cli <format> <file> <maxDim> <workers|default> [threshold]. */
import * as fs from "fs";
import { persistence } from "../../src/topology/persistence";

const [format, file, dimArg, workersArg, thrArg] = process.argv.slice(2);
const text = fs.readFileSync(file, "utf8");
const started = performance.now();
const input =
  format === "lower-distance"
    ? { distances: text.split(/[\s,]+/).filter((s) => s.length > 0).map(Number) }
    : text.trim().split("\n").map((l) => l.trim().split(/\s+/).map(Number));
void main();

async function main(): Promise<void> {
const r = await persistence(input, { maxDim: Number(dimArg), workers: workersArg === "default" ? undefined : Number(workersArg), threshold: thrArg === undefined ? undefined : Number(thrArg), progress: false });
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ seconds, bars: r.diagrams.map((d) => d.length) }));
}
