/**
 * Parity: the shared numerical core satisfies the same identities on every backend that is available
 * here, within the tolerances stated in identities.ts. A backend that cannot start is skipped with its
 * reason, visibly. WEIGHTSCOPE_BACKEND=<name> restricts the run to that backend (the GPU machine's run).
 */
import { test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { ready, BACKEND_ORDER, type BackendName } from "../../src/backend";
import { assertNoLeak } from "../helpers";
import { IDENTITIES, TOLERANCE } from "./identities";

const only = process.env.WEIGHTSCOPE_BACKEND;
const backends: readonly BackendName[] = only && only !== "auto" ? [only as BackendName] : BACKEND_ORDER;

for (const name of backends) {
  test(`identities on the ${name} backend`, async (t) => {
    try {
      await ready({ backend: name, verbose: false });
    } catch (err) {
      t.skip((err as Error).message);
      return;
    }
    for (const identity of IDENTITIES) {
      await t.test(identity.name, async () => {
        await assertNoLeak(async () => identity.check(TOLERANCE[name]), identity.name);
        if (tf.getBackend() !== name) throw new Error(`ran on ${tf.getBackend()}, not ${name}`);
      });
    }
  });
}
