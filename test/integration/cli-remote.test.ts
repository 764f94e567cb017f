import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3ClientConfig, startS3, type S3Server } from '../servers/s3';

const BIN = join(__dirname, '../../bin/stash.mjs');
const BUCKET = 'stash-config';

/** The built `stash` command as an operator runs it, with the SDK pointed at s3rver. */
function stash(s3: S3Server, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_EXTRA_CA_CERTS: s3.caCertFile,
        AWS_ENDPOINT_URL_S3: s3.endpoint,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        AWS_REGION: 'us-east-1',
      },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

const spec = (name: string, schedule = '@hourly') => `apiVersion: stash.appscode.com/v1alpha1
kind: Restic
metadata: {name: ${name}, namespace: default, resourceVersion: "2000"}
spec:
  fileGroups: [{path: /source/data}]
  backend: {storageSecretName: s3-secret, s3: {endpoint: s3.amazonaws.com, bucket: stash-qa, prefix: ${name}}}
  schedule: '${schedule}'
`;

describe('the stash CLI against a deployed stack\'s config bucket', () => {
  let s3: S3Server;

  beforeAll(async () => {
    s3 = await startS3({ buckets: [BUCKET] });
    const client = new S3Client(s3ClientConfig(s3));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'specs/db.yaml', Body: spec('db', '0 2 * * *') }));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'specs/web.yaml', Body: spec('web') }));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'specs/broken.yaml', Body: spec('broken').replace('fileGroups', 'filegroups') }));
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'status/db.json', Body: JSON.stringify({ name: 'db', backupCount: 7, lastOutcome: 'succeeded' }) }));
  });
  afterAll(() => s3?.stop());

  it('validates the specs in the bucket, naming the object and field of each problem', async () => {
    const r = await stash(s3, ['validate', `s3://${BUCKET}/specs`]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`ok s3://${BUCKET}/specs/db.yaml: db`);
    expect(r.out).toContain(`ok s3://${BUCKET}/specs/web.yaml: web`);
    expect(r.err).toContain(`s3://${BUCKET}/specs/broken.yaml: spec.filegroups: unknown field`);
    // Node's warnings are not silenced here: the AWS SDK's Node.js version notice would show.
    expect(r.err).not.toMatch(/NodeVersionSupportWarning|AWS SDK for JavaScript/);
    expect(r.out).toContain('2 valid, 1 invalid');
  });

  it('plans from the bucket', async () => {
    const r = await stash(s3, ['plan', '--specs', `s3://${BUCKET}/specs`, '--from', '2026-01-01T01:30:00Z', '--until', '2026-01-01T02:30:00Z', '--json']);
    // Sorted by time, then name; the broken spec is reported and left out.
    expect(JSON.parse(r.out)).toEqual([
      { spec: 'db', at: '2026-01-01T02:00:00.000Z' },
      { spec: 'web', at: '2026-01-01T02:00:00.000Z' },
    ]);
    expect(r.err).toContain('broken.yaml: spec.filegroups: unknown field');
    expect(r.code).toBe(1);
  });

  it('shows the status the stack recorded', async () => {
    const r = await stash(s3, ['status', '--specs', `s3://${BUCKET}/specs`, '--json']);
    // The broken spec file needs attention: reported, and the exit code says so.
    expect(r.err).toContain(`s3://${BUCKET}/specs/broken.yaml: spec.filegroups: unknown field`);
    expect(r.code).toBe(1);
    const rows = JSON.parse(r.out) as { name: string; backupCount?: number; lastOutcome?: string }[];
    expect(rows.find((x) => x.name === 'db')).toMatchObject({ backupCount: 7, lastOutcome: 'succeeded' });
    expect(rows.map((x) => x.name)).toEqual(['db', 'web']);
  });

  it('names the bucket and the files with errors for a spec that is not there', async () => {
    const r = await stash(s3, ['snapshots', 'nosuch', '--specs', `s3://${BUCKET}/specs`]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`s3://${BUCKET}/specs/: no valid spec named "nosuch" (1 spec file(s) have errors: run stash validate)\n`);
  });

  it('says what is missing before a remote launch, and refuses --remote without an s3:// store', async () => {
    const noLauncher = await stash(s3, ['backup', 'db', '--remote', '--specs', `s3://${BUCKET}/specs`]);
    expect(noLauncher.code).toBe(1);
    expect(noLauncher.err).toContain(`s3://${BUCKET}/state/launcher.json does not exist: the stack's dispatcher writes it on its first tick`);
    const local = await stash(s3, ['backup', 'db', '--remote', '--specs', 'specs']);
    expect(local.code).toBe(2);
    expect(local.err).toContain("--remote needs --specs s3://bucket/prefix (the deployed stack's config bucket)");
    const run = await stash(s3, ['run', '--once', '--specs', `s3://${BUCKET}/specs`]);
    expect(run.code).toBe(2);
    expect(run.err).toContain('with --specs s3://... this command runs on AWS: add --remote');
  });
});
