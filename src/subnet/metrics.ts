// SPDX-License-Identifier: Apache-2.0
/**
 * What subnet managers report for metrics and status (lease renewals, whether the store
 * watch is up), without depending on prom-client: the etcd and kube managers call the
 * process-wide `controlPlaneMetrics`; src/daemon/metrics.ts reads it at scrape time.
 */
/** What subnet managers call: a lease renewal happened; the store watch went up or down. */
export interface ControlPlaneMetrics {
  leaseRenewed(): void;
  setWatchUp(up: boolean): void;
}

/** Does nothing (the default for managers given no recorder). */
export const NOOP_CONTROL_PLANE_METRICS: ControlPlaneMetrics = { leaseRenewed() {}, setWatchUp() {} };

/** Records what managers report, for metrics and status. */
export class ControlPlaneState implements ControlPlaneMetrics {
  leaseRenewals = 0;
  /** null until a manager reports (the static manager never does: its file is always there). */
  storeWatchUp: boolean | null = null;
  leaseRenewed(): void { this.leaseRenewals++; }
  setWatchUp(up: boolean): void { this.storeWatchUp = up; }
}

/** The process-wide recorder: `vxtun run` hands it to its subnet manager. */
export const controlPlaneMetrics = new ControlPlaneState();

