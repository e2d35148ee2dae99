// SPDX-License-Identifier: Apache-2.0
/**
 * The Kubernetes subnet manager (--kube-subnet-mgr): node podCIDR + flannel's node
 * annotations, wire- and API-compatible with stock flanneld nodes. See manager.ts for the
 * lease contract, annotations.ts for the exact annotation values.
 *
 * createKubeSubnetManager resolves everything a start needs before any lease work:
 * the annotation keys (--kube-annotation-prefix), the API client (--kubeconfig-file,
 * --kube-api-url, else in-cluster) and the node name, as flanneld does:
 *   NODE_NAME (KubeOptions.nodeName, else the NODE_NAME variable), else the pod's
 *   spec.nodeName from GET namespaces/$POD_NAMESPACE/pods/$POD_NAME.
 * Operator-fixable problems are UsageError/ConfigError (exit 2) naming the flag/variable.
 */
import { UsageError } from '../../cli/errors.js';
import type { Logger } from '../../daemon/log.js';
import type { KubeOptions } from '../create.js';
import type { SubnetManager } from '../manager.js';
import { annotationKeys } from './annotations.js';
import { connectKube, type NodeApi } from './client.js';
import { KubeSubnetManager, type KubeManagerOptions } from './manager.js';

export { KubeSubnetManager, kubeNetConfig, type KubeManagerOptions } from './manager.js';
export { annotationKeys, backendDataValue, flanneldStoredMac, DEFAULT_ANNOTATION_PREFIX, type AnnotationKeys } from './annotations.js';
export { connectKube, type NodeApi } from './client.js';

/** The environment variables consulted for the node name (flanneld's). */
export interface NodeNameEnv {
  NODE_NAME?: string | undefined;
  POD_NAME?: string | undefined;
  POD_NAMESPACE?: string | undefined;
}

/** resolveNodeName: `explicit`, else NODE_NAME, else the node of pod POD_NAMESPACE/POD_NAME. */
export async function resolveNodeName(api: NodeApi, explicit: string | undefined, env: NodeNameEnv = process.env): Promise<string> {
  const direct = explicit || env.NODE_NAME;
  if (direct) return direct;
  const pod = env.POD_NAME;
  const ns = env.POD_NAMESPACE;
  if (!pod || !ns) {
    throw new UsageError('the Kubernetes subnet manager needs the node name: set NODE_NAME, or POD_NAME and POD_NAMESPACE (the downward API in the DaemonSet)');
  }
  let nodeName: string;
  try {
    nodeName = await api.getPodNodeName(ns, pod);
  } catch (err) {
    throw new Error(`error retrieving pod spec for '${ns}/${pod}' (POD_NAMESPACE/POD_NAME): ${(err as Error).message}`, { cause: err });
  }
  if (!nodeName) throw new UsageError(`node name not present in pod spec '${ns}/${pod}' (spec.nodeName is empty: is the pod scheduled?)`);
  return nodeName;
}

/** Extra knobs for tests (the flags never set them). */
export type KubeManagerTuning = Pick<KubeManagerOptions, 'nodeWaitMs' | 'cache'>;

export async function createKubeSubnetManager(o: KubeOptions, log: Logger, tuning: KubeManagerTuning = {}): Promise<SubnetManager> {
  const keys = annotationKeys(o.annotationPrefix);
  const api = await connectKube({
    ...(o.kubeconfigFile !== undefined ? { kubeconfigFile: o.kubeconfigFile } : {}),
    ...(o.apiUrl !== undefined ? { apiUrl: o.apiUrl } : {}),
  });
  const nodeName = await resolveNodeName(api, o.nodeName);
  log.info({ node: nodeName, server: api.server, annotationPrefix: o.annotationPrefix }, 'Kubernetes subnet manager');
  return new KubeSubnetManager({
    api, nodeName, keys, log,
    netConfigPath: o.netConfigPath,
    setNodeNetworkUnavailable: o.setNodeNetworkUnavailable,
    ...tuning,
  });
}
