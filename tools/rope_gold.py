# Golden values for src/ops/rope.test.ts: a float64 numpy transcription of transformers'
# _compute_default_rope_parameters and _compute_llama3_parameters (src/transformers/modeling_rope_utils.py), for
# Llama 3.2's rope (theta 500000, llama3 factor 32, low 1, high 4, original context 8192) at head_dim 64.
# Prints inv_freq[i] (scaled, then unscaled) for indices in each regime, and cos/sin of position 4095's angles.
# Run: python3 tools/rope_gold.py (numpy only).
import math, numpy as np
def default(base, dim):
    return 1.0 / (base ** (np.arange(0, dim, 2, dtype=np.int64).astype(np.float64) / dim))
def llama3(base, dim, factor, low, high, old):
    inv = default(base, dim)
    lw = old / low; hw = old / high
    wl = 2 * math.pi / inv
    il = np.where(wl > lw, inv / factor, inv)
    sm = (old / wl - low) / (high - low)
    smoothed = (1 - sm) * il / factor + sm * il
    med = ~(wl < hw) * ~(wl > lw)
    return np.where(med, smoothed, il)
np.set_printoptions(precision=17)
v = llama3(500000.0, 64, 32.0, 1.0, 4.0, 8192)
for i in [0, 1, 14, 15, 16, 17, 18, 31]: print(i, repr(float(v[i])), repr(float(default(500000.0,64)[i])))
# position 4095 angles for a couple of indices
for i in [0, 16, 31]: print('ang', i, repr(float(4095*v[i])), repr(math.cos(4095*v[i])), repr(math.sin(4095*v[i])))
