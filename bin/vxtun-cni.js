#!/usr/bin/env node
// The CNI meta plugin (flannel-compatible); install it as /opt/cni/bin/flannel to replace flannel's.
import('../dist/src/cni/main.js').then((m) => m.main()).catch((err) => {
  process.stderr.write(`vxtun-cni: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
