// SPDX-License-Identifier: Apache-2.0
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { NativeBinding } from './binding.js';

const require = createRequire(import.meta.url);

let cached: NativeBinding | undefined;

/** Finds the package root (the folder holding binding.gyp) from this file, in src/ or dist/src/. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'binding.gyp'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the package root (binding.gyp)');
}

/**
 * loadNative returns the addon, loading build/Release/vxtun.node once. A test may pass
 * its own object to stand in for the addon.
 */
export function loadNative(override?: NativeBinding): NativeBinding {
  if (override) return override;
  if (cached) return cached;
  const root = packageRoot();
  const candidates = ['build/Release/vxtun.node', 'build/Debug/vxtun.node'].map((p) => path.join(root, p));
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(`native addon not built (looked for ${candidates.join(', ')}); run \`npm install\` or \`npm rebuild\``);
  }
  cached = require(found) as NativeBinding;
  return cached;
}
