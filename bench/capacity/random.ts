/** A seeded pseudo-random source: the same seed gives the same day, run after run. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /**
   * A delay in `[low, high]`, drawn from a triangular distribution whose mode is a third of the way
   * up: delays of the cloud skew long (most near the low end, a tail towards the high one).
   */
  within(range: readonly [number, number]): number;
  /** Log-normal with this median and spread (σ of the logarithm). */
  logNormal(median: number, sigma: number): number;
  /** Exponential with this mean (the gaps of a Poisson process). */
  exponential(mean: number): number;
  /** A new source for one part of the world, so that one part's draws do not shift another's. */
  fork(label: string): Random;
}

/** mulberry32: a small, fast 32-bit generator; plenty for a simulation. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hash = (text: string) => {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
};

export function createRandom(seed: number): Random {
  const next = mulberry32(seed);
  const random: Random = {
    next,
    within([low, high]) {
      if (high <= low) return low;
      const mode = (high - low) / 3;
      const span = high - low;
      const u = next();
      // Inverse CDF of the triangular distribution on [0, span] with its mode at `mode`.
      const x =
        u < mode / span ? Math.sqrt(u * span * mode) : span - Math.sqrt((1 - u) * span * (span - mode));
      return low + x;
    },
    logNormal(median, sigma) {
      // Box–Muller.
      const u = Math.max(next(), Number.EPSILON);
      const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
      return median * Math.exp(sigma * z);
    },
    exponential(mean) {
      return -mean * Math.log(1 - next());
    },
    fork: (label) => createRandom(hash(`${seed}/${label}`)),
  };
  return random;
}
