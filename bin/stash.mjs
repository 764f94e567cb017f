#!/usr/bin/env node
// The `stash` command: the ES module bundle that `npm run build` writes (npm install runs it),
// with Node's compile cache on, so that a start after the first reuses what V8 compiled.
import module from 'node:module';

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(`stash: Node.js 22 or newer is needed; this is Node.js ${process.versions.node}\n`);
  process.exit(2);
}
module.enableCompileCache();
const bundle = new URL('../dist/cli.mjs', import.meta.url);
try {
  await import(bundle.href);
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || err?.url !== bundle.href) throw err;
  process.stderr.write('stash: not built yet; run `npm run build` (or `npm install`) first\n');
  process.exit(2);
}
