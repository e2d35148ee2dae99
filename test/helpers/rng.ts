// SPDX-License-Identifier: Apache-2.0
/**
 * A seeded pseudo-random generator (mulberry32) for reproducible randomized tests:
 * rng(seed)() returns floats in [0, 1); the same seed gives the same sequence.
 */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
