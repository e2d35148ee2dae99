// SPDX-License-Identifier: Apache-2.0
/**
 * The operator-facing services of a running node, started after startVtep and stopped
 * before its teardown: the control socket (status, capture) and the Prometheus endpoint.
 * `vxtun run` calls startOperatorServices once; nothing here touches the hot path.
 */
import { startControlServer, defaultControlSocket, type ControlServer } from './control.js';
import { controlPlaneMetrics, DEFAULT_METRICS_ADDRESS, parseMetricsAddress, startMetricsServer, type ControlPlaneState, type MetricsServer } from './metrics.js';
import type { StatusSource } from './status.js';
import type { Logger } from './log.js';

export interface OperatorFlags {
  /** --control-socket (default /run/vxtun/<tun>.sock). */
  controlSocket?: string;
  /** --metrics-address host:port or "off" (default 127.0.0.1:9472). */
  metricsAddress?: string;
}

export interface OperatorServices {
  readonly control: ControlServer;
  /** undefined when metrics are off. */
  readonly metrics: MetricsServer | undefined;
  /** Stops both (captures end, the socket file is removed). Idempotent, never rejects. */
  stop(): Promise<void>;
}

/**
 * Starts the control socket and (unless "off") the metrics endpoint for `vtep`. When one
 * cannot start (socket in use, port taken) it stops what it started, then stops the vtep
 * itself if it has a stop() — so the caller only has to propagate the error (a UsageError:
 * exit 2 with one sentence).
 */
export async function startOperatorServices(
  vtep: StatusSource & { stop?: () => Promise<void> },
  flags: OperatorFlags,
  log: Logger,
  controlPlane: ControlPlaneState = controlPlaneMetrics,
): Promise<OperatorServices> {
  let control: ControlServer | undefined;
  let metrics: MetricsServer | undefined;
  try {
    const address = parseMetricsAddress(flags.metricsAddress ?? DEFAULT_METRICS_ADDRESS);
    control = await startControlServer({ path: flags.controlSocket ?? defaultControlSocket(vtep.tunName), source: vtep, log, controlPlane });
    const hub = control.capture;
    if (address !== null) metrics = await startMetricsServer(address, { source: vtep, controlPlane, log, captureSessions: () => hub.size });
  } catch (err) {
    await control?.close();
    if (vtep.stop) await vtep.stop().catch((e: Error) => log.warn({ err: e.message }, 'teardown after a failed start failed'));
    throw err;
  }
  let stopped: Promise<void> | undefined;
  const c = control;
  const m = metrics;
  return {
    control: c,
    metrics: m,
    stop() {
      stopped ??= Promise.allSettled([c.close(), m?.close()]).then(() => undefined);
      return stopped;
    },
  };
}
