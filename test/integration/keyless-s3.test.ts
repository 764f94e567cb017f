/**
 * A same-account S3 repository with a secret that holds only RESTIC_PASSWORD, on real parts:
 * the `stash` command (local mode, in process, so spec loading, the secret check, the runner
 * and status all take part), the real restic, moto_server answering AWS's own S3 names
 * (`test/servers/aws-s3-names.ts`: the spec's endpoint is `s3.amazonaws.com`), and the
 * credentials restic uses served by a container credentials endpoint as ECS serves a task's
 * role (`AWS_CONTAINER_CREDENTIALS_FULL_URI` and its token), with no AWS key anywhere in the
 * environment, the secret or a credentials file.
 *
 *   backup (init) ─▶ change ─▶ backup, forget --keep-last 1 --prune ─▶ snapshots ─▶ restore
 *     byte for byte ─▶ check --read-data ─▶ every request to S3 signed with the role's
 *     temporary credentials ─▶ every one of them allowed by the task role's S3 statements
 *     for a bucket/prefix entry of s3RepositoryBuckets (iam-simulate), each statement used
 *
 * moto stores what restic uploads over plain HTTP (aws-chunked, signed per chunk) as restic
 * sent it: `check --read-data` reads every pack back.
 */
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StashStack } from '../../infra/stash-stack';
import { AMBIENT_AWS_CREDENTIALS } from '../../runner/backend';
import { startAwsS3Names, type AwsS3Names } from '../servers/aws-s3-names';
import { startContainerCredentials, type ContainerCredentials } from '../servers/container-credentials';
import { startMoto, type MotoServer } from '../servers/moto';
import { CallRecorder } from '../support/aws-calls';
import { checkCalls, componentStatements, type IamCheckOptions } from '../support/iam-check';
import { StackTemplate } from '../support/stack-template';
import { CDK_JSON_CONTEXT } from '../infra/synth';
import { awkwardData, tree, workspace, type Workspace } from './helpers';

const BUCKET = 'stash-keyless';
const PREFIX = 'team-a/db';
const REGION = 'eu-west-1';
const PASSWORD = 'keyless-restic-password-5e1d';
const name = 'keyless';

/** The variables of this process the test replaces, restored afterwards. */
const REPLACED = ['STASH_RESTIC_BINARY', 'RESTIC_CACHE_DIR', 'HOME', ...AMBIENT_AWS_CREDENTIALS];
const saved: Record<string, string | undefined> = {};

let moto: MotoServer;
let names: AwsS3Names;
let role: ContainerCredentials;
let ws: Workspace;
const recorder = new CallRecorder();
const snapshotIds: string[] = [];

beforeAll(async () => {
  ws = await workspace('stash-keyless-');
  moto = await startMoto();
  await new S3Client({ ...moto.clientConfig, forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: REGION } }));
  names = await startAwsS3Names({ upstream: moto.endpoint, dir: ws.root, buckets: [BUCKET], region: REGION, recorded: { component: 'runner', recorder } });
  role = await startContainerCredentials();

  for (const key of REPLACED) {
    saved[key] = process.env[key];
    delete process.env[key];
  }
  Object.assign(process.env, role.env, { STASH_RESTIC_BINARY: names.resticBinary, RESTIC_CACHE_DIR: join(ws.root, 'cache'), HOME: join(ws.root, 'home') });
  await mkdir(join(ws.root, 'home'));

  await awkwardData(ws.data);
  await writeFile(join(ws.data, 'removed later.txt'), 'gone in the second backup\n');
  await ws.writeSpec(`${name}.yaml`, {
    apiVersion: 'stash.appscode.com/v1alpha1',
    kind: 'Restic',
    metadata: { name },
    spec: {
      fileGroups: [{ path: '/source/data', retentionPolicy: { keepLast: 1, prune: true } }],
      backend: { s3: { endpoint: names.endpoint, bucket: BUCKET, prefix: PREFIX }, storageSecretName: `${name}-secret` },
      schedule: '@every 1h',
      volumeMounts: [{ mountPath: '/source/data', name: 'source-data', readOnly: true }],
      volumes: [{ name: 'source-data', hostPath: { path: ws.data } }],
    },
  });
  await ws.writeSecret(`${name}-secret`, { RESTIC_PASSWORD: PASSWORD });
});

afterAll(async () => {
  for (const key of REPLACED) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
  await names?.stop();
  await role?.stop();
  await moto?.stop();
  await ws?.cleanup();
});

/** The ids of the spec's snapshots, as `stash snapshots --json` lists them. */
async function snapshots(): Promise<string[]> {
  const list = await ws.stash(['snapshots', name, '--json']);
  expect(list.code, list.io.text()).toBe(0);
  return (JSON.parse(list.io.out.join('')) as { id: string }[]).map((s) => s.id);
}

describe('an S3 repository at s3.amazonaws.com whose secret holds only RESTIC_PASSWORD', () => {
  it('backs up with the role\'s credentials, initialising the repository', async () => {
    const r = await ws.stash(['backup', name]);
    expect(r.code, r.io.text()).toBe(0);
    expect(names.proxy.count('PUT', new RegExp(`^/${PREFIX}/config$`))).toBe(1);
    snapshotIds.push(...(await snapshots()));
    expect(snapshotIds).toHaveLength(1);
    expect(snapshotIds[0]).toMatch(/^[0-9a-f]{64}$/);
  });

  it('backs up changed data and prunes to the newest snapshot, deleting what it no longer needs', async () => {
    await writeFile(join(ws.data, 'name with spaces.txt'), 'changed for the second backup\n');
    await rm(join(ws.data, 'removed later.txt'));
    const r = await ws.stash(['backup', name]);
    expect(r.code, r.io.text()).toBe(0);
    const kept = await snapshots();
    expect(kept).toHaveLength(1);
    expect(kept[0]).not.toBe(snapshotIds[0]);
    snapshotIds.push(kept[0]);
    expect(names.proxy.count('DELETE', new RegExp(`^/${PREFIX}/snapshots/${snapshotIds[0]}$`))).toBe(1);
  });

  it('restores the newest snapshot byte for byte', async () => {
    const target = join(ws.root, 'restored');
    const r = await ws.stash(['restore', name, '--target', target]);
    expect(r.code, r.io.text()).toBe(0);
    expect(await tree(join(target, 'source/data'))).toEqual(await tree(ws.data));
  });

  it('passes restic check reading all of the data, as moto stored it', async () => {
    const r = await ws.stash(['check', name, '--read-data-subset', '100%']);
    expect(r.code, r.io.text()).toBe(0);
    const status = await ws.stash(['status', '--json']);
    expect(JSON.parse(status.io.out.join(''))).toMatchObject([{ name, backupCount: 2, lastOutcome: 'succeeded', lastCheckOutcome: 'succeeded' }]);
    const stored = await new S3Client({ ...moto.clientConfig, forcePathStyle: true }).send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${PREFIX}/snapshots/` }));
    expect(stored.Contents?.map((o) => o.Key)).toEqual([`${PREFIX}/snapshots/${snapshotIds[1]}`]);
  });

  it('signed every request to S3 with the role\'s temporary credentials, fetched with the task\'s token', () => {
    expect(names.proxy.headers.length).toBeGreaterThan(20);
    names.proxy.headers.forEach((headers, i) => {
      // minio-go asks a bucket's location signing for us-east-1, then signs for the bucket's region.
      const region = names.proxy.requests[i].includes('?location') ? 'us-east-1' : REGION;
      expect(String(headers.authorization)).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${role.credentials.accessKeyId}/\\d{8}/${region}/s3/aws4_request,`));
      expect(headers['x-amz-security-token']).toBe(role.credentials.sessionToken);
    });
    expect(names.proxy.count('GET', /^\/\?location/)).toBeGreaterThanOrEqual(1);
    expect(role.served.ok).toBeGreaterThanOrEqual(1);
    expect(role.served.refused).toBe(0);
  });

  it('needed nothing the task role lacks with s3RepositoryBuckets=stash-keyless/team-a, and every S3 statement of it', async () => {
    const settings = { s3RepositoryBuckets: `${BUCKET}/team-a` };
    const app = new App({ context: { ...CDK_JSON_CONTEXT, ...settings, [BUNDLING_STACKS]: [] } });
    const stack = new StackTemplate(Template.fromStack(new StashStack(app, 'Stash', { settings })).toJSON() as never, 'stash-config');
    const options: IamCheckOptions = {
      roles: { runner: stack.logicalId('AWS::IAM::Role', 'RunnerTaskRole') } as IamCheckOptions['roles'],
      configBuckets: () => false,
      passedRoles: [],
    };
    const calls = recorder.calls.filter((c) => c.component === 'runner');
    expect([...new Set(calls.map((c) => c.operation))].sort()).toEqual(['DeleteObject', 'GetBucketLocation', 'GetObject', 'HeadBucket', 'HeadObject', 'ListObjectsV2', 'PutObject']);
    const check = await checkCalls(stack, calls, options);
    expect(check.refused).toEqual([]);
    const repositoryStatements = componentStatements(stack, options).filter((s) => JSON.stringify(s.statement.Resource).includes(BUCKET));
    expect(repositoryStatements.map((s) => [s.statement.Sid, check.used.has(s.id)])).toEqual([
      ['FindRepositoryBucketRegions', true],
      ['ListRepositoryPrefixesInstashkeyless', true],
      ['ReadWriteRepositoryObjects', true],
    ]);
  });

  it('would be refused were s3RepositoryBuckets another prefix of the bucket: the role may not list or write outside its prefix', async () => {
    const settings = { s3RepositoryBuckets: `${BUCKET}/team-b` };
    const app = new App({ context: { ...CDK_JSON_CONTEXT, ...settings, [BUNDLING_STACKS]: [] } });
    const stack = new StackTemplate(Template.fromStack(new StashStack(app, 'Stash', { settings })).toJSON() as never, 'stash-config');
    const options = { roles: { runner: stack.logicalId('AWS::IAM::Role', 'RunnerTaskRole') } as IamCheckOptions['roles'], configBuckets: () => false, passedRoles: [] };
    const check = await checkCalls(stack, recorder.calls.filter((c) => c.component === 'runner'), options);
    expect(check.refused.some((r) => r.includes(`s3:PutObject on arn:aws:s3:::${BUCKET}/${PREFIX}/`))).toBe(true);
    expect(check.refused.some((r) => r.includes(`s3:ListBucket on arn:aws:s3:::${BUCKET}`))).toBe(true);
  });
});
