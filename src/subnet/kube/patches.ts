// SPDX-License-Identifier: Apache-2.0
/**
 * The two PATCH bodies the kube manager sends to nodes/<name>/status, both
 * application/strategic-merge-patch+json and both byte-for-byte what flanneld sends:
 *
 * - annotationPatch (AcquireLease): `{"metadata":{"annotations":{...}}}` holding only the
 *   annotations whose value differs, as strategicpatch.CreateTwoWayMergePatch produces;
 *   keys in Go's map order (sorted). null when nothing differs: no PATCH at all.
 * - networkUnavailablePatch (CompleteLease, --set-node-network-unavailable, default
 *   true): condition NetworkUnavailable=False, reason FlannelIsUp. `conditions` merges
 *   by `type`, so Ready and the other conditions are left alone. Go's json.Marshal of
 *   v1.NodeCondition fixes the field order (type, status, lastHeartbeatTime,
 *   lastTransitionTime, reason, message); metav1.Time is RFC 3339 in UTC, whole seconds.
 */

/** The strategic-merge patch setting `desired` over `current`, or null when every value already matches. */
export function annotationPatch(current: Readonly<Record<string, string>>, desired: Readonly<Record<string, string>>): { metadata: { annotations: Record<string, string> } } | null {
  const changed = Object.keys(desired).sort().filter((k) => current[k] !== desired[k]);
  if (changed.length === 0) return null;
  return { metadata: { annotations: Object.fromEntries(changed.map((k) => [k, desired[k]!])) } };
}

/** NodeNetworkUnavailable, as in k8s.io/api/core/v1. */
export const NETWORK_UNAVAILABLE = 'NetworkUnavailable';
export const FLANNEL_IS_UP_REASON = 'FlannelIsUp';
export const FLANNEL_IS_UP_MESSAGE = 'Flannel is running on this node';

/** metav1.Time's JSON form: `2024-05-01T12:00:00Z`. */
export function kubeTime(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** The condition as flanneld marshals it (key order matters only for byte equality). */
export interface NodeCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastHeartbeatTime: string;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** The strategic-merge patch `{"status":{"conditions":[NetworkUnavailable=False]}}` at time `now`. */
export function networkUnavailablePatch(now: Date): { status: { conditions: NodeCondition[] } } {
  const t = kubeTime(now);
  return {
    status: {
      conditions: [{
        type: NETWORK_UNAVAILABLE,
        status: 'False',
        lastHeartbeatTime: t,
        lastTransitionTime: t,
        reason: FLANNEL_IS_UP_REASON,
        message: FLANNEL_IS_UP_MESSAGE,
      }],
    },
  };
}
