import { describe, expect, it } from 'vitest';
import { RatePacer, backoffMs } from '../../aws/pacing';
import { NO_EFS, taskVolumes, type EfsFileSystems } from '../../aws/task-volumes';
import { ResticSchema, unsupportedVolumeSource, type ResticSpec } from '../../schemas/restic';

const spec = (over: Partial<ResticSpec>) =>
  ResticSchema.parse({
    apiVersion: 'stash.appscode.com/v1alpha1',
    kind: 'Restic',
    metadata: { name: 'db' },
    spec: {
      fileGroups: [{ path: '/source/data' }],
      backend: { s3: { endpoint: 's3.amazonaws.com', bucket: 'stash-qa' }, storageSecretName: 's3-secret' },
      schedule: '@every 1h',
      ...over,
    },
  });

/** One file system per role, as the stack's settings name them. */
const EFS: EfsFileSystems = { sources: ['fs-0123abcd'], repositories: ['fs-0456abcd'], restoreTargets: ['fs-0789abcd'] };

describe('taskVolumes', () => {
  const efsSpec = spec({
    volumes: [
      { name: 'data', efs: { fileSystemId: 'fs-0123abcd', rootDirectory: '/exports' } },
      { name: 'scratch', emptyDir: {} },
      { name: 'ap', efs: { fileSystemId: 'fs-0123abcd', accessPointId: 'fsap-0123456789abcdef0' } },
    ],
    volumeMounts: [
      { name: 'data', mountPath: '/source/data', subPath: 'db' },
      { name: 'scratch', mountPath: '/scratch', readOnly: false },
      { name: 'ap', mountPath: '/source/ap' },
    ],
    backend: { local: { path: '/repo', volumeSource: { efs: { fileSystemId: 'fs-0456abcd', rootDirectory: '/' } } }, storageSecretName: 'local-secret' },
  });

  it('mounts sources read-only, the repository writable, and a subPath as the EFS root', () => {
    expect(taskVolumes({ spec: efsSpec, kind: 'backup' }, EFS)).toEqual({
      volumes: [
        { name: 'ap', efsVolumeConfiguration: { fileSystemId: 'fs-0123abcd', transitEncryption: 'ENABLED', authorizationConfig: { iam: 'ENABLED', accessPointId: 'fsap-0123456789abcdef0' } } },
        { name: 'data-7bdc25d1', efsVolumeConfiguration: { fileSystemId: 'fs-0123abcd', rootDirectory: '/exports/db', transitEncryption: 'ENABLED', authorizationConfig: { iam: 'ENABLED' } } },
        { name: 'scratch' },
        { name: 'stash-repository', efsVolumeConfiguration: { fileSystemId: 'fs-0456abcd', transitEncryption: 'ENABLED', authorizationConfig: { iam: 'ENABLED' } } },
      ],
      mountPoints: [
        { sourceVolume: 'stash-repository', containerPath: '/repo', readOnly: false },
        { sourceVolume: 'scratch', containerPath: '/scratch', readOnly: false },
        { sourceVolume: 'ap', containerPath: '/source/ap', readOnly: true },
        { sourceVolume: 'data-7bdc25d1', containerPath: '/source/data', readOnly: true },
      ],
    });
  });

  it('gives a check only the repository and a restore its recovered volumes', () => {
    expect(taskVolumes({ spec: efsSpec, kind: 'check' }, EFS).mountPoints).toEqual([{ sourceVolume: 'stash-repository', containerPath: '/repo', readOnly: false }]);
    const restore = taskVolumes({ spec: efsSpec, kind: 'restore', recoveredVolumes: [{ mountPath: '/source/data', efs: { fileSystemId: 'fs-0789abcd', rootDirectory: '/restored' } }] }, EFS);
    expect(restore.mountPoints).toEqual([
      { sourceVolume: 'stash-repository', containerPath: '/repo', readOnly: false },
      { sourceVolume: 'recovered-0', containerPath: '/source/data', readOnly: false },
    ]);
    expect(taskVolumes({ spec: spec({}), kind: 'backup' }, NO_EFS)).toEqual({ volumes: [], mountPoints: [] });
  });

  it("mounts a repository written in any Stash release's shape, subPath as the EFS root", () => {
    const efs = { fileSystemId: 'fs-0456abcd', rootDirectory: '/stash' };
    const volume = { name: 'stash-repository-2a97516c', efsVolumeConfiguration: { fileSystemId: 'fs-0456abcd', rootDirectory: '/stash/demo', transitEncryption: 'ENABLED', authorizationConfig: { iam: 'ENABLED' } } };
    for (const local of [{ mountPath: '/safe/data', subPath: 'demo', efs }, { mountPath: '/safe/data', subPath: 'demo', VolumeSource: { efs } }]) {
      expect(taskVolumes({ spec: spec({ backend: { local, storageSecretName: 'local-secret' } }), kind: 'check' }, EFS)).toEqual({
        volumes: [volume],
        mountPoints: [{ sourceVolume: volume.name, containerPath: '/safe/data', readOnly: false }],
      });
    }
  });

  it('refuses a Kubernetes volume source, naming it and what to write instead', () => {
    const nfs = spec({ backend: { local: { mountPath: '/safe/data', nfs: { server: 'nas', path: '/' } }, storageSecretName: 'local-secret' } });
    expect(() => taskVolumes({ spec: nfs, kind: 'backup' }, NO_EFS)).toThrow(`spec.backend.local.nfs: ${unsupportedVolumeSource('nfs')}`);
    const pvc = [{ mountPath: '/source/data', persistentVolumeClaim: { claimName: 'restored' } }];
    expect(() => taskVolumes({ spec: efsSpec, kind: 'restore', recoveredVolumes: pvc }, EFS)).toThrow(
      `spec.recoveredVolumes[0].persistentVolumeClaim: ${unsupportedVolumeSource('persistentVolumeClaim')}`,
    );
  });

  it('refuses a subPath on an access point', () => {
    const s = spec({ volumes: [{ name: 'ap', efs: { fileSystemId: 'fs-0123abcd', accessPointId: 'fsap-0123456789abcdef0' } }], volumeMounts: [{ name: 'ap', mountPath: '/source/data', subPath: 'x' }] });
    expect(() => taskVolumes({ spec: s, kind: 'backup' }, EFS)).toThrow("spec.volumeMounts[0].subPath: cannot be combined with an EFS access point; set the access point's root instead");
  });

  const source = { fileSystemId: 'fs-0123abcd' };
  const local = (efs: { fileSystemId: string }) => spec({ backend: { local: { mountPath: '/repo', efs }, storageSecretName: 'local-secret' } });
  it.each([
    [
      'a local repository on a source',
      { spec: local(source), kind: 'backup' as const },
      'spec.backend.local: EFS file system fs-0123abcd is a backup source (efsSources), which the stack never mounts writable; use a file system listed in efsRepositories',
    ],
    [
      'a Recovery into a source',
      { spec: spec({}), kind: 'restore' as const, recoveredVolumes: [{ mountPath: '/source/data', efs: source }] },
      'spec.recoveredVolumes[0]: EFS file system fs-0123abcd is a backup source (efsSources), which the stack never mounts writable; use a file system listed in efsRestoreTargets',
    ],
    [
      'a source mounted with readOnly: false',
      { spec: spec({ volumes: [{ name: 'data', efs: source }], volumeMounts: [{ name: 'data', mountPath: '/source/data', readOnly: false }] }), kind: 'backup' as const },
      'spec.volumeMounts[0]: EFS file system fs-0123abcd is a backup source (efsSources), which the stack never mounts writable; remove readOnly: false',
    ],
    [
      'a local repository on a restore target',
      { spec: local({ fileSystemId: 'fs-0789abcd' }), kind: 'check' as const },
      "spec.backend.local: EFS file system fs-0789abcd is not one of the stack's repository file systems (efsRepositories: fs-0456abcd); add it to efsRepositories",
    ],
    [
      'a Recovery into a repository file system',
      { spec: spec({}), kind: 'restore' as const, recoveredVolumes: [{ mountPath: '/source/data', efs: { fileSystemId: 'fs-0456abcd' } }] },
      "spec.recoveredVolumes[0]: EFS file system fs-0456abcd is not one of the stack's restore targets (efsRestoreTargets: fs-0789abcd); add it to efsRestoreTargets",
    ],
    [
      'a mount of a file system the stack does not have',
      { spec: spec({ volumes: [{ name: 'data', efs: { fileSystemId: 'fs-0badbadbad' } }], volumeMounts: [{ name: 'data', mountPath: '/source/data' }] }), kind: 'backup' as const },
      "spec.volumeMounts[0]: EFS file system fs-0badbadbad is not one of the stack's file systems (efsSources: fs-0123abcd); add it to efsSources",
    ],
  ])('refuses %s', (_what, request, message) => {
    expect(() => taskVolumes(request, EFS)).toThrow(message);
  });
});

describe('pacing', () => {
  it('grows the backoff exponentially up to its cap, with jitter in the upper half', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => backoffMs(a, () => 0))).toEqual([100, 200, 400, 800, 1600, 2500, 2500]);
    expect([0, 1, 6].map((a) => backoffMs(a, () => 1))).toEqual([200, 400, 5000]);
  });

  it('hands out turns in order within the limit', async () => {
    let t = 0;
    const waits: number[] = [];
    const pacer = new RatePacer(2, 1000, { now: () => t, sleep: async (ms) => void (waits.push(ms), (t += ms)) });
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3, 4].map((i) => pacer.take().then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(waits).toEqual([1000, 1000]);
    expect(t).toBe(2000);
  });
});
