export { hessian, hessianOf, sharpness, sharpnessOf, HessianResult, SharpnessResult, AUTO_EXACT_LIMIT, ZERO_TOL, type HessianOptions, type SharpnessOptions } from "./hessian";
export { withCurvature, withModelCurvature, type Curvature, type CurvatureOptions, type Precision } from "./curvature";
export { ExactNet, type ExactData } from "./float64";
