// SPDX-License-Identifier: Apache-2.0
/**
 * The Kubernetes API as the kube subnet manager uses it: get/list/watch Nodes, PATCH
 * nodes/<name>/status (strategic merge, as flanneld), get a Pod. Built on
 * @kubernetes/client-node 1.x, which is loaded lazily (`await import()`: it is large and
 * only kube mode needs it).
 *
 * Where the config comes from (flanneld's clientcmd.BuildConfigFromFlags):
 *   --kubeconfig-file K   K's current context; --kube-api-url, if also given, replaces its server
 *   --kube-api-url U      U, no credentials
 *   neither               in-cluster (KUBERNETES_SERVICE_HOST/PORT + the service-account token)
 * Errors are rewritten to one line naming the request and the server's message.
 */
import type { CoreV1Api, KubeConfig, V1Node } from '@kubernetes/client-node';
import { UsageError } from '../../cli/errors.js';
import type { KubeNode } from './node-lease.js';

/** A watch event as the API server sends it (`object` is a Node, or a Status for ERROR). */
export type NodeWatchEvent =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly node: KubeNode }
  | { readonly type: 'BOOKMARK'; readonly resourceVersion: string }
  | { readonly type: 'ERROR'; readonly code: number | undefined; readonly message: string };

/** The Node/Pod calls the manager makes. Every method rejects with a one-line Error. */
export interface NodeApi {
  /** The API server URL (for messages). */
  readonly server: string;
  /** GET nodes/<name>; null when it does not exist (404). */
  getNode(name: string): Promise<KubeNode | null>;
  /** GET nodes: every node and the list's resourceVersion. */
  listNodes(): Promise<{ items: KubeNode[]; resourceVersion: string }>;
  /**
   * GET nodes?watch=true from `resourceVersion`. onEvent runs per event; onDone runs once
   * when the stream ends (null: closed by the server) or fails. Resolves with stop().
   */
  watchNodes(resourceVersion: string, timeoutSeconds: number, onEvent: (e: NodeWatchEvent) => void, onDone: (err: Error | null) => void): Promise<() => void>;
  /** PATCH nodes/<name>/status with Content-Type application/strategic-merge-patch+json. */
  patchNodeStatus(name: string, patch: object): Promise<void>;
  /** GET namespaces/<ns>/pods/<name> → spec.nodeName ('' when unscheduled). */
  getPodNodeName(namespace: string, name: string): Promise<string>;
}

/** Where to find the API server (the run flags). */
export interface KubeConnectOptions {
  kubeconfigFile?: string;
  apiUrl?: string;
}

type RawNode = Pick<V1Node, 'metadata' | 'spec'>;

/** The fields the manager reads from a v1.Node (typed from list/get, raw JSON from watch). */
export function kubeNodeOf(n: RawNode): KubeNode {
  const cidrs = n.spec?.podCIDRs?.length ? n.spec.podCIDRs : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
  return {
    name: n.metadata?.name ?? '',
    resourceVersion: n.metadata?.resourceVersion ?? '',
    annotations: { ...(n.metadata?.annotations ?? {}) },
    podCIDRs: [...cidrs],
  };
}

/** One line for an API failure: `GET nodes/x: HTTP 404: nodes "x" not found`. */
export function apiErrorMessage(what: string, err: unknown): string {
  const e = err as { code?: unknown; body?: unknown; message?: string };
  if (typeof e.code === 'number') {
    let msg: unknown = e.body;
    if (typeof msg === 'string') {
      try { msg = JSON.parse(msg); } catch { /* keep the text */ }
    }
    const text = typeof msg === 'object' && msg !== null && typeof (msg as { message?: unknown }).message === 'string'
      ? (msg as { message: string }).message : String(msg ?? '');
    return `${what}: HTTP ${e.code}${text ? `: ${text}` : ''}`;
  }
  return `${what}: ${e.message ?? String(err)}`;
}

/**
 * client-node refuses an http:// server unless skipTLSVerify is set; client-go and kubectl
 * accept plain http (e.g. `kubectl proxy`), and there is no TLS to verify, so we set it.
 */
function isPlainHttp(server: string): boolean {
  return server.startsWith('http:');
}

async function loadConfig(k8s: typeof import('@kubernetes/client-node'), o: KubeConnectOptions): Promise<KubeConfig> {
  const kc = new k8s.KubeConfig();
  if (o.kubeconfigFile !== undefined) {
    try {
      kc.loadFromFile(o.kubeconfigFile);
    } catch (err) {
      throw new UsageError(`--kubeconfig-file ${o.kubeconfigFile}: ${(err as Error).message}`, { cause: err });
    }
    const cluster = kc.getCurrentCluster();
    if (cluster === null) throw new UsageError(`--kubeconfig-file ${o.kubeconfigFile}: no current context with a cluster`);
    const clusters = kc.clusters.map((c) => {
      const server = c.name === cluster.name && o.apiUrl !== undefined ? o.apiUrl : c.server;
      return { ...c, server, skipTLSVerify: c.skipTLSVerify || isPlainHttp(server) };
    });
    kc.loadFromOptions({ clusters, users: kc.users, contexts: kc.contexts, currentContext: kc.currentContext });
  } else if (o.apiUrl !== undefined) {
    kc.loadFromClusterAndUser({ name: 'kube-api-url', server: o.apiUrl, skipTLSVerify: isPlainHttp(o.apiUrl) }, { name: 'anonymous' });
  } else {
    if (!process.env['KUBERNETES_SERVICE_HOST'] || !process.env['KUBERNETES_SERVICE_PORT']) {
      throw new UsageError('the Kubernetes subnet manager needs --kubeconfig-file or --kube-api-url when not running in a pod (KUBERNETES_SERVICE_HOST/PORT are not set)');
    }
    kc.loadFromCluster();
  }
  return kc;
}

/** connectKube builds the client (no request is made yet). UsageError for a bad kubeconfig. */
export async function connectKube(o: KubeConnectOptions): Promise<NodeApi> {
  const k8s = await import('@kubernetes/client-node');
  const kc = await loadConfig(k8s, o);
  const server = kc.getCurrentCluster()?.server ?? '(unknown server)';
  const core: CoreV1Api = kc.makeApiClient(k8s.CoreV1Api);
  const watch = new k8s.Watch(kc);
  const smp = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw new Error(apiErrorMessage(`${what} (${server})`, err), { cause: err });
    }
  };
  return {
    server,
    async getNode(name) {
      try {
        return kubeNodeOf(await core.readNode({ name }));
      } catch (err) {
        if ((err as { code?: unknown }).code === 404) return null;
        throw new Error(apiErrorMessage(`GET nodes/${name} (${server})`, err), { cause: err });
      }
    },
    async listNodes() {
      const list = await call('GET nodes', () => core.listNode());
      return { items: list.items.map(kubeNodeOf), resourceVersion: list.metadata?.resourceVersion ?? '' };
    },
    async watchNodes(resourceVersion, timeoutSeconds, onEvent, onDone) {
      const query = { resourceVersion, timeoutSeconds, allowWatchBookmarks: true };
      const ctl = await watch.watch('/api/v1/nodes', query, (type: string, obj: unknown) => {
        const o = (obj ?? {}) as RawNode & { code?: number; message?: string };
        if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') onEvent({ type, node: kubeNodeOf(o) });
        else if (type === 'BOOKMARK') onEvent({ type, resourceVersion: o.metadata?.resourceVersion ?? '' });
        else if (type === 'ERROR') onEvent({ type, code: o.code, message: o.message ?? JSON.stringify(obj) });
      }, (err: unknown) => onDone(err ? new Error(apiErrorMessage(`watch nodes (${server})`, err), { cause: err }) : null));
      return () => ctl.abort();
    },
    async patchNodeStatus(name, patch) {
      await call(`PATCH nodes/${name}/status`, () => core.patchNodeStatus({ name, body: patch }, smp));
    },
    async getPodNodeName(namespace, name) {
      const pod = await call(`GET namespaces/${namespace}/pods/${name}`, () => core.readNamespacedPod({ namespace, name }));
      return pod.spec?.nodeName ?? '';
    },
  };
}
