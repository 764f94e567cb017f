import { describe, expect, it } from 'vitest';
import type { LaunchRequest, LaunchResult, RunningTask } from '../../core/ports';
import type { LoadedSpec, SpecDocument } from '../../core/ports';
import { launchRecoveries, loadRecoveries, recordRestore, recoveryPaths, recoveryRunId } from '../../core/recovery';
import { type RecoveryStatusStore } from '../../core/ports';
import { recoverySnapshot, recoverySpecName, type RecoveryStatus } from '../../schemas/recovery';
import { ResticSchema } from '../../schemas/restic';

const doc = (source: string, text: string, version = 'v1'): SpecDocument => ({ source, version, text });

const V06 = `apiVersion: stash.appscode.com/v1alpha1
kind: Recovery
metadata:
  name: stash-demo
  namespace: default
spec:
  restic: stash-demo
  workload:
    kind: Deployment
    name: stash-demo
  recoveredVolumes:
  - mountPath: /source/data
    efs:
      fileSystemId: fs-0123abcd
      rootDirectory: /restored
`;

const V07 = `apiVersion: stash.appscode.com/v1alpha1
kind: Recovery
metadata:
  name: stash-demo-07
spec:
  repository:
    name: deployment.stash-demo
    namespace: default
  snapshot: deployment.stash-demo-d3050010
  paths:
  - /source/data
  recoveredVolumes:
  - mountPath: /source/data
    emptyDir: {}
`;

const spec: LoadedSpec = {
  source: 's3://stash-config/specs/stash-demo.yaml',
  version: 'v1',
  warnings: [],
  spec: ResticSchema.parse({
    apiVersion: 'stash.appscode.com/v1alpha1',
    kind: 'Restic',
    metadata: { name: 'stash-demo' },
    spec: {
      fileGroups: [{ path: '/source/data' }, { path: '/source/config' }],
      backend: { s3: { endpoint: 's3.amazonaws.com', bucket: 'stash-qa' }, storageSecretName: 's3-secret' },
      schedule: '@every 1h',
    },
  }),
};

/** The port over a Map, with the read-modify-write the S3 store does. */
class MemoryRecoveryStatuses implements RecoveryStatusStore {
  readonly map = new Map<string, RecoveryStatus>();
  async get(name: string) {
    return this.map.get(name);
  }
  async list() {
    return [...this.map.values()];
  }
  async update(name: string, change: (current: RecoveryStatus | undefined) => RecoveryStatus) {
    const next = change(this.map.get(name));
    this.map.set(name, next);
    return next;
  }
}

describe('loadRecoveries', () => {
  it("reads Stash 0.6 and 0.7 Recoveries and ignores other kinds", () => {
    const { recoveries, problems } = loadRecoveries([
      doc('s3://b/specs/r6.yaml', V06),
      doc('s3://b/specs/r7.yaml', V07),
      doc('s3://b/specs/spec.yaml', 'apiVersion: stash.appscode.com/v1alpha1\nkind: Restic\nmetadata: {name: x}\n'),
    ]);
    expect(problems).toEqual([]);
    expect(recoveries.map((r) => [r.source, recoverySpecName(r.recovery), recoverySnapshot(r.recovery)])).toEqual([
      ['s3://b/specs/r6.yaml', 'stash-demo', 'latest'],
      ['s3://b/specs/r7.yaml', 'stash-demo', 'd3050010'],
    ]);
  });

  it('reports what is wrong with the file and the dotted field path', () => {
    const broken = V06.replace('  restic: stash-demo\n', '').replace('rootDirectory: /restored', 'rootDirectory: restored').replace('  workload:', '  podName: x\n  workload:');
    expect(loadRecoveries([doc('s3://b/specs/r.yaml', broken)]).problems).toEqual([
      { source: 's3://b/specs/r.yaml', path: 'spec.recoveredVolumes[0].efs.rootDirectory', message: 'must be absolute', name: 'stash-demo' },
      { source: 's3://b/specs/r.yaml', path: 'spec.podName', message: 'unknown field', name: 'stash-demo' },
      { source: 's3://b/specs/r.yaml', path: 'spec.restic', message: 'exactly one of restic (the Restic spec name) or repository.name must be set', name: 'stash-demo' },
    ]);
  });
});

describe('recoveryPaths', () => {
  const [r6, r7] = loadRecoveries([doc('a', V06), doc('b', V07)]).recoveries;
  it('restores every fileGroup by default, or the paths given', () => {
    const wide = { ...r6.recovery, spec: { ...r6.recovery.spec, recoveredVolumes: [{ mountPath: '/source', emptyDir: {} }] } };
    expect(recoveryPaths(wide, [spec])).toEqual(['/source/data', '/source/config']);
    expect(recoveryPaths(r7.recovery, [spec])).toEqual(['/source/data']);
  });
  it('refuses paths that are not fileGroups, or that no volume takes', () => {
    expect(() => recoveryPaths(r6.recovery, [spec])).toThrow('spec.recoveredVolumes: no volume is mounted at or above /source/config');
    expect(() => recoveryPaths({ ...r7.recovery, spec: { ...r7.recovery.spec, paths: ['/etc'] } }, [spec])).toThrow('spec.paths: /etc is not a fileGroup of stash-demo (/source/data, /source/config)');
    expect(() => recoveryPaths(r7.recovery, [])).toThrow('no valid spec named "stash-demo" to restore from');
  });
});

describe('launchRecoveries', () => {
  const now = new Date('2026-01-01T12:00:00Z');

  it('launches each Recovery version once, waits for a running spec, and records the outcome', async () => {
    const store = new MemoryRecoveryStatuses();
    const requests: LaunchRequest[] = [];
    const launch = async (s: LoadedSpec, request: Omit<LaunchRequest, 'spec' | 'secretRef'>): Promise<LaunchResult> => {
      requests.push({ ...request, spec: s, secretRef: 'arn' });
      return { launched: true, taskArn: `task/${request.run}`, throttled: 0 };
    };
    const documents = [doc('s3://b/specs/r7.yaml', V07)];
    const busy = new Map<string, RunningTask>([['stash-demo', { spec: 'stash-demo', run: 'stash-demo-20260101T110000', taskArn: 't' }]]);

    const waiting = await launchRecoveries(store, { documents, specs: [spec], running: busy, now, launch });
    expect(waiting).toEqual([{ spec: 'stash-demo', kind: 'restore', run: recoveryRunId(loadRecoveries(documents).recoveries[0].recovery, 'v1'), result: 'skipped', reason: 'waiting for stash-demo-20260101T110000 of stash-demo to finish' }]);
    expect(store.map.get('stash-demo-07')).toMatchObject({ phase: 'Pending', errors: ['waiting for stash-demo-20260101T110000 of stash-demo to finish'] });

    const launched = await launchRecoveries(store, { documents, specs: [spec], running: new Map(), now, launch });
    expect(launched[0]).toMatchObject({ result: 'launched', run: expect.stringMatching(/^stash-demo-restore-[0-9a-f]{8}$/) });
    expect(requests.map((r) => [r.kind, r.recovery?.name, r.recovery?.volumes])).toEqual([['restore', 'stash-demo-07', [{ mountPath: '/source/data', emptyDir: {} }]]]);
    expect(store.map.get('stash-demo-07')).toMatchObject({ phase: 'Running', stats: [{ path: '/source/data', phase: 'Running' }], errors: [] });

    expect(await launchRecoveries(store, { documents, specs: [spec], running: new Map(), now, launch })).toEqual([]);
    const next = await launchRecoveries(store, { documents: [doc('s3://b/specs/r7.yaml', V07, 'v2')], specs: [spec], running: new Map(), now, launch });
    expect(next[0].result).toBe('launched');
    expect(new Set(requests.map((r) => r.run)).size).toBe(2);

    await recordRestore(store)(
      { spec: 'stash-demo', run: requests[1].run, kind: 'restore', recoveryName: 'stash-demo-07' },
      { spec: 'stash-demo', run: requests[1].run, kind: 'restore', outcome: 'failed', startedAt: '2026-01-01T12:00:10.000Z', finishedAt: '2026-01-01T12:00:40.000Z', durationMs: 30_000, fileGroups: [], error: 'out of memory' },
    );
    expect(store.map.get('stash-demo-07')).toMatchObject({ phase: 'Failed', stats: [{ path: '/source/data', phase: 'Failed', duration: '30s' }], errors: ['out of memory'] });
  });

  it('fails an invalid Recovery with its problems, once', async () => {
    const store = new MemoryRecoveryStatuses();
    const launch = async (): Promise<LaunchResult> => ({ launched: true, taskArn: 't', throttled: 0 });
    const documents = [doc('s3://b/specs/bad.yaml', V07.replace('  recoveredVolumes:\n  - mountPath: /source/data\n    emptyDir: {}\n', ''))];
    await launchRecoveries(store, { documents, specs: [spec], running: new Map(), now, launch });
    expect(store.map.get('stash-demo-07')).toMatchObject({ phase: 'Failed', errors: ['s3://b/specs/bad.yaml: spec.recoveredVolumes: Required'] });
  });
});
