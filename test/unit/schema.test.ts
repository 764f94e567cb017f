import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { formatProblem } from '../../core/errors';
import type { SpecDocument } from '../../core/ports';
import { loadSpecs, MAX_DOCUMENT_BYTES, parseSpecDocument, SpecCache, type SpecLoadResult } from '../../core/spec';
import { mountedVolume, retentionPolicyOf, unsupportedVolumeSource, type MountedVolume } from '../../schemas/restic';
import { DEMO_SPEC, editedSpec, type Doc } from '../support/specs';

const FIXTURES = fileURLToPath(new URL('../fixtures/specs/', import.meta.url));
const FIXTURE_FILES = readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml')).sort();

/** A fixture as a stored document; `specs/<file>` keeps the expected messages short. */
function fixture(file: string): SpecDocument {
  return { source: `specs/${file}`, text: readFileSync(`${FIXTURES}${file}`, 'utf8') };
}

/** What a load gave, as a user reads it. */
function outcome(result: SpecLoadResult) {
  return {
    specs: result.specs.map((s) => s.spec.metadata.name),
    problems: result.problems.map(formatProblem),
    warnings: result.warnings.map(formatProblem),
  };
}

const SOURCE = 'specs/demo.yaml';
const parse = (text: string) => outcome(parseSpecDocument({ source: SOURCE, text }));

const VALID = DEMO_SPEC;

/** VALID as YAML, after `edit` changed a copy of it. */
function restic(edit: (doc: Doc) => void = () => {}): string {
  return stringify(editedSpec(edit));
}

const noVolume = (file: string) =>
  `specs/${file}: spec.volumeMounts[0].name: volume "source-data" is not defined in spec.volumes; the spec cannot run until it is (hostPath locally, efs on AWS)`;
const selectorIgnored = (file: string) => `specs/${file}: spec.selector: ignored: there are no pods to select; fileGroups come from spec.volumes`;
const azureNotInTheImage = (file: string) =>
  `specs/${file}: spec.backend.azure: the runner image's restic (Debian's package) has no Azure backend, so runs on AWS fail; locally, use a restic built with it (restic's own release)`;
const emptyDirRepository = (file: string) =>
  `specs/${file}: spec.backend.local.volumeSource.emptyDir: an emptyDir repository does not outlive its run on AWS; use efs (or hostPath locally)`;

describe('example specs', () => {
  it('has every example the tables below name', () => {
    expect(FIXTURE_FILES).toEqual([
      'aws-efs.yaml',
      'azure-restic.yaml',
      'b2-restic.yaml',
      'gcs-restic.yaml',
      'local-hostpath.yaml',
      'local-restic.yaml',
      'multi-document.yaml',
      'rest-restic.yaml',
      's3-restic.yaml',
      'swift-restic.yaml',
    ]);
  });

  it.each([
    ['local-restic.yaml', [noVolume('local-restic.yaml'), emptyDirRepository('local-restic.yaml'), selectorIgnored('local-restic.yaml')]],
    ['s3-restic.yaml', [noVolume('s3-restic.yaml'), selectorIgnored('s3-restic.yaml')]],
    ['gcs-restic.yaml', [noVolume('gcs-restic.yaml'), selectorIgnored('gcs-restic.yaml')]],
    ['azure-restic.yaml', [noVolume('azure-restic.yaml'), selectorIgnored('azure-restic.yaml'), azureNotInTheImage('azure-restic.yaml')]],
    ['swift-restic.yaml', [noVolume('swift-restic.yaml'), selectorIgnored('swift-restic.yaml')]],
    ['b2-restic.yaml', [noVolume('b2-restic.yaml'), selectorIgnored('b2-restic.yaml')]],
  ])('accepts the kubectl output %s, warning that its volume is undefined and its selector ignored', (file, warnings) => {
    expect(outcome(parseSpecDocument(fixture(file)))).toEqual({
      specs: [file.replace(/\.yaml$/, '')],
      problems: [],
      warnings,
    });
  });

  it.each([
    ['rest-restic.yaml', ['rest-restic']],
    ['local-hostpath.yaml', ['workstation']],
    ['aws-efs.yaml', ['shared-files']],
    ['multi-document.yaml', ['home-nightly', 'photos-weekly']],
  ])('accepts %s without warnings', (file, specs) => {
    expect(outcome(parseSpecDocument(fixture(file)))).toEqual({ specs, problems: [], warnings: [] });
  });

  it('loads all examples as one store', () => {
    const result = loadSpecs(FIXTURE_FILES.map(fixture));
    expect(outcome(result).problems).toEqual([]);
    expect(outcome(result).specs).toEqual([
      'azure-restic',
      'b2-restic',
      'gcs-restic',
      'home-nightly',
      'local-restic',
      'photos-weekly',
      'rest-restic',
      's3-restic',
      'shared-files',
      'swift-restic',
      'workstation',
    ]);
  });

  it('names each document of a multi-document file by its index', () => {
    const result = parseSpecDocument({ ...fixture('multi-document.yaml'), version: 'v7' });
    expect(result.specs.map((s) => [s.source, s.version, s.spec.metadata.name])).toEqual([
      ['specs/multi-document.yaml#0', 'v7', 'home-nightly'],
      ['specs/multi-document.yaml#1', 'v7', 'photos-weekly'],
    ]);
  });

  it('keeps the seed spec as Stash wrote it', () => {
    const [loaded] = parseSpecDocument(fixture('s3-restic.yaml')).specs;
    expect(loaded.spec.spec).toEqual({
      selector: { matchLabels: { app: 's3-restic' } },
      fileGroups: [{ path: '/source/data', retentionPolicy: { keepLast: 5, prune: true } }],
      backend: { s3: { endpoint: 's3.amazonaws.com', bucket: 'stash-qa', prefix: 'demo' }, storageSecretName: 's3-secret' },
      schedule: '@every 1m',
      volumeMounts: [{ mountPath: '/source/data', name: 'source-data' }],
    });
    expect(loaded.spec.metadata.creationTimestamp).toBe('2017-06-28T12:58:10Z');
    expect(loaded.warnings).toEqual([
      'spec.volumeMounts[0].name: volume "source-data" is not defined in spec.volumes; the spec cannot run until it is (hostPath locally, efs on AWS)',
      'spec.selector: ignored: there are no pods to select; fileGroups come from spec.volumes',
    ]);
  });
});

describe('parseSpecDocument', () => {
  it('accepts everything kubectl adds to metadata, and a status', () => {
    const text = restic((d) => {
      d.metadata = {
        name: 'demo',
        namespace: 'backups',
        uid: '617e3487-5bfb-11e7-bb52-08002711f4aa',
        resourceVersion: '2000',
        generation: 3,
        selfLink: '/apis/stash.appscode.com/v1alpha1/namespaces/backups/restics/demo',
        creationTimestamp: '2017-06-28T12:14:48Z',
        labels: { app: 'demo' },
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"stash.appscode.com/v1alpha1"}\n' },
        finalizers: ['stash.appscode.com'],
        ownerReferences: [{ apiVersion: 'v1', kind: 'Namespace', name: 'backups', uid: 'a1' }],
        managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:spec': {} } }],
      };
      d.status = { backupCount: 12, lastBackupTime: '2017-06-28T13:00:00Z' };
    });
    expect(parse(text)).toEqual({ specs: ['demo'], problems: [], warnings: [] });
  });

  it('accepts a JSON document', () => {
    expect(parse(JSON.stringify(VALID))).toEqual({ specs: ['demo'], problems: [], warnings: [] });
  });

  it.each([
    [
      'spec.useAutoPrefix',
      restic((d) => (d.spec.useAutoPrefix = 'Smart')),
      [`${SOURCE}: spec.useAutoPrefix: ignored: the repository path is exactly the backend prefix`],
    ],
    [
      'a fileGroup outside every mount',
      restic((d) => {
        d.spec.volumeMounts = [{ mountPath: '/mnt', name: 'data' }];
        d.spec.volumes = [{ name: 'data', hostPath: { path: '/srv' } }];
      }),
      [`${SOURCE}: spec.fileGroups[0].path: is not under any volumeMount's mountPath (/mnt)`],
    ],
  ])('warns about %s and still accepts the spec', (_what, text, warnings) => {
    expect(parse(text)).toEqual({ specs: ['demo'], problems: [], warnings });
  });

  const s3 = (bucket: string) => (d: Doc) => (d.spec.backend.s3.bucket = bucket);
  const backend = (b: object) => (d: Doc) => (d.spec.backend = { ...b, storageSecretName: 'demo-secret' });
  const retention = (policy: object) => (d: Doc) => (d.spec.fileGroups[0].retentionPolicy = policy);
  const volumes = (list: object[]) => (d: Doc) => (d.spec.volumes = list);

  it.each<[string, (d: Doc) => void, string[]]>([
    [
      'a misspelled field (filegroups)',
      (d) => {
        d.spec = { filegroups: d.spec.fileGroups, backend: d.spec.backend, schedule: d.spec.schedule };
      },
      ['spec.fileGroups: Required', 'spec.filegroups: unknown field'],
    ],
    ['an unknown field in a fileGroup', (d) => (d.spec.fileGroups[0].exclude = ['*.tmp']), ['spec.fileGroups[0].exclude: unknown field']],
    ['a relative path', (d) => (d.spec.fileGroups[0].path = 'data'), ['spec.fileGroups[0].path: must be absolute']],
    ['".." in a path', (d) => (d.spec.fileGroups[0].path = '/data/../etc'), ['spec.fileGroups[0].path: must not contain ".."']],
    ['no fileGroups', (d) => (d.spec.fileGroups = []), ['spec.fileGroups: must have at least one fileGroup']],
    ['a tag with a comma', (d) => (d.spec.fileGroups[0].tags = ['a,b']), ['spec.fileGroups[0].tags[0]: must not contain "," (restic splits tags on commas)']],
    ['a backend without a kind', (d) => delete d.spec.backend.s3, ['spec.backend: exactly one of local, s3, gcs, azure, swift, b2, rest must be set']],
    [
      'two backends',
      (d) => (d.spec.backend.gcs = { bucket: 'demo-bucket' }),
      ['spec.backend: exactly one of local, s3, gcs, azure, swift, b2, rest must be set, found s3 and gcs'],
    ],
    [
      'two backends, one of them broken',
      (d) => (d.spec.backend.gcs = { bucket: 'goog-demo' }),
      [
        'spec.backend.gcs.bucket: must not start with "goog" (GCS bucket naming rules)',
        'spec.backend: exactly one of local, s3, gcs, azure, swift, b2, rest must be set, found s3 and gcs',
      ],
    ],
    ['a missing storageSecretName', (d) => delete d.spec.backend.storageSecretName, ['spec.backend.storageSecretName: Required']],
    [
      'an invalid secret name',
      (d) => (d.spec.backend.storageSecretName = 'S3_Secret'),
      [
        'spec.backend.storageSecretName: must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit',
      ],
    ],
    [
      'an S3 bucket with uppercase letters',
      s3('Stash-QA'),
      [
        'spec.backend.s3.bucket: must use lowercase letters, digits, "." and "-", starting and ending with a letter or digit (S3 bucket naming rules)',
      ],
    ],
    ['an S3 bucket that is an IP address', s3('192.168.5.4'), ['spec.backend.s3.bucket: must not be an IP address (S3 bucket naming rules)']],
    ['an S3 bucket that is too short', s3('qa'), ['spec.backend.s3.bucket: must be 3 to 63 characters (S3 bucket naming rules)']],
    ['an S3 bucket that is too long', s3('a'.repeat(64)), ['spec.backend.s3.bucket: must be 3 to 63 characters (S3 bucket naming rules)']],
    ['an S3 bucket with ".."', s3('stash..qa'), ['spec.backend.s3.bucket: must not contain ".." (S3 bucket naming rules)']],
    ['a GCS bucket starting with "goog"', backend({ gcs: { bucket: 'google-backups' } }), ['spec.backend.gcs.bucket: must not start with "goog" (GCS bucket naming rules)']],
    [
      'an Azure container with "--"',
      backend({ azure: { container: 'stash--qa' } }),
      [
        'spec.backend.azure.container: must use lowercase letters, digits and single "-", starting and ending with a letter or digit (Azure container naming rules)',
      ],
    ],
    ['a Swift container with "/"', backend({ swift: { container: 'stash/qa' } }), ['spec.backend.swift.container: must not contain "/" (Swift container naming rules)']],
    ['a B2 bucket starting with "b2-"', backend({ b2: { bucket: 'b2-backups' } }), ['spec.backend.b2.bucket: must not start with "b2-" (B2 bucket naming rules)']],
    ['a B2 bucket that is too short', backend({ b2: { bucket: 'stash' } }), ['spec.backend.b2.bucket: must be 6 to 50 characters (B2 bucket naming rules)']],
    ['a prefix with ".."', (d) => (d.spec.backend.s3.prefix = '../other'), ['spec.backend.s3.prefix: must not contain ".."']],
    ['keepLast: -1', retention({ keepLast: -1 }), ['spec.fileGroups[0].retentionPolicy.keepLast: must be a non-negative integer']],
    ['keepLast: "5"', retention({ keepLast: '5' }), ['spec.fileGroups[0].retentionPolicy.keepLast: must be a number (got string "5")']],
    ['keepLast: 1.5', retention({ keepLast: 1.5 }), ['spec.fileGroups[0].retentionPolicy.keepLast: must be an integer (got number 1.5)']],
    ['prune: "true"', retention({ prune: 'true' }), ['spec.fileGroups[0].retentionPolicy.prune: must be true or false (got string "true")']],
    ['paused: "yes"', (d) => (d.spec.paused = 'yes'), ['spec.paused: must be true or false (got string "yes")']],
    ['the S3 endpoint "s3 amazonaws com"', (d) => (d.spec.backend.s3.endpoint = 's3 amazonaws com'), ['spec.backend.s3.endpoint: "s3 amazonaws com" is not a host name or an IP address']],
    ...(['ftp://s3.amazonaws.com', 'https://minio.example.com:9000/bucket'] as const).map(
      (endpoint): [string, (d: Doc) => void, string[]] => [
        `the S3 endpoint ${JSON.stringify(endpoint)}`,
        (d) => (d.spec.backend.s3.endpoint = endpoint),
        ['spec.backend.s3.endpoint: must be a host[:port] (https is implied) or an http:// or https:// URL without a path'],
      ],
    ),
    ...(['rest-server:8000/stash', 'ftp://backup.example.com/stash', '/stash'] as const).map((url): [string, (d: Doc) => void, string[]] => [
      `the REST url ${JSON.stringify(url)}`,
      backend({ rest: { url } }),
      ['spec.backend.rest.url: must be an http:// or https:// URL'],
    ]),
    ['a missing schedule', (d) => delete d.spec.schedule, ['spec.schedule: Required']],
    ['a schedule that is not a string', (d) => (d.spec.schedule = 5), ['spec.schedule: must be a string (got number 5)']],
    ['another apiVersion', (d) => (d.apiVersion = 'apps/v1'), ['apiVersion: must be stash.appscode.com/v1alpha1']],
    ['another kind', (d) => (d.kind = 'Deployment'), ['kind: must be Restic']],
    [
      "Stash 0.9's apiVersion",
      (d) => (d.apiVersion = 'stash.appscode.com/v1beta1'),
      ["apiVersion: stash.appscode.com/v1beta1 is the API of Stash 0.9 and later; this project reads Stash 0.5 to 0.8's Restic and Recovery (stash.appscode.com/v1alpha1)"],
    ],
    ['useAutoPrefix: "false"', (d) => (d.spec.useAutoPrefix = 'false'), ['spec.useAutoPrefix: must be Smart, NodeName, PodName or None (the values Stash 0.5 read)']],
    ['no metadata', (d) => delete d.metadata, ['metadata: Required']],
    ['a missing name', (d) => (d.metadata = { namespace: 'default' }), ['metadata.name: Required']],
    [
      'a name with uppercase and "_"',
      (d) => (d.metadata.name = 'Demo_Spec'),
      ['metadata.name: must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit'],
    ],
    ['a name longer than 63', (d) => (d.metadata.name = 'a'.repeat(64)), ['metadata.name: must be at most 63 characters (a DNS-1123 label)']],
    ['a name that is a number', (d) => (d.metadata.name = 123), ['metadata.name: must be a string (got number 123)']],
    ['an unknown metadata field', (d) => (d.metadata.nmae = 'demo'), ['metadata.nmae: unknown field']],
    [
      'a volume with two sources',
      volumes([{ name: 'data', hostPath: { path: '/srv' }, efs: { fileSystemId: 'fs-0123abcd' } }]),
      ['spec.volumes[0]: exactly one of hostPath, efs, emptyDir must be set, found hostPath and efs'],
    ],
    ['a volume without a source', volumes([{ name: 'data' }]), ['spec.volumes[0]: exactly one of hostPath, efs, emptyDir must be set']],
    [
      'a persistentVolumeClaim volume',
      volumes([{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }]),
      [
        'spec.volumes[0].persistentVolumeClaim: unsupported volume source "persistentVolumeClaim": use one of hostPath, efs, emptyDir',
        'spec.volumes[0]: exactly one of hostPath, efs, emptyDir must be set',
      ],
    ],
    [
      'an nfs repository volume next to a supported one',
      backend({ local: { path: '/repo', volumeSource: { hostPath: { path: '/srv/repo' }, nfs: { server: 'nas', path: '/' } } } }),
      ['spec.backend.local.volumeSource: exactly one volume source must be set, found hostPath and nfs'],
    ],
    [
      'duplicate volume names',
      volumes([
        { name: 'data', hostPath: { path: '/srv/a' } },
        { name: 'logs', hostPath: { path: '/srv/b' } },
        { name: 'data', hostPath: { path: '/srv/c' } },
      ]),
      ['spec.volumes[2].name: duplicate volume "data" (also spec.volumes[0])'],
    ],
    [
      'an EFS id that is not one',
      volumes([{ name: 'data', efs: { fileSystemId: 'my-efs' } }]),
      ['spec.volumes[0].efs.fileSystemId: must be an EFS file system id (fs-0123abcd...)'],
    ],
    ['a relative hostPath', volumes([{ name: 'data', hostPath: { path: 'srv' } }]), ['spec.volumes[0].hostPath.path: must be absolute']],
    ['a mount subPath with ".."', (d) => (d.spec.volumeMounts = [{ mountPath: '/data', name: 'data', subPath: '../etc' }]), ['spec.volumeMounts[0].subPath: must not contain ".."']],
    ['startWindow: soon', (d) => (d.spec.startWindow = 'soon'), ['spec.startWindow: must be a duration of at least 1m such as 30m or 2h (got "soon")']],
    ['startWindow: 30s', (d) => (d.spec.startWindow = '30s'), ['spec.startWindow: must be a duration of at least 1m such as 30m or 2h (got "30s")']],
    ['startWindow: 90', (d) => (d.spec.startWindow = 90), ['spec.startWindow: must be a string (got number 90)']],
    [
      'a check readDataSubset that is not one',
      (d) => (d.spec.check = { readDataSubset: 'half' }),
      [
        'spec.check.readDataSubset: must be n/t (1 <= n <= t <= 256), a percentage above 0% and at most 100% such as 10%, or a size with a unit (b, k, m, g or t) such as 500M (got "half")',
      ],
    ],
    [
      'a resource quantity that is not one',
      (d) => (d.spec.resources = { requests: { memory: '1 GB' } }),
      ['spec.resources.requests.memory: must be a Kubernetes quantity such as 500m, 1, 512Mi or 2Gi'],
    ],
  ])('refuses %s', (_what, edit, problems) => {
    expect(parse(restic(edit))).toEqual({ specs: [], problems: problems.map((p) => `${SOURCE}: ${p}`), warnings: [] });
  });

  it.each([
    ['an empty file', '', [`${SOURCE}: empty: no Restic spec in this file`]],
    ['a file of comments', '# nightly backups, to be written\n', [`${SOURCE}: empty: no Restic spec in this file`]],
    ['a file of empty documents', '---\n---\n', [`${SOURCE}: empty: no Restic spec in this file`]],
    ['a top-level list', stringify([VALID]), [`${SOURCE}: must be a Restic object (a mapping), got a list`]],
    ['a top-level string', 'restic\n', [`${SOURCE}: must be a Restic object (a mapping), got string "restic"`]],
    ['an alias to no anchor', 'apiVersion: *version\n', [`${SOURCE}: not YAML: Unresolved alias (the anchor must be set before the alias): version`]],
    ['a file over the size limit', `# ${'x'.repeat(MAX_DOCUMENT_BYTES)}\n`, [`${SOURCE}: file is larger than 1048576 bytes; a spec is a few hundred`]],
  ])('refuses %s', (_what, text, problems) => {
    expect(parse(text)).toEqual({ specs: [], problems, warnings: [] });
  });

  it('refuses a YAML alias bomb (billion laughs) quickly', () => {
    const levels = ['lol', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
    const lines = ['lol: &lol "lol"'];
    for (let i = 1; i < levels.length; i++) lines.push(`${levels[i]}: &${levels[i]} [${Array(9).fill(`*${levels[i - 1]}`).join(', ')}]`);
    const started = performance.now();
    const result = parse(`${lines.join('\n')}\n`);
    const elapsed = performance.now() - started;
    expect(result).toEqual({
      specs: [],
      problems: [`${SOURCE}: not YAML: Excessive alias count indicates a resource exhaustion attack`],
      warnings: [],
    });
    // Expanded, the document would hold 9^9 (387 million) strings.
    expect(elapsed).toBeLessThan(1000);
  });

  it('skips a Recovery next to the specs', () => {
    const recovery = stringify({
      apiVersion: 'stash.appscode.com/v1alpha1',
      kind: 'Recovery',
      metadata: { name: 'demo-recovery' },
      spec: { restic: 'demo', volumes: [{ name: 'data', hostPath: { path: '/restored' } }] },
    });
    expect(parse(recovery)).toEqual({ specs: [], problems: [], warnings: [] });
    expect(parse(`${restic()}---\n${recovery}`)).toEqual({ specs: ['demo'], problems: [], warnings: [] });
  });

  it('refuses one bad document of a file and keeps the others', () => {
    const text = [restic(), restic((d) => (d.metadata.name = 'Bad')), 'restic\n', restic((d) => (d.metadata.name = 'other'))].join('---\n');
    expect(parse(text)).toEqual({
      specs: ['demo', 'other'],
      problems: [
        `${SOURCE}#1: metadata.name: must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit`,
        `${SOURCE}#2: must be a Restic object (a mapping), got string "restic"`,
      ],
      warnings: [],
    });
  });
});

describe('loadSpecs', () => {
  it('refuses every copy of a name used twice across files', () => {
    const result = loadSpecs([
      { source: 'specs/a.yaml', text: restic() },
      { source: 'specs/b.yaml', text: restic((d) => (d.spec.schedule = '@daily')) },
      { source: 'specs/c.yaml', text: restic((d) => (d.metadata.name = 'other')) },
    ]);
    expect(outcome(result)).toEqual({
      specs: ['other'],
      problems: [
        'specs/a.yaml: metadata.name: duplicate spec name "demo" (also in specs/b.yaml)',
        'specs/b.yaml: metadata.name: duplicate spec name "demo" (also in specs/a.yaml)',
      ],
      warnings: [],
    });
  });

  it('refuses every copy of a name used twice in one file', () => {
    const result = loadSpecs([{ source: SOURCE, text: `${restic()}---\n${restic()}` }]);
    expect(outcome(result)).toEqual({
      specs: [],
      problems: [
        `${SOURCE}#0: metadata.name: duplicate spec name "demo" (also in ${SOURCE}#1)`,
        `${SOURCE}#1: metadata.name: duplicate spec name "demo" (also in ${SOURCE}#0)`,
      ],
      warnings: [],
    });
  });

  it('reports each bad file and loads the good ones, sorted by name', () => {
    const result = loadSpecs([
      { source: 'specs/z.yaml', text: restic((d) => (d.metadata.name = 'zeta')) },
      { source: 'specs/bad.yaml', text: restic((d) => delete d.spec.schedule) },
      { source: 'specs/a.yaml', text: restic((d) => (d.metadata.name = 'alpha')) },
    ]);
    expect(outcome(result)).toEqual({ specs: ['alpha', 'zeta'], problems: ['specs/bad.yaml: spec.schedule: Required'], warnings: [] });
  });
});

describe('SpecCache', () => {
  const doc = (source: string, version: string | undefined, name: string): SpecDocument => ({
    source,
    version,
    text: restic((d) => (d.metadata.name = name)),
  });
  const specOf = (result: SpecLoadResult, name: string) => result.specs.find((s) => s.spec.metadata.name === name)?.spec;

  it('does not parse an unchanged (source, version) again', () => {
    const cache = new SpecCache();
    const first = cache.load([doc('specs/a.yaml', 'v1', 'alpha')]);
    // Same version, other text: a re-parse would give "beta"; the cached "alpha" proves none happened.
    const second = cache.load([doc('specs/a.yaml', 'v1', 'beta')]);
    expect(outcome(second).specs).toEqual(['alpha']);
    expect(specOf(second, 'alpha')).toBe(specOf(first, 'alpha'));
  });

  it('parses a document again when its version changes', () => {
    const cache = new SpecCache();
    const first = cache.load([doc('specs/a.yaml', 'v1', 'alpha')]);
    const second = cache.load([doc('specs/a.yaml', 'v2', 'alpha')]);
    expect(specOf(second, 'alpha')).toEqual(specOf(first, 'alpha'));
    expect(specOf(second, 'alpha')).not.toBe(specOf(first, 'alpha'));
    expect(outcome(cache.load([doc('specs/a.yaml', 'v3', 'beta')])).specs).toEqual(['beta']);
  });

  it('keys a document without a version by its text', () => {
    const cache = new SpecCache();
    const first = cache.load([doc('specs/a.yaml', undefined, 'alpha')]);
    expect(specOf(cache.load([doc('specs/a.yaml', undefined, 'alpha')]), 'alpha')).toBe(specOf(first, 'alpha'));
    expect(outcome(cache.load([doc('specs/a.yaml', undefined, 'beta')])).specs).toEqual(['beta']);
  });

  it('drops documents that are no longer in the store', () => {
    const cache = new SpecCache();
    cache.load([doc('specs/a.yaml', 'v1', 'alpha'), doc('specs/b.yaml', 'v1', 'beta')]);
    expect(cache.size).toBe(2);
    const result = cache.load([doc('specs/b.yaml', 'v1', 'beta')]);
    expect(outcome(result).specs).toEqual(['beta']);
    expect(cache.size).toBe(1);
  });

  it('checks names across documents on every load, cached or not', () => {
    const cache = new SpecCache();
    const alpha = doc('specs/a.yaml', 'v1', 'alpha');
    cache.load([alpha]);
    expect(outcome(cache.load([alpha, doc('specs/copy.yaml', 'v1', 'alpha')]))).toEqual({
      specs: [],
      problems: [
        'specs/a.yaml: metadata.name: duplicate spec name "alpha" (also in specs/copy.yaml)',
        'specs/copy.yaml: metadata.name: duplicate spec name "alpha" (also in specs/a.yaml)',
      ],
      warnings: [],
    });
    expect(outcome(cache.load([alpha])).specs).toEqual(['alpha']);
  });

  it('keeps the problems of a cached bad document', () => {
    const cache = new SpecCache();
    const bad = { source: 'specs/bad.yaml', version: 'v1', text: restic((d) => delete d.spec.schedule) };
    cache.load([bad]);
    expect(outcome(cache.load([bad])).problems).toEqual(['specs/bad.yaml: spec.schedule: Required']);
  });
});

describe('YAML errors and single problems', () => {
  it.each([
    ['an unclosed flow sequence', 'apiVersion: [unclosed\n', 'Flow sequence in block collection must be sufficiently indented and end with a ] at line 2, column 1'],
    ['an unclosed quote', 'apiVersion: "unclosed\n', 'Missing closing "quote at line 2, column 1'],
    ['a duplicate key', 'apiVersion: x\nkind: Restic\nkind: Restic\n', 'Map keys must be unique at line 3, column 1'],
    ['a tab as indentation', 'apiVersion: x\nspec:\n\tschedule: x\n', 'Tabs are not allowed as indentation at line 3, column 1'],
  ])('refuses YAML with %s, naming line and column', (_what, text, message) => {
    expect(parse(text).problems).toEqual([`${SOURCE}: not YAML: ${message}`]);
  });

  it.each<[string, (d: Doc) => void, string]>([
    ['an empty path', (d) => (d.spec.fileGroups[0].path = ''), 'spec.fileGroups[0].path: must not be empty'],
    ['an empty S3 endpoint', (d) => (d.spec.backend.s3.endpoint = ''), 'spec.backend.s3.endpoint: must not be empty'],
    [
      'a REST url with a password',
      (d) => (d.spec.backend = { rest: { url: 'https://alice:hunter2@backup.example.com:8000/stash' }, storageSecretName: 'rest-secret' }),
      'spec.backend.rest.url: must not contain a user name or password: put them in the secret as RESTIC_REST_USERNAME and RESTIC_REST_PASSWORD',
    ],
    [
      'an S3 endpoint with keys',
      (d) => (d.spec.backend.s3.endpoint = 'https://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI@minio.example.com:9000'),
      'spec.backend.s3.endpoint: must not contain a user name or password: the keys belong in the secret (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)',
    ],
  ])('refuses %s with one problem', (_what, edit, problem) => {
    expect(parse(restic(edit)).problems).toEqual([`${SOURCE}: ${problem}`]);
  });
});

describe("Stash 0.5 to 0.8's shapes", () => {
  const local = (l: object) => (d: Doc) => (d.spec.backend = { local: l, storageSecretName: 'local-secret' });
  const hostPath = { hostPath: { path: '/srv/repo' } };
  const specOf = (text: string) => parseSpecDocument({ source: SOURCE, text }).specs[0].spec;

  it.each<[string, object, MountedVolume]>([
    ['Stash 0.5: path, volumeSource', { path: '/repo', volumeSource: hostPath }, { mountPath: '/repo', kind: 'hostPath', field: 'volumeSource.hostPath', source: hostPath }],
    [
      'Stash 0.6.0 to 0.6.2: mountPath, subPath, VolumeSource',
      { mountPath: '/safe/data', subPath: 'demo', VolumeSource: hostPath },
      { mountPath: '/safe/data', subPath: 'demo', kind: 'hostPath', field: 'VolumeSource.hostPath', source: hostPath },
    ],
    [
      "Stash 0.6.0's kubectl output: mountPath, volumeSource",
      { mountPath: '/safe/data', volumeSource: hostPath },
      { mountPath: '/safe/data', kind: 'hostPath', field: 'volumeSource.hostPath', source: hostPath },
    ],
    ['Stash 0.6.3 and later: the source inline', { mountPath: '/safe/data', ...hostPath }, { mountPath: '/safe/data', kind: 'hostPath', field: 'hostPath', source: hostPath }],
    [
      'an EFS file system inline',
      { mountPath: '/safe/data', efs: { fileSystemId: 'fs-0123abcd' } },
      { mountPath: '/safe/data', kind: 'efs', field: 'efs', source: { efs: { fileSystemId: 'fs-0123abcd' } } },
    ],
    ['an nfs volume, which cannot exist here', { mountPath: '/safe/data', nfs: { server: 'nas', path: '/' } }, { mountPath: '/safe/data', kind: 'nfs', field: 'nfs', source: undefined }],
  ])('accepts backend.local as %s, and reads it as one volume', (_what, written, view) => {
    const spec = specOf(restic(local(written)));
    expect(spec.spec.backend.local).toEqual(written);
    expect(mountedVolume(spec.spec.backend.local!)).toEqual(view);
  });

  it.each<[string, object, string[]]>([
    ['path and mountPath', { path: '/repo', mountPath: '/repo', volumeSource: hostPath }, ['spec.backend.local.path: path (Stash 0.5) and mountPath (Stash 0.6 and later) both say where the repository is mounted: keep one']],
    ['path with the source inline', { path: '/repo', ...hostPath }, ['spec.backend.local.hostPath: with path (Stash 0.5) the volume source goes under volumeSource', 'spec.backend.local.volumeSource: Required']],
    ['path with a subPath', { path: '/repo', subPath: 'a', volumeSource: hostPath }, ["spec.backend.local.subPath: Stash 0.5's path takes no subPath: write mountPath (Stash 0.6 and later) instead of path"]],
    ['mountPath without a source', { mountPath: '/repo' }, ['spec.backend.local: a volume source must be set next to mountPath: hostPath (this machine), efs (AWS) or emptyDir']],
    ['mountPath with two sources', { mountPath: '/repo', ...hostPath, nfs: { server: 'nas', path: '/' } }, ['spec.backend.local: exactly one volume source must be set, found hostPath and nfs']],
    ['a source both inline and wrapped', { mountPath: '/repo', ...hostPath, VolumeSource: hostPath }, ['spec.backend.local: exactly one volume source must be set, found VolumeSource and hostPath']],
    ['volumeSource and VolumeSource', { mountPath: '/repo', volumeSource: hostPath, VolumeSource: hostPath }, ['spec.backend.local.VolumeSource: volumeSource and VolumeSource are one field (Go read it in any case): keep one']],
    ['no mount path', { ...hostPath }, ['spec.backend.local.mountPath: Required']],
    ['an unknown field', { mountPath: '/repo', ...hostPath, readOnly: true }, ['spec.backend.local.readOnly: unknown field']],
    ['a relative hostPath inline', { mountPath: '/repo', hostPath: { path: 'repo' } }, ['spec.backend.local.hostPath.path: must be absolute']],
  ])('refuses backend.local with %s', (_what, written, problems) => {
    expect(parse(restic(local(written)))).toEqual({ specs: [], problems: problems.map((p) => `${SOURCE}: ${p}`), warnings: [] });
  });

  it.each([
    ['nfs', { mountPath: '/safe/data', nfs: { server: 'nas', path: '/' } }, 'spec.backend.local.nfs'],
    ['persistentVolumeClaim', { mountPath: '/safe/data', VolumeSource: { persistentVolumeClaim: { claimName: 'repo' } } }, 'spec.backend.local.VolumeSource.persistentVolumeClaim'],
    ['gcePersistentDisk', { path: '/safe/data', volumeSource: { gcePersistentDisk: { pdName: 'repo' } } }, 'spec.backend.local.volumeSource.gcePersistentDisk'],
  ])('accepts a %s repository volume with a warning saying what to write instead', (kind, written, path) => {
    expect(parse(restic(local(written)))).toEqual({
      specs: ['demo'],
      problems: [],
      warnings: [`${SOURCE}: ${path}: ${unsupportedVolumeSource(kind)}; until then every run of this spec fails`],
    });
    expect(unsupportedVolumeSource(kind)).toBe(
      `a Kubernetes ${kind} volume cannot exist here: replace it with efs: {fileSystemId: fs-...} on AWS or hostPath: {path: ...} on one machine, the sources spec.volumes takes`,
    );
  });

  const policies = (list: object[], ...names: (string | undefined)[]) => (d: Doc) => {
    d.spec.retentionPolicies = list;
    d.spec.fileGroups = names.map((n, i) => ({ path: `/data/${i}`, ...(n === undefined ? {} : { retentionPolicyName: n }) }));
  };
  const keep5 = { name: 'keep-last-5', keepLast: 5, prune: true };

  it('applies the retention policy a fileGroup names (Stash 0.6 and later), or its inline one (0.5)', () => {
    const spec = specOf(restic(policies([keep5, { name: 'daily', keepDaily: 7 }], 'daily', 'keep-last-5', undefined)));
    expect(spec.spec.fileGroups.map((g) => retentionPolicyOf(spec.spec, g))).toEqual([{ name: 'daily', keepDaily: 7 }, keep5, undefined]);
    const inline = specOf(restic((d) => (d.spec.fileGroups[0].retentionPolicy = { keepLast: 3 })));
    expect(retentionPolicyOf(inline.spec, inline.spec.fileGroups[0])).toEqual({ keepLast: 3 });
  });

  it('gives fileGroups that name no policy the nameless one, and duplicate names the first, as Stash did', () => {
    const text = restic(policies([{ keepLast: 1 }, keep5, { ...keep5, keepLast: 9 }], undefined, '', 'keep-last-5'));
    expect(parse(text)).toEqual({
      specs: ['demo'],
      problems: [],
      warnings: [`${SOURCE}: spec.retentionPolicies[2].name: duplicate policy name "keep-last-5": fileGroups that name it get spec.retentionPolicies[1], as in Stash`],
    });
    const spec = specOf(text);
    expect(spec.spec.fileGroups.map((g) => retentionPolicyOf(spec.spec, g)?.keepLast)).toEqual([1, 1, 5]);
  });

  it.each<[string, (d: Doc) => void, string]>([
    [
      'a policy name that is not defined',
      policies([keep5], 'keep-last-5', 'keep-last-6'),
      'spec.fileGroups[1].retentionPolicyName: "keep-last-6" is not the name of any of spec.retentionPolicies ("keep-last-5")',
    ],
    ['a policy name with no policies', policies([], 'keep-last-5'), 'spec.fileGroups[0].retentionPolicyName: "keep-last-5" is not the name of any of spec.retentionPolicies (there are none)'],
    [
      'a policy both inline and named',
      (d) => {
        policies([keep5], 'keep-last-5')(d);
        d.spec.fileGroups[0].retentionPolicy = { keepLast: 1 };
      },
      'spec.fileGroups[0].retentionPolicyName: a fileGroup takes retentionPolicy (Stash 0.5) or retentionPolicyName (Stash 0.6 and later), not both',
    ],
    ['an unknown field in a named policy', policies([{ ...keep5, keepHours: 1 }], 'keep-last-5'), 'spec.retentionPolicies[0].keepHours: unknown field'],
    ['type: nightly', (d) => (d.spec.type = 'nightly'), 'spec.type: must be online or offline'],
    ['imagePullSecrets as names', (d) => (d.spec.imagePullSecrets = ['regcred']), 'spec.imagePullSecrets[0]: must be a mapping (got string "regcred")'],
  ])('refuses %s, naming the field', (_what, edit, problem) => {
    expect(parse(restic(edit))).toEqual({ specs: [], problems: [`${SOURCE}: ${problem}`], warnings: [] });
  });

  it.each<[string, (d: Doc) => void, string[]]>([
    ['type: online', (d) => (d.spec.type = 'online'), []],
    ['paused: true', (d) => (d.spec.paused = true), []],
    [
      'type: offline',
      (d) => (d.spec.type = 'offline'),
      [
        'spec.type: offline runs as online does: there are no pods to stop and restart around a backup, so each scheduled run reads the volumes as they are (stop what writes to them first if it needs to)',
      ],
    ],
    ['imagePullSecrets', (d) => (d.spec.imagePullSecrets = [{ name: 'regcred' }]), ["spec.imagePullSecrets: ignored: the runner's image is the stack's own"]],
    ['a Stash 0.5 status', (d) => (d.status = { backupCount: 1, firstBackupTime: '2017-12-04T10:06:23Z', lastBackupDuration: '1.5347814s' }), []],
  ])('accepts %s', (_what, edit, warnings) => {
    expect(parse(restic(edit))).toEqual({ specs: ['demo'], problems: [], warnings: warnings.map((w) => `${SOURCE}: ${w}`) });
  });

  it('accepts the metadata kubectl printed in 2017 to 2019, nulls included', () => {
    const text = `${restic((d) => (d.metadata.name = 'placeholder'))}`.replace(
      'metadata:\n  name: placeholder\n',
      [
        'metadata:',
        '  clusterName: ""',
        '  creationTimestamp: 2017-12-04T10:06:18Z',
        '  deletionGracePeriodSeconds: null',
        '  deletionTimestamp: null',
        '  generation: 0',
        '  generateName: ""',
        '  initializers: null',
        '  labels: null',
        '  annotations: null',
        '  ownerReferences: null',
        '  finalizers: null',
        '  managedFields: null',
        '  name: demo',
        '  namespace: default',
        '  resourceVersion: "57790"',
        '  selfLink: /apis/stash.appscode.com/v1alpha1/namespaces/default/restics/demo',
        '  uid: c55d5918-d8da-11e7-be92-0800277f19c0',
        '',
      ].join('\n'),
    );
    expect(text).toContain('initializers: null');
    expect(parse(text)).toEqual({ specs: ['demo'], problems: [], warnings: [] });
    expect(parse(text.replace('initializers: null', 'initializers: {pending: [{name: podimage.example.com}]}')).specs).toEqual(['demo']);
  });

  it('reads a kind: List as its items, each named as a document of the file', () => {
    const list = stringify({
      apiVersion: 'v1',
      kind: 'List',
      metadata: { resourceVersion: '', selfLink: '' },
      items: [VALID, { ...VALID, metadata: { name: 'Bad' } }, { ...VALID, metadata: { name: 'other' } }],
    });
    expect(parse(list)).toEqual({
      specs: ['demo', 'other'],
      problems: [`${SOURCE}#1: metadata.name: must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit`],
      warnings: [],
    });
    expect(parseSpecDocument({ source: SOURCE, text: list }).specs.map((s) => s.source)).toEqual([`${SOURCE}#0`, `${SOURCE}#2`]);
    expect(parseSpecDocument({ source: SOURCE, text: stringify({ apiVersion: 'v1', kind: 'List', items: [VALID] }) }).specs.map((s) => s.source)).toEqual([SOURCE]);
    expect(parse(stringify({ apiVersion: 'v1', kind: 'List', items: 'none' }))).toEqual({
      specs: [],
      problems: [`${SOURCE}: items: must be a list: a kind: List holds its objects under items (got string "none")`],
      warnings: [],
    });
  });

  it.each([
    [
      'a BackupConfiguration',
      'stash.appscode.com/v1beta1',
      'BackupConfiguration',
      "kind: BackupConfiguration (stash.appscode.com/v1beta1) belongs to Stash 0.9 and later; this project reads Stash 0.5 to 0.8's Restic and Recovery (stash.appscode.com/v1alpha1): write it as a Restic: its paths as fileGroups, its schedule, its repository's backend and its retention policy",
    ],
    [
      'a RestoreSession',
      'stash.appscode.com/v1beta1',
      'RestoreSession',
      "kind: RestoreSession (stash.appscode.com/v1beta1) belongs to Stash 0.9 and later; this project reads Stash 0.5 to 0.8's Restic and Recovery (stash.appscode.com/v1alpha1): write it as a Recovery that names the Restic to restore from",
    ],
    [
      'a Repository of Stash 0.9',
      'stash.appscode.com/v1beta1',
      'Repository',
      "kind: Repository (stash.appscode.com/v1beta1) belongs to Stash 0.9 and later; this project reads Stash 0.5 to 0.8's Restic and Recovery (stash.appscode.com/v1alpha1): put its backend in the spec.backend of the Restic that writes to it",
    ],
    [
      'a Repository of Stash 0.7',
      'stash.appscode.com/v1alpha1',
      'Repository',
      "kind: Repository (stash.appscode.com/v1alpha1) belongs to Stash 0.7 and later (which created one for each Restic); this project reads Stash 0.5 to 0.8's Restic and Recovery (stash.appscode.com/v1alpha1): put its backend in the spec.backend of the Restic that writes to it",
    ],
    [
      'a Function',
      'stash.appscode.com/v1beta1',
      'Function',
      "kind: Function (stash.appscode.com/v1beta1) belongs to Stash 0.9 and later; this project reads Stash 0.5 to 0.8's Restic and Recovery (stash.appscode.com/v1alpha1): nothing to convert: the runner runs restic itself",
    ],
  ])("refuses %s, naming Stash's release line and what to write instead", (_what, apiVersion, kind, problem) => {
    expect(parse(stringify({ apiVersion, kind, metadata: { name: 'x' }, spec: {} }))).toEqual({ specs: [], problems: [`${SOURCE}: ${problem}`], warnings: [] });
  });
});
