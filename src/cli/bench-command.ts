// SPDX-License-Identifier: Apache-2.0
/** `vxtun bench`: not built yet (see the README's status of work). */
import type { Command } from 'commander';
import { UsageError } from './errors.js';

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('(not implemented yet)')
    .allowUnknownOption()
    .action(() => {
      throw new UsageError('`vxtun bench` is not implemented yet');
    });
}
