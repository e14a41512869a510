// jax-js (npm @jax-js/jax) as a matmul contender for pairedMatmul, computing what the vendored peer harness computes
// (bench/peers/www/mm_bench.js makeJax): device arrays from the same inputs, np.matmul issued lazily in groups and
// blockUntilReady on the group's outputs as the one sync per group. Loaded on demand, so the engine's own bundles never
// carry it.

import type { ContenderFactory } from './matmul';

/** The factory on jax-js's WebGPU device; throws if jax-js finds no WebGPU there. */
export async function jaxWebGpu(): Promise<ContenderFactory> {
  const jax = await import('@jax-js/jax');
  const devices = await jax.init('webgpu');
  if (!devices.includes('webgpu')) throw new Error(`jax-js: no WebGPU device (init gave ${JSON.stringify(devices)})`);
  jax.defaultDevice('webgpu');
  const np = jax.numpy;
  const factory: ContenderFactory = async (A, B, M, K, N) => {
    const a = np.array(A).reshape([M, K]), b = np.array(B).reshape([K, N]);
    await jax.blockUntilReady([a, b]);
    return {
      check: async () => (await np.matmul(a.ref, b.ref).data()) as Float32Array,
      runGroup: async (n) => {
        const cs = [];
        for (let i = 0; i < n; i++) cs.push(np.matmul(a.ref, b.ref));
        await jax.blockUntilReady(cs);
        cs.forEach((c) => c.dispose());
      },
      dispose: () => { a.dispose(); b.dispose(); },
    };
  };
  return factory;
}
