import { describe, expect, it } from 'vitest';
import { repositoryKey } from '../../core/repository';
import { ResticSchema, type Backend } from '../../schemas/restic';

const spec = (backend: object) =>
  ResticSchema.parse({
    apiVersion: 'stash.appscode.com/v1alpha1',
    kind: 'Restic',
    metadata: { name: 'db' },
    spec: { fileGroups: [{ path: '/source/data' }], backend: { ...backend, storageSecretName: 'local-secret' } as Backend, schedule: '@daily' },
  });

describe('repositoryKey', () => {
  const efs = { fileSystemId: 'fs-0123abcd', rootDirectory: '/stash' };
  it.each([
    ['Stash 0.5: path, volumeSource', { local: { path: '/repo', volumeSource: { efs } } }, 'local:efs:fs-0123abcd:/stash'],
    ['Stash 0.6.0: mountPath, subPath, VolumeSource', { local: { mountPath: '/safe/data', subPath: 'demo', VolumeSource: { efs } } }, 'local:efs:fs-0123abcd:/stash/demo'],
    ['Stash 0.6.3: mountPath, subPath, the source inline', { local: { mountPath: '/safe/data', subPath: 'demo', efs } }, 'local:efs:fs-0123abcd:/stash/demo'],
    ['a Kubernetes source, by its mount path', { local: { mountPath: '/safe/data/', nfs: { server: 'nas', path: '/' } } }, 'local:/safe/data'],
  ])('names a local repository on AWS written in %s', (_shape, backend, key) => {
    expect(repositoryKey(spec(backend), { kind: 'aws' })).toBe(key);
  });

  it('names a local repository on this machine by its folder, subPath included', () => {
    expect(repositoryKey(spec({ local: { mountPath: '/safe/data', subPath: 'demo', hostPath: { path: '/srv/stash' } } }), { kind: 'local', stateDir: '/var/lib/stash' })).toBe('local:/srv/stash/demo');
  });
});
