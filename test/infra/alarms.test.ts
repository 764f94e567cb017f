/**
 * Alarms that reach people: every action of every alarm in the synthesized template is
 * followed to its SNS topic, the topic's policy and the topic's KMS key, and evaluated the way
 * IAM evaluates CloudWatch's publish (with `@cloud-copilot/iam-simulate`): CloudWatch must be
 * allowed to publish and to use the key. A topic policy replaces SNS's default one, so a topic
 * policy that only denies (as `enforceSSL` writes it) lets no alarm through.
 */
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT, REGION, StackTemplate, type PolicyDocument } from '../support/stack-template';
import { removeOutputs, synthStash } from './synth';

afterAll(removeOutputs);

let stack: StackTemplate;
beforeAll(() => {
  stack = new StackTemplate(synthStash({ context: { alarmEmail: 'ops@example.com' } }).template().toJSON() as never, 'stash-config');
});

const CLOUDWATCH = 'cloudwatch.amazonaws.com';

/** Whether CloudWatch, publishing for `alarmArn`, may do `action` on `resource` under `policy`. */
async function cloudWatchMay(action: string, resource: string, policy: PolicyDocument | undefined, alarmArn: string): Promise<string> {
  const simulation: Simulation = {
    request: {
      principal: CLOUDWATCH,
      action,
      resource: { resource, accountId: ACCOUNT },
      contextVariables: { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': alarmArn, 'aws:SecureTransport': 'true' },
    },
    identityPolicies: [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: policy as Simulation['resourcePolicy'],
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error') throw new Error(`${action} on ${resource}: ${JSON.stringify(result.errors)}`);
  return result.overallResult;
}

/** Every (alarm, topic) pair an alarm notifies, read from the template. */
function alarmActions(): { alarm: string; alarmArn: string; topic: string }[] {
  return Object.entries(stack.template.Resources)
    .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
    .flatMap(([alarm, r]) => {
      const props = r.Properties as { AlarmActions?: unknown[]; OKActions?: unknown[]; InsufficientDataActions?: unknown[] };
      const actions = [...(props.AlarmActions ?? []), ...(props.OKActions ?? []), ...(props.InsufficientDataActions ?? [])];
      return actions.map((action) => {
        const topic = (action as { Ref?: string }).Ref;
        if (!topic || stack.template.Resources[topic]?.Type !== 'AWS::SNS::Topic') throw new Error(`${alarm}: action ${JSON.stringify(action)} is not a topic of this stack`);
        return { alarm, alarmArn: stack.resolve({ 'Fn::GetAtt': [alarm, 'Arn'] }) as string, topic };
      });
    });
}

describe('alarm delivery', () => {
  it('has alarms, each with actions: the walk below cannot pass by matching nothing', () => {
    const alarms = Object.values(stack.template.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    expect(alarms).toHaveLength(7);
    for (const alarm of alarms) expect((alarm.Properties as { AlarmActions: unknown[] }).AlarmActions.length).toBeGreaterThan(0);
    expect(alarmActions()).toHaveLength(14); // on ALARM and again on OK
  });

  it('lets CloudWatch publish every alarm action to its topic, and use the topic key', async () => {
    for (const { alarm, alarmArn, topic } of alarmActions()) {
      const topicArn = stack.resolve({ Ref: topic }) as string;
      expect(await cloudWatchMay('sns:Publish', topicArn, stack.resourcePolicy('AWS::SNS::TopicPolicy', topic), alarmArn), `${alarm} -> ${topic}`).toBe('Allowed');
      const key = (stack.template.Resources[topic].Properties as { KmsMasterKeyId?: { 'Fn::GetAtt': [string, string] } }).KmsMasterKeyId;
      expect(key, `${topic} is encrypted with the stack's own key`).toBeDefined();
      const keyId = key!['Fn::GetAtt'][0];
      const keyPolicy = stack.properties(keyId).KeyPolicy as PolicyDocument;
      const keyArn = stack.resolve(key) as string;
      for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
        expect(await cloudWatchMay(action, keyArn, keyPolicy, alarmArn), `${alarm}: ${action} on ${keyId}`).toBe('Allowed');
      }
    }
  });

  it('refuses CloudWatch publishing for an alarm of another account, or one not of this stack', async () => {
    const [{ topic }] = alarmActions();
    const topicArn = stack.resolve({ Ref: topic }) as string;
    const policy = stack.resourcePolicy('AWS::SNS::TopicPolicy', topic);
    expect(await cloudWatchMay('sns:Publish', topicArn, policy, `arn:aws:cloudwatch:${REGION}:210987654321:alarm:Elsewhere`)).not.toBe('Allowed');
    expect(await cloudWatchMay('sns:Publish', topicArn, policy, `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:SomeoneElses`)).not.toBe('Allowed');
  });

  it('would fail with the topic policy enforceSSL alone writes (the check can fail)', async () => {
    const [{ alarmArn, topic }] = alarmActions();
    const policy = stack.resourcePolicy('AWS::SNS::TopicPolicy', topic)!;
    const denyOnly = { ...policy, Statement: policy.Statement.filter((s) => s.Effect === 'Deny') };
    expect(denyOnly.Statement.length).toBeGreaterThan(0);
    expect(await cloudWatchMay('sns:Publish', stack.resolve({ Ref: topic }) as string, denyOnly, alarmArn)).toBe('ImplicitlyDenied');
  });

  it('treats a tick that stopped as an alarm: the heartbeat breaches on missing data', () => {
    const heartbeats = Object.values(stack.template.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties?.TreatMissingData === 'breaching');
    expect(heartbeats.map((r) => r.Properties?.MetricName)).toEqual(['Ticks']);
  });
});
