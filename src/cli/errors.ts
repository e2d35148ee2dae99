// SPDX-License-Identifier: Apache-2.0
/**
 * How failures leave the process: a UsageError or a configuration/startup problem the
 * user can fix exits 2 with one clear sentence; anything else exits 1 with its message.
 */

/** A problem the operator can fix (bad flag, bad file, missing privilege, port taken). Exit code 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** The exit code for an error: its own exitCode when it carries one (ConfigError, UsageError), else 1. */
export function exitCodeOf(err: unknown): number {
  const code = (err as { exitCode?: unknown } | null)?.exitCode;
  if (typeof code === 'number') return code;
  if ((err as { name?: string } | null)?.name === 'ConfigError') return 2;
  return 1;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
