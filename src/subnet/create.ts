// SPDX-License-Identifier: Apache-2.0
/**
 * Picks and builds the SubnetManager from the run flags, as flanneld does: the Kubernetes
 * manager with --kube-subnet-mgr, else etcd; vxtun adds the static manager
 * (--subnet-mgr static --leases FILE) for clusters without either.
 */
import type { Logger } from '../daemon/log.js';
import type { SubnetManager } from './manager.js';
import { StaticSubnetManager } from './static.js';

export interface EtcdOptions {
  endpoints: string[];
  prefix: string;
  keyfile?: string;
  certfile?: string;
  cafile?: string;
  username?: string;
  password?: string;
  /** --subnet-lease-renew-margin, minutes. */
  renewMarginMinutes: number;
  /** subnet.env path: its FLANNEL_SUBNET is the "previous subnet" tried on acquire. */
  subnetFile: string;
}

export interface KubeOptions {
  apiUrl?: string;
  kubeconfigFile?: string;
  annotationPrefix: string;
  netConfigPath: string;
  /** NODE_NAME (or resolved from POD_NAME/POD_NAMESPACE). */
  nodeName?: string;
  setNodeNetworkUnavailable: boolean;
}

export type SubnetManagerChoice =
  | { kind: 'static'; netConfigPath: string; leasesPath: string }
  | ({ kind: 'etcd' } & EtcdOptions)
  | ({ kind: 'kube' } & KubeOptions);

export async function createSubnetManager(choice: SubnetManagerChoice, log: Logger): Promise<SubnetManager> {
  switch (choice.kind) {
    case 'static':
      return new StaticSubnetManager({ netConfigPath: choice.netConfigPath, leasesPath: choice.leasesPath, log });
    case 'etcd': {
      const { createEtcdSubnetManager } = await import('./etcd/index.js');
      return createEtcdSubnetManager(choice, log);
    }
    case 'kube': {
      const { createKubeSubnetManager } = await import('./kube/index.js');
      return createKubeSubnetManager(choice, log);
    }
  }
}
