// Array types of the CPU reference ops: f32 for the engine, f64 for finite-difference checks.

/** A float array the reference ops read and write; Float64Array gives exact-enough finite differences. */
export type FArr = Float32Array | Float64Array;
/** Token ids, targets and masks. */
export type IArr = Int32Array;
