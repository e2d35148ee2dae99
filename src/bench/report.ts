// SPDX-License-Identifier: Apache-2.0
/**
 * Writes the three result files of a bench run into the output directory:
 * <date>[-quick][-N].json (everything), .md (the tables) and .svg (the chart). An existing
 * run of the same day is never overwritten: the next free -2, -3, … suffix is used.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderMarkdown } from './markdown.js';
import type { BenchResult } from './result.js';
import { renderSvg } from './svg.js';

/** YYYY-MM-DD of `d` in local time. */
export function localDate(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/**
 * The base name (no extension) for a run on `date`: '<date>' or '<date>-quick', then
 * '-2', '-3', … while `taken(base)` says a run with that name already exists.
 */
export function resultBaseName(date: string, quick: boolean, taken: (base: string) => boolean): string {
  const base = quick ? `${date}-quick` : date;
  if (!taken(base)) return base;
  for (let i = 2; ; i++) if (!taken(`${base}-${i}`)) return `${base}-${i}`;
}

/** Paths of the written files. */
export interface WrittenFiles {
  json: string;
  md: string;
  svg: string;
}

/** Creates `dir` if needed and writes the JSON, Markdown and SVG of `result` into it. */
export function writeResultFiles(result: BenchResult, dir: string, now = new Date(result.startedAt)): WrittenFiles {
  mkdirSync(dir, { recursive: true });
  const taken = (b: string): boolean => ['json', 'md', 'svg'].some((ext) => existsSync(path.join(dir, `${b}.${ext}`)));
  const base = resultBaseName(localDate(now), result.plan.quick, taken);
  const files = { json: path.join(dir, `${base}.json`), md: path.join(dir, `${base}.md`), svg: path.join(dir, `${base}.svg`) };
  writeFileSync(files.json, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(files.md, renderMarkdown(result));
  writeFileSync(files.svg, renderSvg(result));
  return files;
}
