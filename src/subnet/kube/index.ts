// SPDX-License-Identifier: Apache-2.0
/** The Kubernetes subnet manager (node podCIDR + flannel annotations). Not built yet. */
import type { SubnetManager } from '../manager.js';
import type { KubeOptions } from '../create.js';
import type { Logger } from '../../daemon/log.js';
import { UsageError } from '../../cli/errors.js';

export async function createKubeSubnetManager(_o: KubeOptions, _log: Logger): Promise<SubnetManager> {
  throw new UsageError('the Kubernetes subnet manager is not implemented yet: use --subnet-mgr static');
}
