// SPDX-License-Identifier: Apache-2.0
/**
 * Garbage collections of this process, counted by kind through perf_hooks' 'gc' entries,
 * for `vxtun status` (memory.gcMinor / memory.gcMajor).
 *
 * Why: heapUsed alone cannot tell allocation per packet from other garbage, since it climbs
 * between collections either way. Scavenges per second against packets and wakes per
 * second can: if the hot path allocated per packet, hundreds of thousands of packets a
 * second would fill the young generation every few milliseconds. A busy daemon still
 * scavenges about once a second, following wakes rather than packets, because Node itself
 * creates a small object per event-loop iteration (in its check phase).
 *
 * heapOld is the other half of the picture: the bytes in V8's old generation, i.e. what
 * survived scavenges. Garbage that dies young never reaches it; a leak does, and so does
 * control-plane garbage that V8 promotes until a full collection. Measured after a full
 * GC (`vxtun status --gc`), a flat heapOld over a loaded run is what "the heap stays flat"
 * means here; the steady-state bench reports it.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

export interface GcCounts {
  /** Scavenges (young generation). */
  minor: number;
  /** Mark-sweep-compacts (whole heap), incremental marking steps and weak callbacks included. */
  major: number;
}

const counts: GcCounts = { minor: 0, major: 0 };
let observer: PerformanceObserver | null = null;

/** Starts counting (idempotent). */
export function watchGc(): void {
  if (observer !== null) return;
  observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) counts.minor++;
      else counts.major++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
}

/** Stops counting (idempotent); the counts stay. */
export function unwatchGc(): void {
  observer?.disconnect();
  observer = null;
}

/** The counts so far (zeros when never watched). */
export function gcCounts(): GcCounts {
  return { ...counts };
}

/** Young-generation spaces: everything else is the old generation (old, code, large objects, ...). */
const YOUNG_SPACES = new Set(['new_space', 'new_large_object_space']);

/** Bytes used in V8's old generation (all spaces but the young ones), now. */
export function heapOldBytes(): number {
  let used = 0;
  for (const s of getHeapSpaceStatistics()) if (!YOUNG_SPACES.has(s.space_name)) used += s.space_used_size;
  return used;
}
