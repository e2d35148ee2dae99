// SPDX-License-Identifier: Apache-2.0
/**
 * bench/results/<date>.svg, drawn by hand (no dependencies): one row per offload mode with
 * three panels: TCP throughput bars (1 and 4 streams), small-UDP delivered-pps bars (at the
 * kernel's load, and unthrottled), and RTT boxes spanning p50 to p99 on a log axis (pings
 * 2 ms apart and, dashed, idle pings 200 ms apart). Bars show medians,
 * whiskers the min–max over repetitions. Pure: the same result always gives the same SVG.
 */
import type { DataplaneConfig, OffloadMode } from './plan.js';
import type { BenchResult } from './result.js';
import type { Summary } from './stats.js';

const COLORS: Record<DataplaneConfig, string> = { kernel: '#6b7280', vxtun: '#2563eb', mixed: '#ea580c', naive: '#a855f7' };
const W = 960;
const ROW_H = 290;
const TOP = 56;
const PANEL_W = 300;
const GAP = 15;

/** Escapes text for SVG element content and attribute values. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The smallest "nice" number (1, 2, 2.5, 5 × 10^k) ≥ v; 1 for v ≤ 0. */
export function niceCeil(v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v * (1 - 1e-9)) return m * p;
  return 10 * p;
}

function num(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1).replace(/\.0$/, '') : v.toFixed(2).replace(/\.?0+$/, '');
}

function text(x: number, y: number, s: string, extra = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}"${extra}>${esc(s)}</text>`;
}

interface Group { label: string; bars: Array<{ config: DataplaneConfig; s: Summary | undefined }> }

/** Frame, title and a linear y axis (0..max, 4 ticks) of a panel; returns the y mapping. */
function axes(parts: string[], x: number, y: number, title: string, unit: string, max: number): (v: number) => number {
  const { top, bottom } = frame(parts, x, y, title, unit);
  const ymap = (v: number): number => bottom - (Math.max(0, v) / max) * (bottom - top);
  for (let i = 0; i <= 4; i++) gridLine(parts, x, ymap((max * i) / 4), num((max * i) / 4));
  return ymap;
}

/** Like axes() with a log10 y axis over whole decades [lo, hi], one tick per decade. */
function logAxes(parts: string[], x: number, y: number, title: string, unit: string, lo: number, hi: number): (v: number) => number {
  const { top, bottom } = frame(parts, x, y, title, unit);
  const a = Math.log10(lo);
  const span = Math.max(1, Math.log10(hi) - a);
  const ymap = (v: number): number => bottom - ((Math.log10(Math.max(v, lo)) - a) / span) * (bottom - top);
  for (let d = lo; d <= hi * 1.0001; d *= 10) gridLine(parts, x, ymap(d), num(d));
  return ymap;
}

/** Decade bounds [10^floor(log lo), 10^ceil(log hi)] for positive values (1..10 when none). */
export function decades(values: readonly number[]): [number, number] {
  const v = values.filter((n) => n > 0 && Number.isFinite(n));
  if (v.length === 0) return [1, 10];
  const lo = 10 ** Math.floor(Math.log10(Math.min(...v)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...v)));
  return [lo, hi > lo ? hi : lo * 10];
}

function frame(parts: string[], x: number, y: number, title: string, unit: string): { top: number; bottom: number } {
  const top = y + 28;
  const bottom = y + ROW_H - 58;
  parts.push(text(x + PANEL_W / 2, y + 14, title, ' text-anchor="middle" font-weight="bold"'));
  parts.push(text(x + 4, top - 6, unit, ' font-size="10" fill="#555"'));
  parts.push(`<line x1="${x + 44}" y1="${top}" x2="${x + 44}" y2="${bottom}" stroke="#9ca3af"/>`);
  return { top, bottom };
}

function gridLine(parts: string[], x: number, yy: number, label: string): void {
  parts.push(`<line x1="${x + 44}" y1="${yy.toFixed(1)}" x2="${x + PANEL_W - 6}" y2="${yy.toFixed(1)}" stroke="#e5e7eb"/>`);
  parts.push(text(x + 40, yy + 3, label, ' text-anchor="end" font-size="10" fill="#555"'));
}

/** A grouped bar panel with min–max whiskers. */
function barPanel(parts: string[], x: number, y: number, title: string, unit: string, groups: Group[]): void {
  const vals = groups.flatMap((g) => g.bars.map((b) => b.s?.max ?? b.s?.median ?? 0));
  const ymap = axes(parts, x, y, title, unit, niceCeil(Math.max(0, ...vals)));
  const left = x + 50;
  const gw = (PANEL_W - 60) / Math.max(1, groups.length);
  groups.forEach((g, gi) => {
    const gx = left + gi * gw;
    const bw = Math.min(40, (gw - 14) / Math.max(1, g.bars.length));
    g.bars.forEach((b, bi) => {
      const bx = gx + 7 + bi * bw;
      const med = b.s?.median;
      if (typeof med !== 'number') {
        parts.push(text(bx + bw / 2, ymap(0) - 4, 'n/a', ' text-anchor="middle" font-size="9" fill="#999"'));
        return;
      }
      const top = ymap(med);
      parts.push(`<rect x="${(bx + 1).toFixed(1)}" y="${top.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(ymap(0) - top).toFixed(1)}" fill="${COLORS[b.config]}"><title>${esc(`${b.config} ${g.label}: ${num(med)} ${unit}`)}</title></rect>`);
      if (b.s && b.s.min !== null && b.s.max !== null && b.s.max > b.s.min) {
        const cx = (bx + bw / 2).toFixed(1);
        parts.push(`<line x1="${cx}" y1="${ymap(b.s.min).toFixed(1)}" x2="${cx}" y2="${ymap(b.s.max).toFixed(1)}" stroke="#111" stroke-width="1.2"/>`);
      }
      parts.push(text(bx + bw / 2, top - 4, num(med), ' text-anchor="middle" font-size="9"'));
    });
    parts.push(text(gx + gw / 2, ymap(0) + 14, g.label, ' text-anchor="middle" font-size="11"'));
  });
}

/** One RTT box from p99 (top) to p50 (bottom line), labelled; dashed for the idle regime. */
function rttBox(parts: string[], cx: number, bw: number, ymap: (v: number) => number, color: string, label: string, p50: number, p99: number, dashed: boolean): void {
  const dash = dashed ? ' stroke-dasharray="3 2"' : '';
  parts.push(`<rect x="${(cx - bw / 2).toFixed(1)}" y="${ymap(p99).toFixed(1)}" width="${bw.toFixed(1)}" height="${Math.max(1, ymap(p50) - ymap(p99)).toFixed(1)}" fill="${color}" fill-opacity="${dashed ? 0.15 : 0.35}" stroke="${color}"${dash}><title>${esc(`${label}: p50 ${num(p50)} µs, p99 ${num(p99)} µs`)}</title></rect>`);
  parts.push(`<line x1="${(cx - bw / 2).toFixed(1)}" y1="${ymap(p50).toFixed(1)}" x2="${(cx + bw / 2).toFixed(1)}" y2="${ymap(p50).toFixed(1)}" stroke="${color}" stroke-width="3"/>`);
  parts.push(text(cx, ymap(p99) - 4, num(p99), ' text-anchor="middle" font-size="8"'));
  parts.push(text(cx, ymap(p50) + 10, num(p50), ' text-anchor="middle" font-size="8"'));
}

/**
 * RTT panel: per config a box from the median p50 to the median p99 for pings 2 ms apart,
 * and beside it (dashed) the same for idle pings 200 ms apart when the run measured them.
 */
function rttPanel(parts: string[], x: number, y: number, configs: DataplaneConfig[], get: (c: DataplaneConfig, id: string) => Summary | undefined): void {
  const ids = ['rtt_p50_us', 'rtt_p99_us', 'rttidle_p50_us', 'rttidle_p99_us'];
  const [lo, hi] = decades(configs.flatMap((c) => ids.map((id) => get(c, id)?.median ?? 0)));
  const idle = configs.some((c) => typeof get(c, 'rttidle_p50_us')?.median === 'number');
  const ymap = logAxes(parts, x, y, idle ? 'RTT p50–p99: 2 ms apart | idle (dashed)' : 'RTT p50–p99 box (log scale)', 'µs', lo, hi);
  const left = x + 50;
  const cw = (PANEL_W - 60) / Math.max(1, configs.length);
  configs.forEach((c, i) => {
    const cx = left + i * cw + cw / 2;
    const p50 = get(c, 'rtt_p50_us')?.median;
    const p99 = get(c, 'rtt_p99_us')?.median;
    const i50 = get(c, 'rttidle_p50_us')?.median;
    const i99 = get(c, 'rttidle_p99_us')?.median;
    const bw = idle ? Math.min(28, cw / 2 - 6) : Math.min(44, cw - 16);
    const at = idle ? cx - cw / 4 : cx;
    if (typeof p50 === 'number' && typeof p99 === 'number') {
      rttBox(parts, at, bw, ymap, COLORS[c], c, p50, p99, false);
    } else {
      parts.push(text(at, ymap(0) - 4, 'n/a', ' text-anchor="middle" font-size="9" fill="#999"'));
    }
    if (idle && typeof i50 === 'number' && typeof i99 === 'number') {
      rttBox(parts, cx + cw / 4, bw, ymap, COLORS[c], `${c} idle (200 ms apart)`, i50, i99, true);
    }
    parts.push(text(cx, ymap(0) + 14, c, ' text-anchor="middle" font-size="11"'));
  });
}

/** The whole chart for `result`. */
export function renderSvg(result: BenchResult): string {
  const { plan } = result;
  const configs = plan.configs;
  const modes: OffloadMode[] = plan.modes;
  const H = TOP + modes.length * ROW_H + 10;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    text(12, 22, `vxtun namespace bench ${result.startedAt.slice(0, 10)}${plan.quick ? ' (quick)' : ''}: ${plan.reps} rep(s), bars = median, whiskers = min–max`, ' font-size="15" font-weight="bold"'),
  ];
  configs.forEach((c, i) => {
    const lx = 12 + i * 110;
    parts.push(`<rect x="${lx}" y="32" width="12" height="12" fill="${COLORS[c]}"/>`, text(lx + 17, 42, c));
  });
  modes.forEach((mode, r) => {
    const y = TOP + r * ROW_H;
    const get = (c: DataplaneConfig, id: string): Summary | undefined => result.summary[mode]?.[c]?.[id];
    parts.push(text(12, y + ROW_H - 22, mode === 'txoff' ? 'ul0 tx off (≤1514 B frames)' : 'veth default offloads', ' font-size="11" fill="#555" font-style="italic"'));
    barPanel(parts, 0 * (PANEL_W + GAP) + 8, y, `TCP throughput, ${mode}`, 'Gbit/s', [
      { label: '1 stream', bars: configs.map((c) => ({ config: c, s: get(c, 'tcp1_gbps') })) },
      { label: '4 streams', bars: configs.map((c) => ({ config: c, s: get(c, 'tcp4_gbps') })) },
    ]);
    barPanel(parts, 1 * (PANEL_W + GAP) + 8, y, `${plan.udpPayload}-byte UDP delivered, ${mode}`, 'kpps', [
      { label: 'at kernel load', bars: configs.map((c) => ({ config: c, s: get(c, 'udp_atref_kpps') })) },
      { label: 'unthrottled', bars: configs.map((c) => ({ config: c, s: get(c, 'udp_unthrottled_kpps') })) },
    ]);
    rttPanel(parts, 2 * (PANEL_W + GAP) + 8, y, configs, get);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
