// SPDX-License-Identifier: Apache-2.0
/** `vxtun status`: not built yet (see the README's status of work). */
import type { Command } from 'commander';
import { UsageError } from './errors.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new UsageError('`vxtun status` is not implemented yet');
    });
}
