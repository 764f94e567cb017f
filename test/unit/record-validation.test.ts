import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FolderStatusStore } from '../../cli/local/stores';
import { nameFromSource, recordDeletion, recordValidation, validateDocument } from '../../core/validate';

const GOOD = `apiVersion: stash.appscode.com/v1alpha1
kind: Restic
metadata:
  name: good
spec:
  fileGroups:
  - path: /source/data
  backend:
    s3: {endpoint: s3.amazonaws.com, bucket: stash-qa}
    storageSecretName: s3-secret
  schedule: '@every 1h'
`;
const now = new Date('2026-01-01T10:15:00Z');

describe('validateDocument', () => {
  it('gives one result per spec of a multi-document file, named by metadata.name', () => {
    const text = `${GOOD}---\n${GOOD.replace('name: good', 'name: bad').replace("'@every 1h'", "'@every 1s'")}`;
    expect(validateDocument({ source: 's3://b/specs/team.yaml', version: 'v7', text }, now)).toEqual([
      { name: 'good', validation: { valid: true, source: 's3://b/specs/team.yaml#0', version: 'v7', checkedAt: '2026-01-01T10:15:00.000Z', errors: [], warnings: [] } },
      {
        name: 'bad',
        validation: {
          valid: false,
          source: 's3://b/specs/team.yaml#1',
          version: 'v7',
          checkedAt: '2026-01-01T10:15:00.000Z',
          errors: [expect.stringMatching(/^s3:\/\/b\/specs\/team.yaml#1: spec.schedule: invalid schedule "@every 1s": /)],
          warnings: [],
        },
      },
    ]);
  });

  it('files a document with no usable name under its file name', () => {
    expect(validateDocument({ source: 's3://b/specs/My Backup.yaml', text: 'kind: Restic\nmetadata: {name: Not_A_Label}\n' }, now).map((r) => r.name)).toEqual(['my-backup']);
  });

  it.each([
    [[{ bucket: 'stash-qa', prefix: '' }], []],
    [
      [{ bucket: 'other', prefix: '' }],
      ["s3://b/specs/good.yaml: spec.backend.s3.bucket: s3://stash-qa is not among the stack's s3RepositoryBuckets (other): the task role may not use it, so runs need AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the secret"],
    ],
  ])('with the stack\'s S3 repository buckets %j, warns of an AWS bucket outside them: %j', (locations, warnings) => {
    const [result] = validateDocument({ source: 's3://b/specs/good.yaml', text: GOOD }, now, locations);
    expect(result.validation).toMatchObject({ valid: true, warnings });
    // Without the stack's buckets (stash validate, locally), nothing is said.
    expect(validateDocument({ source: 's3://b/specs/good.yaml', text: GOOD }, now)[0].validation.warnings).toEqual([]);
  });

  it.each([
    ['s3://b/specs/team-a/db.yaml', 'db'],
    ['s3://b/specs/DB backup.YML#2', 'db-backup'],
    ['s3://b/specs/.json', 'unnamed'],
  ])('names %s %s', (source, name) => expect(nameFromSource(source)).toBe(name));
});

describe('recordValidation and recordDeletion', () => {
  let dir: string;
  let statuses: FolderStatusStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stash-validate-'));
    statuses = new FolderStatusStore(dir);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes the result into the status and says when the file is deleted', async () => {
    await statuses.update('good', (s) => ({ ...s, backupCount: 3 }));
    await recordValidation({ statuses }, { source: 's3://b/specs/good.yaml', version: 'v1', text: GOOD }, now);
    expect(await statuses.get('good')).toMatchObject({ backupCount: 3, validation: { valid: true, source: 's3://b/specs/good.yaml', version: 'v1' } });
    const report = await recordDeletion({ statuses }, 's3://b/specs/good.yaml', new Date('2026-01-01T10:20:00Z'));
    expect(report.specs.map((s) => s.name)).toEqual(['good']);
    expect(await statuses.get('good')).toMatchObject({
      backupCount: 3,
      validation: { valid: false, source: 's3://b/specs/good.yaml', checkedAt: '2026-01-01T10:20:00.000Z', errors: ['s3://b/specs/good.yaml: deleted; the spec no longer runs'] },
    });
    expect((await recordDeletion({ statuses }, 's3://b/specs/other.yaml', now)).specs).toEqual([]);
  });
});
