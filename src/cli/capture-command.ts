// SPDX-License-Identifier: Apache-2.0
/** `vxtun capture`: not built yet (see the README's status of work). */
import type { Command } from 'commander';
import { UsageError } from './errors.js';

export function registerCapture(program: Command): void {
  program
    .command('capture')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new UsageError('`vxtun capture` is not implemented yet');
    });
}
