// SPDX-License-Identifier: Apache-2.0
/** `vxtun demo`: not built yet (see the README's status of work). */
import type { Command } from 'commander';
import { UsageError } from './errors.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new UsageError('`vxtun demo` is not implemented yet');
    });
}
