// Builds the bundles: dist/cli.cjs (the `stash` command, with its V8 code cache) and
// container/dist/runner.mjs (the Fargate task's runner). Lambda handlers are bundled by the
// CDK stack (NodejsFunction).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const common = { bundle: true, platform: 'node', target: 'node20', logLevel: 'warning', absWorkingDir: root, legalComments: 'none', minify: true };
// ESM bundles that contain CommonJS dependencies need a real `require`.
const banner = { js: "import { createRequire as __stashCreateRequire } from 'node:module'; const require = __stashCreateRequire(import.meta.url);" };

await rm(`${root}/dist`, { recursive: true, force: true });
await Promise.all([
  // CommonJS, so that bin/stash.mjs can give V8 a code cache. The AWS SDK stays in
  // node_modules: only the commands that reach AWS load it.
  build({ ...common, format: 'cjs', entryPoints: ['cli/bin.ts'], outfile: 'dist/cli.cjs', external: ['@aws-sdk/*'] }),
  build({ ...common, format: 'esm', banner, entryPoints: ['container/main.ts'], outfile: 'container/dist/runner.mjs' }),
]);

// The code cache: what V8 compiled while `stash validate` checked a spec (the bundle's top
// level, commander, YAML, the schemas, the schedules), written by bin/stash.mjs as it exits.
const work = await mkdtemp(join(tmpdir(), 'stash-build-'));
try {
  const spec = join(work, 'cache-warm-up.yaml');
  await writeFile(
    spec,
    [
      'apiVersion: stash.appscode.com/v1alpha1',
      'kind: Restic',
      'metadata: {name: cache-warm-up}',
      'spec:',
      '  fileGroups: [{path: /source/data, retentionPolicy: {keepLast: 7, prune: true}}]',
      '  backend: {local: {path: /repo, volumeSource: {hostPath: {path: /srv/backup}}}, storageSecretName: local-secret}',
      "  schedule: '*/5 * * * *'",
      '',
    ].join('\n'),
  );
  execFileSync(process.execPath, [join(root, 'bin/stash.mjs'), 'validate', spec], { env: { ...process.env, STASH_WRITE_CODE_CACHE: '1' }, stdio: 'ignore' });
} finally {
  await rm(work, { recursive: true, force: true });
}
