/**
 * `npx cdk synth` as a user runs it: cdk.json's app command, the real handlers bundled by
 * the local esbuild, the real container directory, cdk-nag registered by infra/app.ts.
 * Offline: no credentials, no notices, no telemetry, no Docker.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/stash-stack';

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

function outdir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stash-cdk-out-'));
  outdirs.push(dir);
  return dir;
}

function cdk(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', CDK_DISABLE_VERSION_CHECK: 'true' };
  for (const k of ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'NODE_ENV', 'VITEST']) delete env[k];
  return new Promise((resolve) => {
    execFile(
      join(PROJECT_ROOT, 'node_modules', '.bin', 'cdk'),
      ['synth', '--no-notices', '--quiet', ...args],
      { cwd: PROJECT_ROOT, env, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('npx cdk synth', () => {
  it('synthesizes the app offline, with every cdk-nag and Control Tower finding fixed or acknowledged', async () => {
    const out = outdir();
    const result = await cdk(['-o', out, '-c', 'alarmEmail=ops@example.com']);
    expect(result.stderr).not.toMatch(/AwsSolutions-|\[CT\.[A-Z0-9]+\.PR\.\d+\]/);
    expect(result.code, result.stderr).toBe(0);
    const template = JSON.parse(readFileSync(join(out, 'Stash.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }> };
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function')).toHaveLength(3);
    // Control Tower's acknowledged findings are listed as suppressed, each with its reason; nothing else is reported.
    const report = JSON.parse(readFileSync(join(out, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; conclusion: string; violations: unknown[]; suppressedViolations?: { reason?: string }[] }[];
    };
    expect(report.pluginReports.map((r) => [r.pluginName, r.conclusion, r.violations])).toEqual([['cdk-validator-cfnguard', 'success', []]]);
    const suppressed = report.pluginReports[0].suppressedViolations ?? [];
    expect(suppressed.length).toBeGreaterThan(0);
    for (const s of suppressed) expect(s.reason?.length).toBeGreaterThan(40);
  });

  it('fails on a wrong -c value, saying which and why', async () => {
    const out = outdir();
    const result = await cdk(['-o', out, '-c', 'tickMinutes=0', '-c', 'efsSources=fs-nope']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('Invalid Stash settings:');
    expect(result.stderr).toContain('tickMinutes: must be a whole number of minutes from 1 to 60');
    expect(result.stderr).toContain('efsSources[0]: "fs-nope" is not an EFS file system id (fs-0123abcd...)');
    expect(existsSync(join(out, 'Stash.template.json'))).toBe(false);
  });
});
