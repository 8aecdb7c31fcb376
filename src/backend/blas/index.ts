/**
 * The "blas" TF.js backend: the cpu backend (a subclass, so every cpu kernel runs on it unchanged) with the
 * kernels that dominate training and second-order work replaced by sgemm-based or tighter float32 forms.
 * Cases a replacement does not cover go to the cpu kernel of the same name.
 */
import * as tf from "@tensorflow/tfjs";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { openBlas, type BlasLibrary } from "./library";
import { batchMatMulKernel, fusedMatMulKernel, binaryKernel, unaryKernel, sumKernel, gatherKernel as gatherV2Kernel, type Kernel } from "./dense";
import { conv2dKernel, fusedConv2dKernel, conv2dBackpropInputKernel, conv2dBackpropFilterKernel, maxPoolKernel, maxPoolGradKernel, poolArgmaxKernel, gatherKernel, scatterKernel } from "./conv";

export { blasCandidates, threadCount, type BlasLibrary } from "./library";

/** The name TF.js knows the backend by (no '_': the kernel registry splits keys at the first one). */
export const BLAS = "blas";

/** The cpu backend whose hot kernels run on the system BLAS. */
export class BlasBackend extends MathBackendCPU {
  constructor(readonly library: BlasLibrary) {
    super();
  }
}

/** The kernels this backend replaces, or adds (Ws*: max pooling with second derivatives, see conv.ts). */
const KERNELS: Record<string, (blas: BlasLibrary) => Kernel> = {
  BatchMatMul: batchMatMulKernel,
  _FusedMatMul: fusedMatMulKernel,
  Conv2D: conv2dKernel,
  FusedConv2D: fusedConv2dKernel,
  Conv2DBackpropInput: conv2dBackpropInputKernel,
  Conv2DBackpropFilter: conv2dBackpropFilterKernel,
  MaxPool: maxPoolKernel,
  MaxPoolGrad: maxPoolGradKernel,
  WsPoolArgmax: () => poolArgmaxKernel,
  WsGather: () => gatherKernel,
  WsScatter: () => scatterKernel,
  Add: () => binaryKernel("Add", "a + b"),
  Sub: () => binaryKernel("Sub", "a - b"),
  Multiply: () => binaryKernel("Multiply", "a * b"),
  RealDiv: () => binaryKernel("RealDiv", "a / b"),
  // Branch-free forms (a sign-dependent branch mispredicts on half the entries: 3x slower, measured), exact:
  // (x + |x|) / 2 is x or 0 in float64; NaN stays NaN as in the cpu kernels; -Infinity is the one special case.
  Relu: () => unaryKernel("Relu", "x !== -Infinity ? 0.5 * (x + Math.abs(x)) : 0"),
  Step: () => unaryKernel("Step", "x !== x ? x : +(x > 0) + alpha * +(x <= 0)"), // relu's gradient is dy * step(x)
  Neg: () => unaryKernel("Neg", "-x"),
  Exp: () => unaryKernel("Exp", "Math.exp(x)"),
  Log: () => unaryKernel("Log", "Math.log(x)"),
  Sqrt: () => unaryKernel("Sqrt", "Math.sqrt(x)"),
  Square: () => unaryKernel("Square", "x * x"),
  Sum: sumKernel,
  GatherV2: gatherV2Kernel,
};

/** The kernel names the blas backend replaces or adds. */
export const BLAS_KERNELS: readonly string[] = Object.keys(KERNELS);

let library: BlasLibrary | undefined;

/**
 * Loads the BLAS library (once) and registers the backend with TF.js; throws with the reason when no
 * library loads. Returns the library, whose thread count the caller sets.
 */
export function registerBlasBackend(): BlasLibrary {
  if (library) return library;
  const blas = openBlas();
  tf.registerBackend(BLAS, () => new BlasBackend(blas), 0);
  tf.copyRegisteredKernels("cpu", BLAS);
  for (const [kernelName, make] of Object.entries(KERNELS)) {
    if (tf.getKernel(kernelName, BLAS)) tf.unregisterKernel(kernelName, BLAS); // re-registering would warn on stderr
    tf.registerKernel({ kernelName, backendName: BLAS, kernelFunc: make(blas) as unknown as tf.KernelFunc });
  }
  library = blas;
  return blas;
}
