/**
 * Seeded pseudo-random numbers (SplitMix32-style mixing, then mulberry32) so synthetic
 * datasets and tests replay exactly from a seed.
 */
import { seededRandom, type Random } from '../core/index.js';

export type { Random };

export function mix(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/** The project's one seeded generator (core), under the name the engine's code uses. */
export const seeded: (seed: number) => Random = seededRandom;

export const uniform = (random: Random, low: number, high: number): number => low + (high - low) * random();

export function gaussian(random: Random): number {
  const u = Math.max(1e-12, random());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
