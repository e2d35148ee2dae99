// SPDX-License-Identifier: Apache-2.0
/**
 * Structured logs (pino), one JSON line per event, on stderr so stdout stays free for
 * command output. Never one line per packet: the hot path only counts.
 */
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A logger writing synchronously to fd 2 (so nothing is lost when the process exits). */
export function createLogger(level: LogLevel = 'info', name = 'vxtun'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
}

/** A logger that drops everything (tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
