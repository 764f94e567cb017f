/**
 * AWS's own linters on every variant of the stack, synthesized once in one app: cfn-lint
 * (CloudFormation's linter) and AWS Control Tower's proactive controls (cfn-guard, through
 * the CDK plugin that infra/app.ts registers), next to cdk-nag. A finding is fixed, or
 * acknowledged in code with its reason, and an acknowledgement names a finding that exists.
 */
import { App, CfnResource, Validations } from 'aws-cdk-lib';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStashSettings, type StashSettingsInput } from '../../infra/config';
import { addGuardChecks, addNagChecks } from '../../infra/nag';
import { StashStack } from '../../infra/stash-stack';
import { CDK_JSON_CONTEXT } from './synth';

/** The variants a user can deploy, one stack each. */
const VARIANTS: Record<string, StashSettingsInput> = {
  Default: {},
  ExistingVpc: {
    vpcId: 'vpc-0abc1234',
    subnetIds: 'subnet-0abc1234,subnet-0def5678',
    securityGroupIds: 'sg-0abc1234',
    efsSources: 'fs-0123abcd',
    efsRepositories: 'fs-0456abcd',
    efsRestoreTargets: 'fs-0789abcd',
    alarmEmail: 'ops@example.com',
    specWriters: 'arn:aws:iam::111122223333:role/deployer',
    efsFileSystemPolicies: 'true',
  },
  NatGateway: { egress: 'nat', maxAzs: '2', logRetentionDays: '365', s3RepositoryBuckets: 'other-account-restic' },
  PublicSubnets: { egress: 'public', secretPrefix: 'backup/', tickMinutes: '5', taskCpu: '512', taskMemoryMiB: '2048' },
};

const outdir = mkdtempSync(join(tmpdir(), 'stash-linters-'));
let app: App;
let synthError: unknown;

beforeAll(() => {
  app = new App({ outdir, context: { ...CDK_JSON_CONTEXT, [BUNDLING_STACKS]: [] } });
  for (const [name, settings] of Object.entries(VARIANTS)) new StashStack(app, name, { settings: parseStashSettings(settings) });
  addNagChecks(app);
  addGuardChecks(app);
  try {
    app.synth();
  } catch (err) {
    synthError = err;
  }
});
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const templates = () => Object.keys(VARIANTS).map((name) => join(outdir, `${name}.template.json`));

/** What the Control Tower rules find with no acknowledgement applied, once for the file. */
let rawFindings: ReturnType<CfnGuardValidator['validate']> | undefined;
const guardRaw = () => (rawFindings ??= new CfnGuardValidator({ controlTowerRulesEnabled: true }).validate({ templatePaths: templates(), appConstruct: app }));

/** The construct path of a resource in one of the variants' templates. */
function constructPath(templatePath: string, logicalId: string): string {
  const stack = app.node.findChild(templatePath.split('/').pop()!.replace(/\.template\.json$/, '')) as StashStack;
  const resource = stack.node.findAll().find((c) => c instanceof CfnResource && stack.getLogicalId(c) === logicalId);
  return resource?.node.path ?? `${stack.node.path}/?${logicalId}`;
}

/** Every acknowledgement of a Control Tower rule on the tree: where, which rule, and why. */
function guardAcknowledgements(root: IConstruct): { path: string; rule: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string | { reason: string }>))
      .filter(([id]) => id.startsWith('cdk-validator-cfnguard::'))
      .map(([id, ack]) => ({ path: c.node.path, rule: id.slice('cdk-validator-cfnguard::'.length), reason: typeof ack === 'string' ? ack : ack.reason })),
  );
}

describe('the stack variants', () => {
  it('synthesize with cdk-nag and the Control Tower rules registered: every finding fixed or acknowledged', () => {
    let report = '';
    if (synthError) report = readFileSync(join(outdir, 'validation-report.json'), 'utf8');
    expect(report).toBe('');
    expect(synthError).toBeUndefined();
  });

  it('pass cfn-lint with no finding', async () => {
    // W3005: CDK writes a DependsOn from each function to its role's policy and role, where a
    // GetAtt already implies the role; harmless, and not ours to change.
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile('cfn-lint', ['--ignore-checks', 'W3005', '--', ...templates()], (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
      );
    });
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it('acknowledge only Control Tower findings that exist there, each with its reason', () => {
    const raw = guardRaw();
    const found = raw.violations.flatMap((v) =>
      v.violatingResources.map((r) => ({ rule: v.ruleName, path: constructPath(r.templatePath, r.resourceLogicalId) })),
    );
    const acks = guardAcknowledgements(app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.reason.length, `${ack.rule} at ${ack.path}`).toBeGreaterThanOrEqual(60);
      const paths = found.filter((f) => f.rule === ack.rule).map((f) => f.path);
      expect(
        paths.some((p) => p === ack.path || p.startsWith(`${ack.path}/`)),
        `${ack.rule} acknowledged at ${ack.path} but found only at ${paths.join(', ') || 'nowhere'}`,
      ).toBe(true);
    }
  });

  it('fixes what Control Tower asks where it costs nothing: a non-root user, a read-only root file system, no public IP by default, grants for AWS services only', () => {
    const raw = guardRaw();
    const rules = new Set(raw.violations.map((v) => v.ruleName));
    for (const fixed of ['ecs_task_definition_nonroot_user_check', 'ecs_containers_readonly_access_check', 'subnet_auto_assign_public_ip_disabled_check', 'kms_create_grant_aws_service_check']) {
      expect(rules.has(fixed), fixed).toBe(false);
    }
  });
});
