// SPDX-License-Identifier: Apache-2.0
/**
 * JSON input helpers shared by the config parsers: parse with a precise error position,
 * and read object fields the way Go's encoding/json does.
 *
 * Design notes (why Go's rules): flanneld decodes net-conf.json and lease values with
 * encoding/json into structs, so the same file must mean the same thing here:
 * - a key matches a field case-insensitively (`"network"`, `"NETWORK"` → Network);
 * - when two keys fold to the same field the later one wins;
 * - unknown keys are ignored (we collect them so the caller can warn);
 * - JSON `null` leaves the field at its default (we treat it as absent).
 * V8's JSON.parse messages do not always carry a position, so syntax errors are located by
 * a small RFC 8259 scanner (jsonErrorOffset) and reported as line/column/offset.
 */
import { ConfigError, describeValue } from './errors.js';

/** A parsed JSON object (not an array, not null). */
export type JsonObject = Record<string, unknown>;

/** True when v is a JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Bad {
  constructor(readonly at: number) {}
}

/**
 * jsonErrorOffset returns the offset of the first character where `text` stops being one
 * valid JSON value (text.length for a premature end), or -1 when it is valid JSON.
 */
export function jsonErrorOffset(text: string): number {
  const n = text.length;
  let i = 0;
  const fail = (): never => {
    throw new Bad(i);
  };
  const ws = (): void => {
    while (i < n && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const digits = (): void => {
    const start = i;
    while (i < n && text[i]! >= '0' && text[i]! <= '9') i++;
    if (i === start) fail();
  };
  const str = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= n) fail();
      const c = text.charCodeAt(i);
      if (c === 0x22) { i++; return; }
      if (c < 0x20) fail();
      if (c !== 0x5c) { i++; continue; }
      i++;
      const e = text[i];
      if (e !== undefined && '"\\/bfnrt'.includes(e)) { i++; continue; }
      if (e !== 'u') fail();
      i++;
      for (let k = 0; k < 4; k++, i++) if (!/[0-9a-fA-F]/.test(text[i] ?? '')) fail();
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) { i++; return; }
      for (;;) {
        if (c === '{') {
          ws();
          if (text[i] !== '"') fail();
          str();
          ws();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === close) { i++; return; }
        fail();
      }
    }
    if (c === '"') return str();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      if (c === '-') i++;
      if (text[i] === '0') i++;
      else digits();
      if (text[i] === '.') { i++; digits(); }
      if (text[i] === 'e' || text[i] === 'E') {
        i++;
        if (text[i] === '+' || text[i] === '-') i++;
        digits();
      }
      return;
    }
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i)) { i += lit.length; return; }
    }
    fail();
  };
  try {
    value();
    ws();
    return i < n ? i : -1;
  } catch (err) {
    if (err instanceof Bad) return err.at;
    if (err instanceof RangeError) return i; // nesting deeper than the stack
    throw err;
  }
}

/** lineColumn converts a string offset to 1-based line and column numbers. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const nl = before.lastIndexOf('\n');
  return { line: before.split('\n').length, column: offset - nl };
}

/**
 * parseJsonText parses `text` (the content of `file`) as JSON. On a syntax error it
 * throws a ConfigError whose key is `line L column C`, whose value is the offending
 * character (or `(end of input)`) and whose message also gives the offset and V8's text.
 */
export function parseJsonText(file: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    let at = jsonErrorOffset(text);
    if (at < 0) at = 0;
    const { line, column } = lineColumn(text, at);
    const ch = text[at];
    const value = ch === undefined ? '(end of input)' : JSON.stringify(ch);
    const detail = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' '); // V8 quotes the text, newlines and all
    throw new ConfigError(file, `line ${line} column ${column}`, value, `is not valid JSON (offset ${at}: ${detail})`);
  }
}

/**
 * JsonFields reads the fields of one JSON object as Go's encoding/json would decode it
 * into a struct whose exported field names are `known`. Key paths in errors are
 * `path + name`, e.g. path `Backend.` and name `VNI`. Getters return undefined for an
 * absent (or null) key and throw ConfigError for a value of the wrong type or range.
 */
export class JsonFields {
  /** Keys (with path) that match no known field, in input order. */
  readonly unknown: string[] = [];
  readonly #values = new Map<string, unknown>();

  constructor(readonly file: string, readonly path: string, obj: JsonObject, known: readonly string[]) {
    for (const [k, v] of Object.entries(obj)) {
      const lower = k.toLowerCase();
      const name = known.find((n) => n === k) ?? known.find((n) => n.toLowerCase() === lower);
      if (name === undefined) this.unknown.push(path + k);
      else if (v !== null) this.#values.set(name, v); // Go: null leaves the field as it was
    }
  }

  /** The raw value of field `name`; undefined when absent or null. */
  raw(name: string): unknown {
    return this.#values.get(name);
  }

  /** True when field `name` is present and not null. */
  has(name: string): boolean {
    return this.#values.has(name);
  }

  /** A ConfigError for field `name` holding `value`. */
  error(name: string, value: unknown, reason: string): ConfigError {
    return new ConfigError(this.file, this.path + name, describeValue(value), reason);
  }

  /** Field `name` as a boolean. */
  bool(name: string): boolean | undefined {
    const v = this.raw(name);
    if (v === undefined || typeof v === 'boolean') return v;
    throw this.error(name, v, 'is not a boolean (true or false)');
  }

  /** Field `name` as a string. */
  string(name: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined || typeof v === 'string') return v;
    throw this.error(name, v, 'is not a string');
  }

  /** Field `name` as an integer in min..max (inclusive). */
  int(name: string, min: number, max: number): number | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
    throw this.error(name, v, `is not an integer in ${min}..${max}`);
  }

  /** Field `name` as a JSON object. */
  object(name: string): JsonObject | undefined {
    const v = this.raw(name);
    if (v === undefined || isJsonObject(v)) return v;
    throw this.error(name, v, 'is not a JSON object');
  }
}
