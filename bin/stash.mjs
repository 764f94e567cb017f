#!/usr/bin/env node
// The `stash` command: the CommonJS bundle built by `npm run build` (npm install runs it),
// compiled with the V8 code cache the build left next to it. A run with the cache skips most
// of compiling the bundle and the functions a command calls (~35 ms of a ~110 ms start);
// without it (another Node, a cache V8 rejects) the bundle runs exactly the same, compiled
// from source. Node 20 has no code cache for ES modules (Node 22's module.enableCompileCache),
// hence CommonJS, and this small loader in place of `require`.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, Script } from 'node:vm';

const bundle = fileURLToPath(new URL('../dist/cli.cjs', import.meta.url));
const cacheFile = `${bundle}.cache`;
if (!existsSync(bundle)) {
  process.stderr.write('stash: not built yet; run `npm run build` (or `npm install`) first\n');
  process.exit(2);
}
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // No cache: compiled from source.
}
// Node's own CommonJS wrapper, on the bundle's first line so that line numbers stay as they are.
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, 'utf8')}\n})`, {
  filename: bundle,
  cachedData,
  importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
});
// The build runs one command with this set, and keeps what V8 compiled for it.
const writeCache = process.env.STASH_WRITE_CODE_CACHE === '1';
if (writeCache) process.on('exit', () => writeFileSync(cacheFile, script.createCachedData()));
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
