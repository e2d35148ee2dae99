// SPDX-License-Identifier: Apache-2.0
/**
 * The three PATCH flavours the Kubernetes API accepts, for the API test double
 * (kube-api-double.ts), applied to plain JSON:
 *
 * - strategic merge (application/strategic-merge-patch+json), restricted to what Nodes
 *   need: objects merge recursively, `null` deletes a key, lists whose patch strategy is
 *   "merge" in k8s.io/api (Node status.conditions and status.addresses, merge key `type`)
 *   merge element by element, every other list is replaced; `$`-directives
 *   (`$setElementOrder/...`, `$patch`) are accepted and ignored except `$patch: delete`
 *   on a list element, which removes the element with that key;
 * - JSON merge patch (RFC 7386);
 * - JSON patch (RFC 6902): add, replace, remove, test (JSON pointers with ~0/~1).
 * Each function returns the patched value and leaves its inputs alone where it can.
 */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObj = { [k: string]: Json };

const isObj = (v: unknown): v is JsonObj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Lists merged by key in a strategic merge patch (path → merge key). */
const MERGE_KEYS: Record<string, string> = {
  'status.conditions': 'type',
  'status.addresses': 'type',
};

function mergeList(target: Json[], patch: Json[], key: string): Json[] {
  const out = [...target];
  for (const item of patch) {
    if (!isObj(item) || !(key in item)) {
      out.push(item);
      continue;
    }
    const i = out.findIndex((x) => isObj(x) && x[key] === item[key]);
    if (item['$patch'] === 'delete') {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) {
      out[i] = strategicMerge(out[i]!, item, '');
    } else {
      out.push(strategicMerge({}, item, ''));
    }
  }
  return out;
}

function strategicMerge(target: Json, patch: Json, path: string): Json {
  if (!isObj(patch)) return patch;
  const out: JsonObj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    const p = path ? `${path}.${k}` : k;
    if (v === null) delete out[k];
    else if (Array.isArray(v) && MERGE_KEYS[p] !== undefined) out[k] = mergeList(Array.isArray(out[k]) ? out[k] : [], v, MERGE_KEYS[p]);
    else if (isObj(v)) out[k] = strategicMerge(out[k] ?? null, v, p);
    else out[k] = v;
  }
  return out;
}

function mergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return patch;
  const out: JsonObj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v);
  }
  return out;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`json patch path ${JSON.stringify(path)} does not start with "/"`);
  return path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function jsonPatch(doc: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new Error('a json patch must be an array of operations');
  let root = structuredClone(doc);
  for (const op of ops) {
    if (!isObj(op) || typeof op['op'] !== 'string' || typeof op['path'] !== 'string') throw new Error(`bad json patch operation ${JSON.stringify(op)}`);
    const keys = pointer(op['path']);
    const last = keys.pop();
    if (last === undefined) {
      if (op['op'] === 'replace' || op['op'] === 'add') root = op['value'] ?? null;
      continue;
    }
    let parent: Json = root;
    for (const k of keys) {
      const next: Json | undefined = Array.isArray(parent) ? parent[Number(k)] : isObj(parent) ? parent[k] : undefined;
      if (next === undefined) throw new Error(`json patch path ${op['path']} does not exist`);
      parent = next;
    }
    const has = Array.isArray(parent) ? Number(last) < parent.length : isObj(parent) && last in parent;
    switch (op['op']) {
      case 'test':
        if (!has || JSON.stringify(Array.isArray(parent) ? parent[Number(last)] : (parent as JsonObj)[last]) !== JSON.stringify(op['value'])) {
          throw new Error(`json patch test failed at ${op['path']}`);
        }
        break;
      case 'remove':
        if (!has) throw new Error(`json patch remove: ${op['path']} does not exist`);
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else delete (parent as JsonObj)[last];
        break;
      case 'add':
      case 'replace':
        if (op['op'] === 'replace' && !has) throw new Error(`json patch replace: ${op['path']} does not exist`);
        if (Array.isArray(parent)) {
          const i = last === '-' ? parent.length : Number(last);
          if (op['op'] === 'add') parent.splice(i, 0, op['value'] ?? null);
          else parent[i] = op['value'] ?? null;
        } else if (isObj(parent)) parent[last] = op['value'] ?? null;
        else throw new Error(`json patch: ${op['path']} has no parent object`);
        break;
      default:
        throw new Error(`json patch op ${JSON.stringify(op['op'])} is not supported by the double`);
    }
  }
  return root;
}

/** Applies a patch of `kind` to `doc`; throws Error (→ 422) when a JSON patch cannot apply. */
export function applyPatch(kind: 'strategic' | 'merge' | 'json', doc: Json, patch: Json): Json {
  if (kind === 'strategic') return strategicMerge(doc, patch, '');
  if (kind === 'merge') return mergePatch(doc, patch);
  return jsonPatch(doc, patch);
}
