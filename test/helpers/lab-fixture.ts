// SPDX-License-Identifier: Apache-2.0
/**
 * The common setup of a whole-cluster test: a lab cluster, the vxtun files, a scratch
 * directory (captures, packet lists) and the vxtun runs to stop; all of it undone in
 * t.teardown, also when the test fails.
 */
import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createCluster, type ClusterSpec, type LabCluster } from '../../src/lab/cluster.js';
import { LabFiles, type LabVxtun } from '../../src/lab/vxtun.js';

export interface LabFixture {
  cluster: LabCluster;
  files: LabFiles;
  scratch: string;
  /** Push every vxtun run here: teardown stops them before the cluster goes. */
  runs: LabVxtun[];
}

export function labFixture(t: Test, spec: ClusterSpec): LabFixture {
  const cluster = createCluster(spec);
  const files = new LabFiles();
  const scratch = mkdtempSync(path.join(tmpdir(), `vxtun-${spec.name ?? 'lab'}-`));
  const runs: LabVxtun[] = [];
  t.teardown(async () => {
    for (const r of runs) await r.stop();
    cluster.destroy();
    files.remove();
    rmSync(scratch, { recursive: true, force: true });
  });
  return { cluster, files, scratch, runs };
}
