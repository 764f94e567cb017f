// Builds the bundles: dist/cli.mjs (the `stash` command; bin/stash.mjs loads it) and
// container/dist/runner.mjs (the Fargate task's runner). Lambda handlers are bundled by the
// CDK stack (NodejsFunction).
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const common = { bundle: true, platform: 'node', target: 'node22', format: 'esm', logLevel: 'warning', absWorkingDir: root, legalComments: 'none', minify: true };
// ESM bundles that contain CommonJS dependencies need a real `require`.
const banner = { js: "import { createRequire as __stashCreateRequire } from 'node:module'; const require = __stashCreateRequire(import.meta.url);" };

await rm(`${root}/dist`, { recursive: true, force: true });
await Promise.all([
  // Split, so that the commands that reach AWS (a dynamic import of cli/remote.ts) are a chunk
  // of their own: the AWS SDK stays in node_modules and only those commands load it.
  build({
    ...common,
    banner,
    entryPoints: { cli: 'cli/bin.ts' },
    outdir: 'dist',
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: 'cli-[name]-[hash]',
    external: ['@aws-sdk/*'],
  }),
  build({ ...common, banner, entryPoints: ['container/main.ts'], outfile: 'container/dist/runner.mjs' }),
]);
