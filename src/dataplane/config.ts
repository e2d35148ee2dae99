// SPDX-License-Identifier: Apache-2.0
/** What a Device needs to know about this node and the cluster. */
export interface DeviceConfig {
  /** The VXLAN network identifier (flannel Backend.VNI, default 1). */
  vni: number;
  /** Our VtepMAC: the inner source MAC we send and the inner destination MAC we accept. */
  vtepMac: Uint8Array;
  /** The cluster Network (flannel `Network`) as int32 network + prefix length. */
  network: number;
  networkPrefixLen: number;
  /**
   * Accept VXLAN only from PublicIPs that hold a lease, and only inner sources inside the
   * sender's subnet. Beyond what the kernel checks; on by default.
   */
  validateSource: boolean;
  /** Packets per batch (both directions). */
  batchSize: number;
  /** Batches drained per readiness callback before yielding to the event loop. */
  maxBatchesPerWake: number;
  /** ICMP destination-unreachable messages allowed per second (token bucket). */
  icmpRatePerSec: number;
}

export const DEFAULT_BATCH_SIZE = 64;

/** Fills the optional knobs with defaults. */
export function deviceConfig(c: Pick<DeviceConfig, 'vni' | 'vtepMac' | 'network' | 'networkPrefixLen'> & Partial<DeviceConfig>): DeviceConfig {
  return {
    validateSource: true,
    batchSize: DEFAULT_BATCH_SIZE,
    maxBatchesPerWake: 8,
    icmpRatePerSec: 100,
    ...c,
  };
}
