import { describe, expect, it } from 'vitest';
import { resolvePath } from '../../core/volumes';
import { ResticSchema } from '../../schemas/restic';

const spec = ResticSchema.parse({
  apiVersion: 'stash.appscode.com/v1alpha1',
  kind: 'Restic',
  metadata: { name: 'paths' },
  spec: {
    fileGroups: [{ path: '/source/data/' }],
    backend: { local: { path: '/repo', volumeSource: { hostPath: { path: '/srv/repo' } } }, storageSecretName: 's' },
    schedule: '@hourly',
    volumeMounts: [{ mountPath: '/source', name: 'source' }],
    volumes: [{ name: 'source', hostPath: { path: '/home/me/source/' } }],
  },
});

describe('resolvePath', () => {
  it.each([
    ['/source/data/', { kind: 'local', stateDir: '/state' }, '/home/me/source/data'],
    ['/source/./data/x/..', { kind: 'local', stateDir: '/state' }, '/home/me/source/data'],
    ['/elsewhere/data/', { kind: 'aws' }, '/elsewhere/data'],
    ['/elsewhere//files/', { kind: 'local', stateDir: '/state' }, '/elsewhere/files'],
    ['/', { kind: 'aws' }, '/'],
  ] as const)('gives %s as restic records it (%j): %s', (path, mode, expected) => {
    // restic stores a snapshot's path without a trailing slash; `forget --path` must name it exactly.
    expect(resolvePath(spec, path, mode)).toBe(expected);
  });
});
