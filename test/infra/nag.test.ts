import { Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, describe, expect, it } from 'vitest';
import { removeOutputs, synthStash } from './synth';

afterAll(removeOutputs);

/**
 * Every cdk-nag acknowledgement recorded on the tree: where, which finding, and why. (The
 * CDK records some of its own for its built-in template checks; those are not ours.)
 */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node
    .findAll()
    .flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) => Object.entries(m.data as Record<string, string>))
        .map(([id, reason]) => ({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason })),
    )
    .filter((a) => a.id.startsWith('AwsSolutions-'));
}

/** What AwsSolutions finds with every acknowledgement ignored: finding id to construct paths. */
function rawFindings(root: IConstruct): Map<string, string[]> {
  const pack = new AwsSolutionsChecks();
  // The pack consults acknowledgements in one private method; bypass it to see everything.
  (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  const found = new Map<string, string[]>();
  for (const v of pack.validateScope(root).violations) {
    found.set(v.ruleName, v.violatingResources.map((r) => r.constructPath ?? ''));
  }
  return found;
}

describe.each([
  ['the defaults', {}],
  ['an existing VPC with EFS sources, repositories and restore targets', {
    vpcId: 'vpc-0abc1234',
    subnetIds: 'subnet-0abc1234',
    efsSources: 'fs-0123abcd',
    efsRepositories: 'fs-0456abcd',
    efsRestoreTargets: 'fs-0789abcd',
    alarmEmail: 'ops@example.com',
  }],
  ['a new VPC with a NAT gateway', { egress: 'nat', maxAzs: '2' }],
  ['a new VPC with public subnets', { egress: 'public', secretPrefix: 'backup/' }],
])('cdk-nag AwsSolutions on %s', (_name, context) => {
  const synth = synthStash({ context, nag: true });

  it('leaves no finding unacknowledged, errors and warnings alike', () => {
    const report = synth.nag!.validateScope(synth.app);
    expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('lets the app synthesize with the checks registered', () => {
    expect(() => synth.app.synth()).not.toThrow();
  });

  it('gives every acknowledgement a reason, and acknowledges only findings that exist there', () => {
    const acks = acknowledgements(synth.app);
    const found = rawFindings(synth.app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.id).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(40);
      const paths = found.get(ack.id) ?? [];
      expect(
        paths.some((p) => p === ack.path || p.startsWith(`${ack.path}/`)),
        `${ack.id} acknowledged at ${ack.path} but found only at ${paths.join(', ') || 'nowhere'}`,
      ).toBe(true);
    }
  });
});

describe('cdk-nag is live', () => {
  it('fails synthesis on a finding nobody acknowledged', () => {
    const synth = synthStash({ nag: true });
    new sqs.Queue(synth.stack, 'Unencrypted', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    expect(() => synth.app.synth()).toThrow(/AwsSolutions-SQS[234]/);
  });
});
