// SPDX-License-Identifier: Apache-2.0
/** The etcd subnet manager (flannel's v3 layout). Not built yet. */
import type { SubnetManager } from '../manager.js';
import type { EtcdOptions } from '../create.js';
import type { Logger } from '../../daemon/log.js';
import { UsageError } from '../../cli/errors.js';

export async function createEtcdSubnetManager(_o: EtcdOptions, _log: Logger): Promise<SubnetManager> {
  throw new UsageError('the etcd subnet manager is not implemented yet: use --subnet-mgr static');
}
