/**
 * What restic or the service would refuse, or what would silently do nothing, is refused
 * when the spec is read: a corpus of invalid specs generated from one valid spec, each edit
 * refused with its exact message and dotted field path, and beside each rule the nearest
 * values that must still pass.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { formatProblem } from '../../core/errors';
import { parseSpecDocument } from '../../core/spec';
import { editedSpec, type Doc } from '../support/specs';

const SOURCE = 'specs/demo.yaml';

type Edit = (doc: Doc) => void;

/** The demo spec after `edit`, loaded: its problems and warnings as `stash validate` prints them. */
function load(edit: Edit) {
  const result = parseSpecDocument({ source: SOURCE, text: stringify(editedSpec(edit)) });
  return { problems: result.problems.map(formatProblem), warnings: result.warnings.map(formatProblem), specs: result.specs.length };
}

const at = (lines: string[]) => lines.map((l) => `${SOURCE}: ${l}`);

/** Edits that set one field. */
const s3Bucket = (bucket: string): Edit => (d) => (d.spec.backend.s3.bucket = bucket);
const s3Endpoint = (endpoint: string): Edit => (d) => (d.spec.backend.s3.endpoint = endpoint);
const backend = (b: object): Edit => (d) => (d.spec.backend = { ...b, storageSecretName: 'demo-secret' });
const gcs = (bucket: string) => backend({ gcs: { bucket } });
const azure = (container: string) => backend({ azure: { container } });
const rest = (url: string) => backend({ rest: { url } });
const readDataSubset = (value: string): Edit => (d) => (d.spec.check = { readDataSubset: value });
const resources = (list: object): Edit => (d) => (d.spec.resources = { requests: list });

const policy = (retentionPolicy: object, tags?: string[]): Edit => (d) => (d.spec.fileGroups[0] = { path: '/data', retentionPolicy, ...(tags ? { tags } : {}) });
const named = (retentionPolicy: object): Edit => (d) => {
  d.spec.retentionPolicies = [{ name: 'keep', ...retentionPolicy }];
  d.spec.fileGroups[0].retentionPolicyName = 'keep';
};
/** Volumes, their mounts, the fileGroups and (optionally) a `local` backend. */
const layout =
  (volumes: object[], volumeMounts: object[], fileGroups: object[], local?: object): Edit =>
  (d) => {
    Object.assign(d.spec, { volumes, volumeMounts, fileGroups });
    if (local) d.spec.backend = { local, storageSecretName: 'local-secret' };
  };
const hostPath = (name: string, path: string) => ({ name, hostPath: { path } });
const efs = (name: string, fileSystemId: string, more: object = {}) => ({ name, efs: { fileSystemId, ...more } });
const mount = (name: string, mountPath: string, subPath?: string) => ({ name, mountPath, ...(subPath ? { subPath } : {}) });
const keep = (keepLast: number) => ({ retentionPolicy: { keepLast } });

const noRule = 'add a rule such as keepLast: 5, or remove the policy to keep every snapshot';
const forgetMixes =
  "which restic backs up under the same path: restic forget, which tells snapshots apart by host and path only, would apply each fileGroup's policy to both fileGroups' snapshots; back the folder up in one fileGroup";
const holds = 'each backup would copy the repository into itself, growing it by its own size every run';
const inside = "each backup would copy restic's own files into the repository";

const s3Rule = 'S3 bucket naming rules';
const gcsRule = 'GCS bucket naming rules';
const subsetForms = 'n/t (1 <= n <= t <= 256), a percentage above 0% and at most 100% such as 10%, or a size with a unit (b, k, m, g or t) such as 500M';

describe('refused when read', () => {
  it.each<[string, Edit, string[]]>([
    // S3 bucket names: AWS's reserved prefixes and suffixes.
    ['an S3 bucket starting "xn--"', s3Bucket('xn--backups'), [`spec.backend.s3.bucket: must not start with "xn--", which AWS reserves for internationalised (punycode) names (${s3Rule})`]],
    ['an S3 bucket starting "sthree-"', s3Bucket('sthree-backups'), [`spec.backend.s3.bucket: must not start with "sthree-", which AWS reserves for S3 itself (${s3Rule})`]],
    ['an S3 bucket starting "sthree-configurator"', s3Bucket('sthree-configurator-x'), [`spec.backend.s3.bucket: must not start with "sthree-", which AWS reserves for S3 itself (${s3Rule})`]],
    ['an S3 bucket starting "amzn-s3-demo-"', s3Bucket('amzn-s3-demo-bucket'), [`spec.backend.s3.bucket: must not start with "amzn-s3-demo-", which AWS reserves for AWS's documentation examples (${s3Rule})`]],
    ['an S3 bucket ending "-s3alias"', s3Bucket('backups-s3alias'), [`spec.backend.s3.bucket: must not end with "-s3alias", which AWS reserves for access point aliases (${s3Rule})`]],
    ['an S3 bucket ending "--ol-s3"', s3Bucket('backups--ol-s3'), [`spec.backend.s3.bucket: must not end with "--ol-s3", which AWS reserves for Object Lambda access point aliases (${s3Rule})`]],
    ['an S3 bucket ending ".mrap"', s3Bucket('backups.mrap'), [`spec.backend.s3.bucket: must not end with ".mrap", which AWS reserves for Multi-Region Access Points (${s3Rule})`]],
    ['an S3 bucket ending "--x-s3"', s3Bucket('backups--usw2-az1--x-s3'), [`spec.backend.s3.bucket: must not end with "--x-s3", which AWS reserves for directory buckets (${s3Rule})`]],
    ['an S3 bucket ending "--table-s3"', s3Bucket('backups--table-s3'), [`spec.backend.s3.bucket: must not end with "--table-s3", which AWS reserves for table buckets (${s3Rule})`]],
    // GCS bucket names.
    ['a GCS bucket that is an IP address', gcs('192.168.5.4'), [`spec.backend.gcs.bucket: must not be an IP address (${gcsRule})`]],
    ['a GCS bucket containing "google"', gcs('my-google-backups'), [`spec.backend.gcs.bucket: must not contain "google" or a close misspelling of it (found "google") (${gcsRule})`]],
    ['a GCS bucket containing "g00gle"', gcs('g00gle-backups'), [`spec.backend.gcs.bucket: must not contain "google" or a close misspelling of it (found "g00gle") (${gcsRule})`]],
    ['a GCS bucket containing "gogle"', gcs('backups.gogle.example'), [`spec.backend.gcs.bucket: must not contain "google" or a close misspelling of it (found "gogle") (${gcsRule})`]],
    ['a GCS bucket containing "googel"', gcs('my_googel_backups'), [`spec.backend.gcs.bucket: must not contain "google" or a close misspelling of it (found "googel") (${gcsRule})`]],
    ['a GCS bucket starting "goog" (one message, not two)', gcs('googlebackups'), [`spec.backend.gcs.bucket: must not start with "goog" (${gcsRule})`]],
    ['a GCS bucket of 64 characters without dots', gcs('a'.repeat(64)), [`spec.backend.gcs.bucket: must be 3 to 63 characters, or dot-separated parts of at most 63 (${gcsRule})`]],
    ['a GCS bucket with a dotted part of 64 characters', gcs(`a.${'b'.repeat(64)}`), [`spec.backend.gcs.bucket: must be 3 to 63 characters, or dot-separated parts of at most 63 (${gcsRule})`]],
    ['a GCS bucket of 223 characters', gcs(`${'a'.repeat(60)}.`.repeat(3) + 'a'.repeat(40)), [`spec.backend.gcs.bucket: must be at most 222 characters (${gcsRule})`]],
    // Azure containers.
    [
      'an Azure container starting with "-"',
      azure('-backups'),
      ['spec.backend.azure.container: must use lowercase letters, digits and single "-", starting and ending with a letter or digit (Azure container naming rules)'],
    ],
    ['an Azure container of 2 characters', azure('ab'), ['spec.backend.azure.container: must be 3 to 63 characters (Azure container naming rules)']],
    // Endpoints and REST URLs.
    ['an S3 endpoint on port 0', s3Endpoint('s3.amazonaws.com:0'), ['spec.backend.s3.endpoint: the port must be 1 to 65535 (got "0")']],
    ['an S3 endpoint on port 99999', s3Endpoint('minio.example.com:99999'), ['spec.backend.s3.endpoint: the port must be 1 to 65535 (got "99999")']],
    ['an S3 endpoint URL on port 0', s3Endpoint('http://127.0.0.1:0'), ['spec.backend.s3.endpoint: the port must be 1 to 65535 (got "0")']],
    ['an S3 endpoint with an empty port', s3Endpoint('minio.example.com:'), ['spec.backend.s3.endpoint: the port must be 1 to 65535 (got "")']],
    ['an S3 endpoint with a query', s3Endpoint('https://minio.example.com:9000/?region=x'), ['spec.backend.s3.endpoint: must not have a query (?...) or a fragment (#...)']],
    ['an S3 endpoint with a fragment', s3Endpoint('https://minio.example.com#x'), ['spec.backend.s3.endpoint: must not have a query (?...) or a fragment (#...)']],
    ['an S3 endpoint URL without a host', s3Endpoint('https://:9000'), ['spec.backend.s3.endpoint: must name a host']],
    ['an S3 endpoint that is a scheme alone', s3Endpoint('https://'), ['spec.backend.s3.endpoint: must name a host']],
    ['an S3 endpoint ":9000"', s3Endpoint(':9000'), ['spec.backend.s3.endpoint: must name a host']],
    ['an S3 endpoint host with ".."', s3Endpoint('s3..amazonaws.com'), ['spec.backend.s3.endpoint: "s3..amazonaws.com" is not a host name or an IP address']],
    ['an S3 endpoint host starting with "-"', s3Endpoint('https://-minio:9000'), ['spec.backend.s3.endpoint: "-minio" is not a host name or an IP address']],
    ['an S3 endpoint address above 255', s3Endpoint('10.0.0.256:9000'), ['spec.backend.s3.endpoint: "10.0.0.256" is not a host name or an IP address']],
    ['a REST URL on port 0', rest('http://backup.example.com:0/stash'), ['spec.backend.rest.url: the port must be 1 to 65535 (got "0")']],
    ['a REST URL on port 99999', rest('http://backup.example.com:99999/stash'), ['spec.backend.rest.url: the port must be 1 to 65535 (got "99999")']],
    ['a REST URL with a query', rest('https://backup.example.com/stash?x=1'), ['spec.backend.rest.url: must not have a query (?...) or a fragment (#...)']],
    ['a REST URL with a fragment', rest('https://backup.example.com/stash#top'), ['spec.backend.rest.url: must not have a query (?...) or a fragment (#...)']],
    ['a REST URL without a host', rest('http:///stash'), ['spec.backend.rest.url: must name a host']],
    ['a REST URL without a host but a port', rest('http://:8000/stash'), ['spec.backend.rest.url: must name a host']],
    ['a REST URL with an invalid IPv6 host', rest('http://[::g]:8000/'), ['spec.backend.rest.url: "[::g]" is not a host name or an IP address']],
    // check.readDataSubset, as restic 0.18 reads it.
    ['readDataSubset 0%', readDataSubset('0%'), ['spec.check.readDataSubset: a percentage must be above 0% and at most 100% (got "0%")']],
    ['readDataSubset 101%', readDataSubset('101%'), ['spec.check.readDataSubset: a percentage must be above 0% and at most 100% (got "101%")']],
    ['readDataSubset 100.5%', readDataSubset('100.5%'), ['spec.check.readDataSubset: a percentage must be above 0% and at most 100% (got "100.5%")']],
    ['readDataSubset 0/5', readDataSubset('0/5'), ['spec.check.readDataSubset: n/t must have 1 <= n <= t: restic reads the n-th of t parts (got "0/5")']],
    ['readDataSubset 6/5', readDataSubset('6/5'), ['spec.check.readDataSubset: n/t must have 1 <= n <= t: restic reads the n-th of t parts (got "6/5")']],
    ['readDataSubset 1/0', readDataSubset('1/0'), ['spec.check.readDataSubset: n/t must have 1 <= n <= t: restic reads the n-th of t parts (got "1/0")']],
    ['readDataSubset 1/257', readDataSubset('1/257'), ["spec.check.readDataSubset: n/t must have t at most 256, restic's limit (got \"1/257\")"]],
    [
      'readDataSubset 0',
      readDataSubset('0'),
      ['spec.check.readDataSubset: a size needs a unit (b, k, m, g or t) such as 500M: restic reads a bare number as n/t and refuses it (got "0")'],
    ],
    [
      'readDataSubset 500',
      readDataSubset('500'),
      ['spec.check.readDataSubset: a size needs a unit (b, k, m, g or t) such as 500M: restic reads a bare number as n/t and refuses it (got "500")'],
    ],
    ['readDataSubset 0M', readDataSubset('0M'), ['spec.check.readDataSubset: a size must be above 0 (got "0M")']],
    ['readDataSubset 8388608t', readDataSubset('8388608t'), ['spec.check.readDataSubset: a size must be below 8 EiB (2^63 bytes), what restic can count (got "8388608t")']],
    ['readDataSubset 1.5G', readDataSubset('1.5G'), [`spec.check.readDataSubset: must be ${subsetForms} (got "1.5G")`]],
    ['readDataSubset 1/2/3', readDataSubset('1/2/3'), [`spec.check.readDataSubset: must be ${subsetForms} (got "1/2/3")`]],
    ['readDataSubset ""', readDataSubset(''), [`spec.check.readDataSubset: must be ${subsetForms} (got "")`]],
    // Resources of zero.
    ['cpu "0"', resources({ cpu: '0' }), ['spec.resources.requests.cpu: must be positive']],
    ['cpu 0', resources({ cpu: 0 }), ['spec.resources.requests.cpu: must be positive']],
    ['cpu "0m"', resources({ cpu: '0m' }), ['spec.resources.requests.cpu: must be positive']],
    ['memory "0.0Gi"', resources({ memory: '0.0Gi' }), ['spec.resources.requests.memory: must be positive']],
    ['memory -512', resources({ memory: -512 }), ['spec.resources.requests.memory: must be positive']],
    ['ephemeral-storage "-1Gi"', resources({ 'ephemeral-storage': '-1Gi' }), ['spec.resources.requests.ephemeral-storage: must be a Kubernetes quantity such as 500m, 1, 512Mi or 2Gi']],
    // Control characters in paths and prefixes.
    ['a path ending in a newline', (d) => (d.spec.fileGroups[0].path = '/data\n'), ['spec.fileGroups[0].path: must not contain a control character (found a newline at the end)']],
    ['a path with a tab', (d) => (d.spec.fileGroups[0].path = '/da\tta'), ['spec.fileGroups[0].path: must not contain a control character (found a tab)']],
    ['a path with a NUL', (d) => (d.spec.fileGroups[0].path = '/data\u0000'), ['spec.fileGroups[0].path: must not contain a control character (found a NUL at the end)']],
    ['a path with DEL', (d) => (d.spec.fileGroups[0].path = '/da\u007fta'), ['spec.fileGroups[0].path: must not contain a control character (found U+007F)']],
    [
      'a mount path ending in a carriage return',
      (d) => (d.spec.volumeMounts = [{ name: 'data', mountPath: '/data\r' }]),
      ['spec.volumeMounts[0].mountPath: must not contain a control character (found a carriage return at the end)'],
    ],
    ['a subPath with an escape', (d) => (d.spec.volumeMounts = [{ name: 'data', mountPath: '/data', subPath: 'a\u001bb' }]), ['spec.volumeMounts[0].subPath: must not contain a control character (found U+001B)']],
    ['a prefix ending in a newline', (d) => (d.spec.backend.s3.prefix = 'team\n'), ['spec.backend.s3.prefix: must not contain a control character (found a newline at the end)']],
    [
      'a hostPath ending in a newline',
      (d) => (d.spec.volumes = [{ name: 'data', hostPath: { path: '/srv/data\n' } }]),
      ['spec.volumes[0].hostPath.path: must not contain a control character (found a newline at the end)'],
    ],
  ])('%s', (_what, edit, problems) => {
    expect(load(edit)).toEqual({ problems: at(problems), warnings: [], specs: 0 });
  });

  it.each<[string, Edit, string[]]>([
    // Retention that keeps nothing or does nothing.
    ['an empty policy', policy({}), [`spec.fileGroups[0].retentionPolicy: does nothing: it has no keep rule (a keep count above 0, or keepTags), so restic forget never runs; ${noRule}`]],
    [
      'keepLast: 0 with prune',
      policy({ keepLast: 0, prune: true }),
      [`spec.fileGroups[0].retentionPolicy: does nothing: it has no keep rule (a keep count above 0, or keepTags; keepLast: 0 is none), so restic forget never runs and nothing is pruned; ${noRule}`],
    ],
    ['prune alone', policy({ prune: true }), [`spec.fileGroups[0].retentionPolicy: does nothing: it has no keep rule (a keep count above 0, or keepTags), so restic forget never runs and nothing is pruned; ${noRule}`]],
    ['dryRun alone', policy({ dryRun: true }), [`spec.fileGroups[0].retentionPolicy: does nothing: it has no keep rule (a keep count above 0, or keepTags), so restic forget never runs; ${noRule}`]],
    [
      'a named policy of zeros and no tags',
      named({ keepLast: 0, keepDaily: 0, keepTags: [] }),
      [`spec.retentionPolicies[0]: does nothing: it has no keep rule (a keep count above 0, or keepTags; keepLast, keepDaily: 0 is none), so restic forget never runs; ${noRule}`],
    ],
    [
      'keepTags alone, on an untagged fileGroup',
      policy({ keepTags: ['weekly', 'monthly'] }),
      [
        'spec.fileGroups[0].retentionPolicy.keepTags: keeps no snapshot: keepTags ("weekly", "monthly") is its only rule and this fileGroup tags its snapshots with none of them, so restic forget would remove every one (restic 0.17 and later refuse to, failing every run); add a keep count',
      ],
    ],
    [
      'keepTags alone, named by a fileGroup with other tags',
      (d) => {
        named({ keepTags: ['weekly'] })(d);
        d.spec.fileGroups[0].tags = ['daily'];
      },
      [
        'spec.fileGroups[0].retentionPolicyName: keeps no snapshot: keepTags ("weekly") is its only rule and this fileGroup tags its snapshots with none of them, so restic forget would remove every one (restic 0.17 and later refuse to, failing every run); add a keep count',
      ],
    ],
    [
      'keepTags alone, on a fileGroup that has the tag',
      policy({ keepTags: ['weekly'], prune: true }, ['weekly']),
      ['spec.fileGroups[0].retentionPolicy.keepTags: keeps every snapshot: keepTags is its only rule and this fileGroup tags each of its snapshots "weekly"; add a keep count, or remove the policy'],
    ],
    // fileGroups on one folder.
    [
      'a duplicate fileGroup',
      (d) => (d.spec.fileGroups = [{ path: '/data' }, { path: '/srv' }, { path: '/data/' }]),
      ['spec.fileGroups[2].path: duplicate fileGroup: "/data/" is also spec.fileGroups[0].path; back a folder up once (restic forget tells snapshots apart by host and path, not by fileGroup)'],
    ],
    [
      'two mounts of one hostPath volume with different policies',
      layout([hostPath('data', '/srv/data')], [mount('data', '/a'), mount('data', '/b')], [{ path: '/a', ...keep(5) }, { path: '/b', ...keep(2) }]),
      [`spec.fileGroups[1].path: is the same folder as spec.fileGroups[0].path (/srv/data on this machine), ${forgetMixes}`],
    ],
    [
      'two mounts of one hostPath volume with one policy: each forgets the other\'s snapshots',
      layout([hostPath('data', '/srv/data')], [mount('data', '/a'), mount('data', '/b')], [{ path: '/a', ...keep(5) }, { path: '/b', ...keep(5) }]),
      [`spec.fileGroups[1].path: is the same folder as spec.fileGroups[0].path (/srv/data on this machine), ${forgetMixes}`],
    ],
    [
      'a folder reached through a subPath and through a second volume',
      layout([hostPath('a', '/srv'), hostPath('b', '/srv/x')], [mount('a', '/a', 'x'), mount('b', '/b')], [{ path: '/a/y', ...keep(5) }, { path: '/b/y' }]),
      [`spec.fileGroups[1].path: is the same folder as spec.fileGroups[0].path (/srv/x/y on this machine), ${forgetMixes}`],
    ],
    [
      'two mounts of one EFS volume with different policies',
      layout([efs('data', 'fs-0123abcd')], [mount('data', '/a'), mount('data', '/b')], [{ path: '/a', ...keep(5) }, { path: '/b', ...keep(2) }]),
      ['spec.fileGroups[1].path: is the same folder as spec.fileGroups[0].path (fs-0123abcd:/ on AWS), with a different retention policy: one folder keeps one history; back it up in one fileGroup'],
    ],
    ['two volumeMounts at one path', layout([hostPath('a', '/srv/a'), hostPath('b', '/srv/b')], [mount('a', '/data'), mount('b', '/data/')], [{ path: '/data' }]), ['spec.volumeMounts[1].mountPath: duplicate mount path "/data/" (also spec.volumeMounts[0].mountPath)']],
    [
      'the repository mounted where a volume is',
      layout([efs('a', 'fs-0123abcd')], [mount('a', '/data')], [{ path: '/data' }], { mountPath: '/data', efs: { fileSystemId: 'fs-4567abcd' } }),
      ['spec.backend.local.mountPath: the repository is mounted at "/data", which is also spec.volumeMounts[0].mountPath: one path takes one volume'],
    ],
    // A repository inside a source, or a source inside the repository.
    [
      'a hostPath repository inside a fileGroup\'s folder',
      layout([hostPath('data', '/srv')], [mount('data', '/data')], [{ path: '/data' }], { mountPath: '/repo', hostPath: { path: '/srv/backup' } }),
      [`spec.fileGroups[0].path: holds the repository (spec.backend.local, /srv/backup on this machine): ${holds}`],
    ],
    [
      'a fileGroup\'s folder inside a hostPath repository',
      layout([hostPath('data', '/srv/backup/data')], [mount('data', '/data')], [{ path: '/data' }], { mountPath: '/repo', hostPath: { path: '/srv/backup' } }),
      [`spec.fileGroups[0].path: is inside the repository (spec.backend.local, /srv/backup on this machine): ${inside}`],
    ],
    [
      'an unmounted fileGroup holding a Stash 0.5 hostPath repository',
      (d) => {
        d.spec.fileGroups = [{ path: '/srv' }];
        d.spec.backend = { local: { path: '/repo', volumeSource: { hostPath: { path: '/srv/backup' } } }, storageSecretName: 'local-secret' };
      },
      [`spec.fileGroups[0].path: holds the repository (spec.backend.local, /srv/backup on this machine): ${holds}`],
    ],
    [
      'an EFS repository in a folder of the backed-up file system',
      layout([efs('data', 'fs-0123abcd')], [mount('data', '/data')], [{ path: '/data' }], { mountPath: '/repo', efs: { fileSystemId: 'fs-0123abcd', rootDirectory: '/backup' } }),
      [`spec.fileGroups[0].path: holds the repository (spec.backend.local, fs-0123abcd:/backup on AWS): ${holds}`],
    ],
    [
      'an EFS repository mounted below a fileGroup\'s path',
      layout([efs('data', 'fs-0123abcd')], [mount('data', '/data')], [{ path: '/data' }], { mountPath: '/data/repo', efs: { fileSystemId: 'fs-4567abcd' } }),
      [`spec.fileGroups[0].path: holds the repository (spec.backend.local, fs-4567abcd:/ on AWS): ${holds}`],
    ],
    [
      'a fileGroup at the mount path of a Stash 0.5 EFS repository',
      (d) => {
        d.spec.fileGroups = [{ path: '/repo/data' }];
        d.spec.backend = { local: { path: '/repo', volumeSource: { efs: { fileSystemId: 'fs-0123abcd' } } }, storageSecretName: 'local-secret' };
      },
      [`spec.fileGroups[0].path: is inside the repository (spec.backend.local, fs-0123abcd:/ on AWS): ${inside}`],
    ],
  ])('%s', (_what, edit, problems) => {
    expect(load(edit)).toMatchObject({ problems: at(problems), specs: 0 });
  });
});

describe('warned, and still accepted', () => {
  it.each<[string, Edit, string[]]>([
    ['dryRun beside a rule', policy({ keepLast: 5, dryRun: true }), ['spec.fileGroups[0].retentionPolicy.dryRun: restic forget only reports what it would remove: no snapshot is removed while dryRun is true']],
    [
      'two mounts of one hostPath volume without retention',
      layout([hostPath('data', '/srv/data')], [mount('data', '/a'), mount('data', '/b')], [{ path: '/a' }, { path: '/b' }]),
      ['spec.fileGroups[1].path: is the same folder as spec.fileGroups[0].path (/srv/data on this machine), so each run backs it up twice'],
    ],
    [
      'two mounts of one EFS volume with one policy (restic sees two paths on AWS)',
      layout([efs('data', 'fs-0123abcd')], [mount('data', '/a'), mount('data', '/b')], [{ path: '/a', ...keep(5) }, { path: '/b', ...keep(5) }]),
      ['spec.fileGroups[1].path: is the same folder as spec.fileGroups[0].path (fs-0123abcd:/ on AWS), so each run backs it up twice'],
    ],
  ])('%s', (_what, edit, warnings) => {
    expect(load(edit)).toEqual({ problems: [], warnings: at(warnings), specs: 1 });
  });
});

describe('still accepted, the nearest values to each rule', () => {
  it.each<[string, Edit]>([
    ['an S3 bucket containing "xn--" inside', s3Bucket('backups-xn--a')],
    ['an S3 bucket ending "-s3alias2"', s3Bucket('backups-s3alias2')],
    ['an S3 bucket ending "-x-s3"', s3Bucket('backups-x-s3')],
    ['an S3 bucket in an account regional namespace', s3Bucket('backups-111122223333-us-west-2-an')],
    ['a GCS bucket with "goggle"', gcs('goggle-backups')],
    ['a GCS bucket with underscores and dots', gcs('team_a.backups.example.com')],
    ['a GCS bucket of 222 characters in parts of 63', gcs(`${'a'.repeat(63)}.`.repeat(3) + 'a'.repeat(30))],
    ['an S3 endpoint on port 1', s3Endpoint('minio.example.com:1')],
    ['an S3 endpoint on port 65535', s3Endpoint('http://127.0.0.1:65535')],
    ['an S3 endpoint with a trailing slash', s3Endpoint('https://minio.example.com:9000/')],
    ['an S3 endpoint at an IPv6 address', s3Endpoint('http://[::1]:9000')],
    ['an S3 endpoint host with an underscore', s3Endpoint('minio_1:9000')],
    ['a REST URL with a path', rest('https://backup.example.com:8000/stash/team-a/')],
    ['a REST URL at an IP address', rest('http://127.0.0.1:8000/')],
    ...['1/1', '1/5', '5/5', '256/256', '0.1%', '10%', '100%', '100.0%', '1b', '500k', '500M', '1G', '2T', '8388607t'].map((v): [string, Edit] => [`readDataSubset ${v}`, readDataSubset(v)]),
    ['cpu "0.25"', resources({ cpu: '0.25' })],
    ['cpu "1m"', resources({ cpu: '1m' })],
    ['cpu 2', resources({ cpu: 2 })],
    ['a path with a space and non-ASCII letters', (d) => (d.spec.fileGroups[0].path = '/data/Données partagées')],
    ['keepLast: 0 beside another rule', policy({ keepLast: 0, keepDaily: 7, prune: true })],
    ['keepTags beside a count', policy({ keepTags: ['weekly'], keepLast: 3 })],
    ['a named policy no fileGroup uses, with a rule', (d) => (d.spec.retentionPolicies = [{ name: 'spare', keepWeekly: 4 }])],
    ['a fileGroup below another', (d) => (d.spec.fileGroups = [{ path: '/data', ...keep(5) }, { path: '/data/db', ...keep(2) }])],
    ['two hostPath volumes side by side', layout([hostPath('a', '/srv/a'), hostPath('b', '/srv/ab')], [mount('a', '/a'), mount('b', '/b')], [{ path: '/a', ...keep(5) }, { path: '/b', ...keep(2) }])],
    ['a hostPath repository beside the data', layout([hostPath('data', '/srv/data')], [mount('data', '/data')], [{ path: '/data' }], { mountPath: '/repo', hostPath: { path: '/srv/data-backup' } })],
    ['an EFS repository on another file system', layout([efs('data', 'fs-0123abcd')], [mount('data', '/data')], [{ path: '/data' }], { mountPath: '/repo', efs: { fileSystemId: 'fs-4567abcd' } })],
    [
      'an EFS repository in a folder beside the backed-up one',
      layout([efs('data', 'fs-0123abcd', { rootDirectory: '/data' })], [mount('data', '/data')], [{ path: '/data' }], { mountPath: '/repo', efs: { fileSystemId: 'fs-0123abcd', rootDirectory: '/backup' } }),
    ],
    [
      'an EFS repository through another access point (whose root is unknown here)',
      layout([efs('data', 'fs-0123abcd', { accessPointId: 'fsap-0123abcd' })], [mount('data', '/data')], [{ path: '/data' }], { mountPath: '/repo', efs: { fileSystemId: 'fs-0123abcd' } }),
    ],
  ])('%s', (_what, edit) => {
    expect(load(edit)).toEqual({ problems: [], warnings: [], specs: 1 });
  });
});
