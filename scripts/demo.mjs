// `npm run demo`: the whole local flow with no AWS account. Creates sample data, a secret and
// a local restic repository under ./demo, backs up through the scheduler, applies retention,
// lists snapshots, restores and compares byte for byte, checks the repository, shows status.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const demo = join(root, 'demo');
const stashBin = join(root, 'bin', 'stash.mjs');

if (spawnSync('restic', ['version'], { stdio: 'ignore' }).status !== 0) {
  console.error('The demo needs restic: apt-get install -y restic (or bash .ci/install.sh)');
  process.exit(2);
}

rmSync(demo, { recursive: true, force: true });
for (const d of ['specs', 'secrets/demo-secret', 'data/docs', 'repo']) mkdirSync(join(demo, d), { recursive: true });

// Sample data: a few files, one with a space and one non-ASCII name.
writeFileSync(join(demo, 'data/docs/notes.txt'), 'Backups are only real once restored.\n');
writeFileSync(join(demo, 'data/docs/Ünïcode name.md'), '# restic encrypts on the client\n');
writeFileSync(join(demo, 'data/photo.bin'), randomBytes(512 * 1024));

// The secret, as `kubectl create secret --from-file` would take it: one file per key.
writeFileSync(join(demo, 'secrets/demo-secret/RESTIC_PASSWORD'), randomBytes(24).toString('base64url'), { mode: 0o600 });

// A Stash Restic spec, as written for Kubernetes, plus where its volumes are on this machine.
writeFileSync(
  join(demo, 'specs/demo.yaml'),
  `apiVersion: stash.appscode.com/v1alpha1
kind: Restic
metadata:
  name: demo
  namespace: default
spec:
  fileGroups:
  - path: /source/data
    tags: [demo]
    retentionPolicy:
      keepLast: 2
      prune: true
  backend:
    local:
      path: /repo
      volumeSource:
        hostPath:
          path: ${join(demo, 'repo')}
    storageSecretName: demo-secret
  schedule: '@every 1m'
  volumeMounts:
  - mountPath: /source/data
    name: source-data
  volumes:
  - name: source-data
    hostPath:
      path: ${join(demo, 'data')}
`,
);

const common = ['--specs', join(demo, 'specs'), '--secrets', join(demo, 'secrets'), '--state', join(demo, 'state')];
function stash(title, args, { common: withStores = true } = {}) {
  console.log(`\n== ${title}\n$ stash ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [stashBin, ...args, ...(withStores ? common : [])], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) {
    console.error(`\ndemo: "stash ${args[0]}" exited with ${r.status}`);
    process.exit(1);
  }
}

stash('validate the spec', ['validate', join(demo, 'specs')], { common: false });
stash('one scheduler tick: the @every 1m schedule is due', ['run', '--once']);
writeFileSync(join(demo, 'data/docs/notes.txt'), 'Backups are only real once restored. Edited.\n');
stash('back up again after a change', ['backup', 'demo']);
writeFileSync(join(demo, 'data/docs/new.txt'), 'added after the second backup\n');
stash('and once more: keepLast 2 with prune forgets the oldest', ['backup', 'demo']);
stash('snapshots', ['snapshots', 'demo']);
stash('restore the latest snapshot', ['restore', 'demo', '--target', join(demo, 'restored')]);

console.log(`\n== compare the restored tree with the source\n$ diff -r demo/data demo/restored/source/data`);
const diff = spawnSync('diff', ['-r', join(demo, 'data'), join(demo, 'restored/source/data')], { stdio: 'inherit' });
if (diff.status !== 0) {
  console.error('demo: the restored tree differs from the source');
  process.exit(1);
}
console.log('identical');

stash('check the repository (restic check, reading all data)', ['check', 'demo', '--read-data-subset', '100%']);
stash('status', ['status']);
stash('every run so far', ['history', 'demo']);
console.log(`\nEverything is under ${demo}: specs/, secrets/, repo/ (the restic repository), state/ (status and logs).`);
