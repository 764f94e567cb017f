/**
 * The AWS SDK prints a notice on stderr (`NodeVersionSupportWarning`) when it runs on a Node.js
 * it is about to drop (older than 22 today). Every place the SDK runs here is on a supported
 * Node.js (the Lambdas and the image on 24, the `stash` command refuses anything older than 22),
 * so no user sees it: a fresh process on this Node that builds every client the project uses
 * prints nothing.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '../..');

describe("the AWS SDK's Node.js version notice", () => {
  it('is not printed on the Node.js the project runs on', () => {
    const script = [
      "import { ECSClient } from '@aws-sdk/client-ecs';",
      "import { S3Client } from '@aws-sdk/client-s3';",
      "import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';",
      "for (const Client of [ECSClient, S3Client, SecretsManagerClient]) new Client({ region: 'eu-west-1' });",
      "console.log('built');",
    ].join('\n');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('built\n');
    expect(r.status).toBe(0);
  });
});
