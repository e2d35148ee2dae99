// SPDX-License-Identifier: Apache-2.0
/**
 * Registers vxtun's subcommands, one module each. Every action imports its implementation
 * lazily, so `vxtun --help` never loads the addon or the etcd/Kubernetes clients.
 */
import type { Command } from 'commander';
import { registerRun } from './run-command.js';
import { registerDown } from './down-command.js';
import { registerStatus } from './status-command.js';
import { registerCapture } from './capture-command.js';
import { registerDemo } from './demo-command.js';
import { registerBench } from './bench-command.js';

export function registerCommands(program: Command): void {
  registerRun(program);
  registerDown(program);
  registerStatus(program);
  registerCapture(program);
  registerDemo(program);
  registerBench(program);
}
