// SPDX-License-Identifier: Apache-2.0
/**
 * goJson: JSON encoding byte-for-byte as Go's encoding/json (json.Marshal / MarshalIndent)
 * encodes the values flannel's CNI plugin handles, so the delegate netconf we save to
 * <dataDir>/<containerID> and pass to the delegate is the file flannel would have written.
 *
 * Rules reproduced (Go 1.22+):
 * - maps (plain JS objects) are written with keys sorted by their UTF-8 bytes;
 * - Go structs keep their declaration order: wrap them with goStruct([[key, value], ...]);
 * - strings escape `"` `\` \b \f \n \r \t, other control characters as \u00XX, and the
 *   HTML-sensitive `<` `>` `&` plus U+2028/U+2029 as \u003c \u003e \u0026 \u2028 \u2029;
 *   lone surrogates (invalid UTF-8 in Go) become U+FFFD;
 * - numbers are float64 (Go decodes JSON numbers into interface{} as float64): shortest
 *   round-trip digits, exponent form below 1e-6 and from 1e21 (`1e-7`, `1e+21`), `-0`;
 *   non-finite numbers cannot be encoded and throw;
 * - MarshalIndent puts each element on its own line, `"key": value`, empty `{}`/`[]`.
 */

const STRUCT: unique symbol = Symbol('goStruct');

/** A Go struct value: fields encoded in this order (entries whose value is undefined are skipped). */
export interface GoStruct {
  readonly [STRUCT]: ReadonlyArray<readonly [string, unknown]>;
}

/** goStruct wraps ordered fields so goJson keeps their order instead of sorting. */
export function goStruct(fields: ReadonlyArray<readonly [string, unknown]>): GoStruct {
  return { [STRUCT]: fields };
}

function isStruct(v: unknown): v is GoStruct {
  return typeof v === 'object' && v !== null && STRUCT in v;
}

const HEX = '0123456789abcdef';

/** goString renders a string literal as Go's encoder does (HTML-safe escaping). */
export function goString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
        continue;
      }
      c = 0xfffd;
    }
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) out += `\\u00${HEX[c >> 4]}${HEX[c & 15]}`;
    else if (c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16)}`;
    else out += String.fromCharCode(c);
  }
  return out + '"';
}

/** goNumber renders a float64 as Go's encoder does. */
export function goNumber(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`json: unsupported value: ${n}`);
  if (Object.is(n, -0)) return '-0';
  return String(n); // V8's shortest round-trip form uses Go's thresholds and exponent spelling
}

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * goJson encodes `value` (JSON.parse output, plus goStruct wrappers) as Go would;
 * `indent` ('' = compact json.Marshal, e.g. '    ' = MarshalIndent(v, "", "    ")).
 * `undefined` object members are skipped; a top-level or array `undefined` encodes as null.
 */
export function goJson(value: unknown, indent = ''): string {
  return encode(value, indent, '');
}

function encode(v: unknown, indent: string, prefix: string): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'string') return goString(v);
  const inner = prefix + indent;
  const nl = indent === '' ? '' : '\n';
  const sep = indent === '' ? ':' : ': ';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    const items = v.map((x: unknown) => nl + inner + encode(x, indent, inner));
    return `[${items.join(',')}${nl}${prefix}]`;
  }
  if (typeof v !== 'object') throw new Error(`json: unsupported type: ${typeof v}`);
  let entries: (readonly [string, unknown])[];
  if (isStruct(v)) entries = v[STRUCT].filter(([, x]) => x !== undefined);
  else entries = Object.entries(v).filter(([, x]) => x !== undefined).sort(([a], [b]) => utf8Compare(a, b));
  if (entries.length === 0) return '{}';
  const members = entries.map(([k, x]) => nl + inner + goString(k) + sep + encode(x, indent, inner));
  return `{${members.join(',')}${nl}${prefix}}`;
}
