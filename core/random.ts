/**
 * Mulberry32: a small, fast pseudo-random generator that replays exactly from a 32-bit seed.
 * Synthetic palms, fault draws, crash plans and fuzz tests all use it so that any run that
 * fails can be repeated from the seed it printed. Not for keys, nonces or anything secret:
 * those come from the HSM or node:crypto.
 */
export type Random = () => number;

/** A generator of uniform numbers in [0, 1), 2^-32 apart. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
