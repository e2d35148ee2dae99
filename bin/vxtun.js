#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/src/cli/main.js (compiled by `npm install`).
import('../dist/src/cli/main.js').then((m) => m.main(process.argv)).catch((err) => {
  process.stderr.write(`vxtun: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
