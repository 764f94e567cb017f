#!/usr/bin/env node
// The `stash` command: the bundle built by `npm run build` (npm install runs it).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/cli.mjs', import.meta.url));
if (!existsSync(bundle)) {
  process.stderr.write('stash: not built yet; run `npm run build` (or `npm install`) first\n');
  process.exit(2);
}
await import(bundle);
