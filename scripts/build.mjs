// Builds the bundles: dist/cli.mjs (the `stash` command) and container/dist/runner.mjs (the
// Fargate task's runner). Lambda handlers are bundled by the CDK stack (NodejsFunction).
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// ESM bundles that contain CommonJS dependencies need a real `require`.
const banner = { js: "import { createRequire as __stashCreateRequire } from 'node:module'; const require = __stashCreateRequire(import.meta.url);" };
const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', banner, logLevel: 'warning', absWorkingDir: root, legalComments: 'none' };

await rm(`${root}/dist`, { recursive: true, force: true });
await Promise.all([
  // Split so that AWS SDK code is loaded only by the commands that reach AWS.
  build({ ...common, entryPoints: { cli: 'cli/bin.ts' }, outdir: 'dist', outExtension: { '.js': '.mjs' }, splitting: true, chunkNames: 'chunks/[name]-[hash]', minify: true }),
  build({ ...common, entryPoints: ['container/main.ts'], outfile: 'container/dist/runner.mjs', minify: true }),
]);
