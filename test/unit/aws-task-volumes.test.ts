import { describe, expect, it } from 'vitest';
import { RatePacer, backoffMs } from '../../aws/pacing';
import { taskVolumes } from '../../aws/task-volumes';
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
    backend: { local: { path: '/repo', volumeSource: { efs: { fileSystemId: 'fs-0123abcd', rootDirectory: '/' } } }, storageSecretName: 'local-secret' },
  });

  it('mounts sources read-only, the repository writable, and a subPath as the EFS root', () => {
    expect(taskVolumes({ spec: efsSpec, kind: 'backup' }, ['fs-0123abcd'])).toEqual({
      volumes: [
        { name: 'ap', efsVolumeConfiguration: { fileSystemId: 'fs-0123abcd', transitEncryption: 'ENABLED', authorizationConfig: { iam: 'ENABLED', accessPointId: 'fsap-0123456789abcdef0' } } },
        { name: 'data-7bdc25d1', efsVolumeConfiguration: { fileSystemId: 'fs-0123abcd', rootDirectory: '/exports/db', transitEncryption: 'ENABLED', authorizationConfig: { iam: 'ENABLED' } } },
        { name: 'scratch' },
        { name: 'stash-repository', efsVolumeConfiguration: { fileSystemId: 'fs-0123abcd', transitEncryption: 'ENABLED', authorizationConfig: { iam: 'ENABLED' } } },
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
    expect(taskVolumes({ spec: efsSpec, kind: 'check' }, ['fs-0123abcd']).mountPoints).toEqual([{ sourceVolume: 'stash-repository', containerPath: '/repo', readOnly: false }]);
    const restore = taskVolumes({ spec: efsSpec, kind: 'restore', recoveredVolumes: [{ mountPath: '/source/data', efs: { fileSystemId: 'fs-0123abcd', rootDirectory: '/restored' } }] }, ['fs-0123abcd']);
    expect(restore.mountPoints).toEqual([
      { sourceVolume: 'stash-repository', containerPath: '/repo', readOnly: false },
      { sourceVolume: 'recovered-0', containerPath: '/source/data', readOnly: false },
    ]);
    expect(taskVolumes({ spec: spec({}), kind: 'backup' }, [])).toEqual({ volumes: [], mountPoints: [] });
  });

  it("mounts a repository written in any Stash release's shape, subPath as the EFS root", () => {
    const efs = { fileSystemId: 'fs-0123abcd', rootDirectory: '/stash' };
    const volume = { name: 'stash-repository-2a97516c', efsVolumeConfiguration: { fileSystemId: 'fs-0123abcd', rootDirectory: '/stash/demo', transitEncryption: 'ENABLED', authorizationConfig: { iam: 'ENABLED' } } };
    for (const local of [{ mountPath: '/safe/data', subPath: 'demo', efs }, { mountPath: '/safe/data', subPath: 'demo', VolumeSource: { efs } }]) {
      expect(taskVolumes({ spec: spec({ backend: { local, storageSecretName: 'local-secret' } }), kind: 'check' }, ['fs-0123abcd'])).toEqual({
        volumes: [volume],
        mountPoints: [{ sourceVolume: volume.name, containerPath: '/safe/data', readOnly: false }],
      });
    }
  });

  it('refuses a Kubernetes volume source, naming it and what to write instead', () => {
    const nfs = spec({ backend: { local: { mountPath: '/safe/data', nfs: { server: 'nas', path: '/' } }, storageSecretName: 'local-secret' } });
    expect(() => taskVolumes({ spec: nfs, kind: 'backup' }, [])).toThrow(`spec.backend.local.nfs: ${unsupportedVolumeSource('nfs')}`);
    const pvc = [{ mountPath: '/source/data', persistentVolumeClaim: { claimName: 'restored' } }];
    expect(() => taskVolumes({ spec: efsSpec, kind: 'restore', recoveredVolumes: pvc }, ['fs-0123abcd'])).toThrow(
      `spec.recoveredVolumes[0].persistentVolumeClaim: ${unsupportedVolumeSource('persistentVolumeClaim')}`,
    );
  });

  it('refuses a subPath on an access point', () => {
    const s = spec({ volumes: [{ name: 'ap', efs: { fileSystemId: 'fs-0123abcd', accessPointId: 'fsap-0123456789abcdef0' } }], volumeMounts: [{ name: 'ap', mountPath: '/source/data', subPath: 'x' }] });
    expect(() => taskVolumes({ spec: s, kind: 'backup' }, ['fs-0123abcd'])).toThrow("spec.volumeMounts[0].subPath: cannot be combined with an EFS access point; set the access point's root instead");
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
