import { describe, expect, it } from 'vitest';
import type { LaunchRequest, LaunchResult, RunningTask } from '../../core/ports';
import type { LoadedSpec, SpecDocument } from '../../core/ports';
import { launchRecoveries, loadRecoveries, recordRestore, recoveryPaths, recoveryRunId } from '../../core/recovery';
import { formatProblem } from '../../core/errors';
import { validateDocuments } from '../../core/validate';
import { stringify } from 'yaml';
import { type RecoveryStatusStore } from '../../core/ports';
import { recoverySnapshot, recoverySpecName, type RecoveryStatus } from '../../schemas/recovery';
import { ResticSchema, unsupportedVolumeSource } from '../../schemas/restic';

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
    const broken = V06.replace('  restic: stash-demo\n', '')
      .replace('rootDirectory: /restored', 'rootDirectory: restored')
      .replace('  workload:\n    kind: Deployment\n    name: stash-demo\n', '  podName: x\n');
    expect(loadRecoveries([doc('s3://b/specs/r.yaml', broken)]).problems).toEqual([
      { source: 's3://b/specs/r.yaml', path: 'spec.recoveredVolumes[0].efs.rootDirectory', message: 'must be absolute', name: 'stash-demo' },
      { source: 's3://b/specs/r.yaml', path: 'spec.podName', message: 'unknown field', name: 'stash-demo' },
      {
        source: 's3://b/specs/r.yaml',
        path: 'spec.restic',
        message: "Required: the Restic spec to restore from (or Stash 0.7's repository.name, or Stash 0.6's workload.name)",
        name: 'stash-demo',
      },
    ]);
  });
});

describe("every Recovery shape of Stash 0.6 to 0.8", () => {
  const recovery = (spec: Record<string, unknown>) =>
    stringify({ apiVersion: 'stash.appscode.com/v1alpha1', kind: 'Recovery', metadata: { name: 'demo-recovery', namespace: 'default' }, spec });
  const volumes = [{ mountPath: '/source/data', hostPath: { path: '/restored' } }];
  const load = (text: string) => {
    const r = loadRecoveries([doc('specs/r.yaml', text)]);
    return {
      specs: r.recoveries.map((l) => recoverySpecName(l.recovery)),
      problems: r.problems.map(formatProblem),
      warnings: r.warnings.map(formatProblem),
    };
  };
  const noPods = 'ignored: there are no pods or nodes here; the restore runs as a task on AWS';

  it.each<[string, Record<string, unknown>, string, string[]]>([
    ['names its Restic with restic', { restic: 'stash-demo', recoveredVolumes: volumes }, 'stash-demo', []],
    ['0.7: deployment.<name>', { repository: { name: 'deployment.stash-demo', namespace: 'default' }, recoveredVolumes: volumes }, 'stash-demo', []],
    ['0.7: replicaset.<name>', { repository: { name: 'replicaset.stash-demo' }, recoveredVolumes: volumes }, 'stash-demo', []],
    ['0.7: replicationcontroller.<name>', { repository: { name: 'replicationcontroller.neo4j-4' }, recoveredVolumes: volumes }, 'neo4j-4', []],
    ['0.7: daemonset.<name>.<node>', { repository: { name: 'daemonset.stash-demo.minikube' }, recoveredVolumes: volumes }, 'stash-demo', []],
    ['0.7: statefulset.<pod> (one repository per pod)', { repository: { name: 'statefulset.db-2-0' }, recoveredVolumes: volumes }, 'db-2', []],
    ['a repository named as a Restic', { repository: { name: 's3-restic' }, recoveredVolumes: volumes }, 's3-restic', []],
    [
      '0.6: workload, podOrdinal as a string, nodeName, backend',
      {
        workload: { kind: 'Statefulset', name: 'stash-demo' },
        podOrdinal: '0',
        nodeName: 'minikube',
        backend: { local: { mountPath: '/safe/data', hostPath: { path: '/data/stash-test/restic-repo' } }, storageSecretName: 'stash-demo' },
        paths: ['/source/data'],
        recoveredVolumes: [{ mountPath: '/source/data', VolumeSource: { hostPath: { path: '/restored' } } }],
      },
      'stash-demo',
      [
        'specs/r.yaml: spec.backend: read only to check that it is the repository of the Restic this Recovery restores from (stash-demo)',
        `specs/r.yaml: spec.podOrdinal: ${noPods}`,
        `specs/r.yaml: spec.nodeName: ${noPods}`,
      ],
    ],
    [
      '0.8: nodeSelector, imagePullSecrets, a persistentVolumeClaim',
      {
        repository: { name: 'deployment.stash-demo', namespace: 'default' },
        snapshot: 'deployment.stash-demo-e0e9c272',
        paths: ['/source/data'],
        recoveredVolumes: [{ mountPath: '/source/data', persistentVolumeClaim: { claimName: 'stash-recovered' } }],
        imagePullSecrets: [{ name: 'regcred' }],
        nodeSelector: { 'kubernetes.io/hostname': 'node-1' },
      },
      'stash-demo',
      [
        `specs/r.yaml: spec.nodeSelector: ${noPods}`,
        "specs/r.yaml: spec.imagePullSecrets: ignored: the runner's image is the stack's own",
        `specs/r.yaml: spec.recoveredVolumes[0].persistentVolumeClaim: ${unsupportedVolumeSource('persistentVolumeClaim')}; until then the restore fails`,
      ],
    ],
    [
      "0.7's MinIO guide: a recovered volume with a name",
      { repository: { name: 'deployment.stash-demo' }, recoveredVolumes: [{ ...volumes[0], name: 'stash-recovered-volume' }] },
      'stash-demo',
      ["specs/r.yaml: spec.recoveredVolumes[0].name: ignored: Stash's recovered volumes never had a name (its 0.7 MinIO guide wrote one, which Stash ignored too)"],
    ],
  ])('reads %s', (_what, spec, restic, warnings) => {
    expect(load(recovery(spec))).toEqual({ specs: [restic], problems: [], warnings });
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ['podOrdinal as a number, which Stash could not decode', { restic: 'x', podOrdinal: 0, recoveredVolumes: volumes }, ['specs/r.yaml: spec.podOrdinal: must be a string (got number 0)']],
    [
      'names that disagree',
      { restic: 'a', repository: { name: 'deployment.b' }, workload: { kind: 'Deployment', name: 'a' }, recoveredVolumes: volumes },
      ['specs/r.yaml: spec.repository.name: names Restic "b", but restic names "a"'],
    ],
    ['no recovered volume', { restic: 'x', recoveredVolumes: [] }, ['specs/r.yaml: spec.recoveredVolumes: must have at least one volume to restore into']],
    [
      'a recovered volume with two sources',
      { restic: 'x', recoveredVolumes: [{ mountPath: '/data', hostPath: { path: '/r' }, emptyDir: {} }] },
      ['specs/r.yaml: spec.recoveredVolumes[0]: exactly one volume source must be set, found hostPath and emptyDir'],
    ],
    ['a recovered volume without mountPath', { restic: 'x', recoveredVolumes: [{ hostPath: { path: '/r' } }] }, ['specs/r.yaml: spec.recoveredVolumes[0].mountPath: Required']],
    [
      "a draft's volumes, which no release had",
      { restic: 'x', volumes: [{ name: 'restored', hostPath: { path: '/r' } }] },
      ['specs/r.yaml: spec.recoveredVolumes: Required', 'specs/r.yaml: spec.volumes: unknown field'],
    ],
    ['a typo', { restic: 'x', recoveredVolumes: volumes, snapshots: 'latest' }, ['specs/r.yaml: spec.snapshots: unknown field']],
  ])('refuses %s, naming the field', (_what, spec, problems) => {
    expect(load(recovery(spec))).toEqual({ specs: [], problems, warnings: [] });
  });

  it('reads the Recoveries of a kind: List, as kubectl get recovery -o yaml prints them', () => {
    const one = { apiVersion: 'stash.appscode.com/v1alpha1', kind: 'Recovery', metadata: { name: 'a' }, spec: { restic: 'x', recoveredVolumes: volumes } };
    const text = stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: [one, { ...one, metadata: { name: 'b' } }] });
    const r = loadRecoveries([doc('specs/list.yaml', text)]);
    expect(r.recoveries.map((l) => [l.source, l.recovery.metadata.name])).toEqual([
      ['specs/list.yaml#0', 'a'],
      ['specs/list.yaml#1', 'b'],
    ]);
  });
});

describe('validateDocuments', () => {
  it('lists valid specs and Recoveries, and warns when a Recovery names no Restic given', () => {
    const restic = `apiVersion: stash.appscode.com/v1alpha1
kind: Restic
metadata: {name: stash-demo}
spec:
  fileGroups: [{path: /source/data}]
  backend: {s3: {endpoint: s3.amazonaws.com, bucket: stash-qa}, storageSecretName: s3-secret}
  schedule: '@daily'
`;
    const gone = V07.replaceAll('deployment.stash-demo', 'deployment.gone').replace('name: stash-demo-07', 'name: gone');
    const wrongSnapshot = gone.replace('snapshot: deployment.gone-d3050010', 'snapshot: deployment.stash-demo-d3050010').replace('name: gone', 'name: wrong');
    const result = validateDocuments([doc('specs/restic.yaml', restic), doc('specs/r7.yaml', V07), doc('specs/gone.yaml', gone), doc('specs/wrong.yaml', wrongSnapshot)]);
    expect(result.specs.map((s) => s.spec.metadata.name)).toEqual(['stash-demo']);
    expect(result.recoveries.map((r) => [r.source, r.recovery.metadata.name])).toEqual([
      ['specs/r7.yaml', 'stash-demo-07'],
      ['specs/gone.yaml', 'gone'],
    ]);
    expect(result.problems.map(formatProblem)).toEqual([
      'specs/wrong.yaml: spec.snapshot: must be latest, a restic snapshot id, or deployment.gone-<id> as Stash 0.7 named it',
    ]);
    expect(result.warnings.map(formatProblem)).toEqual(['specs/gone.yaml: spec.repository.name: restores from the Restic spec "gone", which is not among the valid specs given']);
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
  it("takes a Stash 0.6 backend only when it is the Restic's repository", () => {
    const withBackend = (backend: object) => ({ ...r6.recovery, spec: { ...r6.recovery.spec, paths: ['/source/data'], backend } }) as typeof r6.recovery;
    expect(recoveryPaths(withBackend({ s3: { endpoint: 's3.amazonaws.com', bucket: 'stash-qa', prefix: '/' }, storageSecretName: 'renamed' }), [spec])).toEqual(['/source/data']);
    expect(() => recoveryPaths(withBackend({ s3: { endpoint: 's3.amazonaws.com', bucket: 'stash-other' }, storageSecretName: 's3-secret' }), [spec])).toThrow(
      "spec.backend: is not the repository of stash-demo (spec.backend of the Restic): a Recovery restores from its Restic's repository",
    );
    expect(() => recoveryPaths(withBackend({ local: { mountPath: '/repo', hostPath: { path: '/srv' } }, storageSecretName: 's3-secret' }), [spec])).toThrow('spec.backend: is not the repository');
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
