/**
 * The cost estimate on synthesized templates (as `npm run cost -- -c ...` builds them), with
 * exact figures worked out by hand from infra/prices.ts; and docs/deploy.md's cost section,
 * which must be what `npm run cost:docs` writes today.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { COST_SECTION_MARKERS, contextFromArgs, costSection, replaceCostSection, synthesizeTemplate } from '../../infra/cost-app';
import { estimateCost, IDLE_TICK, type TemplateJson } from '../../infra/cost';
import { PROJECT_ROOT } from '../../infra/stash-stack';

/** The settings priced below, each synthesized once. */
const VARIANTS = {
  default: {},
  endpoints: { egress: 'endpoints' },
  nat: { egress: 'nat' },
  everything: { egress: 'endpoints', maxAzs: '2', alarmTopicKey: 'true', dashboard: 'true', containerInsights: 'true', tickMinutes: '5', taskCpu: '2048', taskMemoryMiB: '8192' },
} as const;
const templates = new Map<string, TemplateJson>();
const templateOf = (settings: Record<string, unknown>) => {
  const key = JSON.stringify(settings);
  if (!templates.has(key)) templates.set(key, synthesizeTemplate(settings));
  return templates.get(key)!;
};

beforeAll(() => {
  for (const settings of Object.values(VARIANTS)) templateOf(settings);
});

/** What the tick costs a month at one tick a minute: 43,800 ticks of IDLE_TICK at 512 MB. */
const MINUTE_TICK = [
  { item: 'Dispatcher: Lambda requests', quantity: '43,800 ticks, one a minute', usd: 0.00876 },
  { item: 'Dispatcher: Lambda duration', quantity: '300 ms × 512 MB per tick', usd: 0.0876 },
  { item: 'Dispatcher: S3 requests on the config bucket', quantity: '2 LIST, 2 PUT, 2 GET per tick', usd: 0.91104 },
  { item: 'Dispatcher: custom metric (Ticks, the heartbeat)', quantity: '1 metric', usd: 0.3 },
  { item: 'Dispatcher: log ingestion', quantity: '4 lines, 824 bytes per tick', usd: 0.016806 },
];
const ALARMS = { item: 'CloudWatch alarms', quantity: '7 alarms, 7 metrics', usd: 0.7 };
const RUNNER_LOGS = { item: "Runner's log ingestion", quantity: 'about 130 lines', usd: 0.000023 };

describe('the cost of a stack with no runs', () => {
  it('is at most $3 a month by default, priced from its template: seven alarms and the minute tick, nothing else', () => {
    expect(IDLE_TICK.s3).toEqual({ list: 2, get: 2, put: 2 });
    const report = estimateCost(templateOf(VARIANTS.default));
    expect(report.idle).toEqual([ALARMS, ...MINUTE_TICK]);
    expect(report.idleTotal).toBe(2.024206);
    expect(report.idleTotal).toBeLessThanOrEqual(3);
  });

  it.each([
    ['endpoints', { item: 'Interface VPC endpoints (ECR api, ECR dkr, Logs, Secrets Manager)', quantity: '4 endpoints, 4 endpoint-AZs × 730 h', usd: 29.2 }, 31.224206],
    ['nat', { item: 'NAT gateway', quantity: '1 gateway × 730 h', usd: 32.85 }, 34.874206],
  ] as const)('adds the network of egress=%s', (egress, network, total) => {
    const report = estimateCost(templateOf(VARIANTS[egress]));
    expect(report.idle).toEqual([network, ALARMS, ...MINUTE_TICK]);
    expect(report.idleTotal).toBe(total);
  });

  it('prices every endpoint in every AZ, the key, the dashboard and a slower tick', () => {
    const report = estimateCost(templateOf(VARIANTS.everything));
    expect(report.idle).toEqual([
      { item: 'Interface VPC endpoints (ECR api, ECR dkr, Logs, Secrets Manager)', quantity: '4 endpoints, 8 endpoint-AZs × 730 h', usd: 58.4 },
      { item: 'KMS customer managed key (alarm topic)', quantity: '1 key', usd: 1 },
      ALARMS,
      { item: 'CloudWatch dashboard', quantity: '1 dashboard', usd: 3 },
      { item: 'Dispatcher: Lambda requests', quantity: '8,760 ticks, one every 5 minutes', usd: 0.001752 },
      { item: 'Dispatcher: Lambda duration', quantity: '300 ms × 512 MB per tick', usd: 0.01752 },
      { item: 'Dispatcher: S3 requests on the config bucket', quantity: '2 LIST, 2 PUT, 2 GET per tick', usd: 0.182208 },
      { item: 'Dispatcher: custom metric (Ticks, the heartbeat)', quantity: '1 metric', usd: 0.3 },
      { item: 'Dispatcher: log ingestion', quantity: '4 lines, 824 bytes per tick', usd: 0.003361 },
    ]);
    expect(report.idleTotal).toBe(63.604841);
  });
});

describe('the cost of an hour of one task', () => {
  it('is Fargate at the task size, the public IP while it runs, and its log lines', () => {
    const report = estimateCost(templateOf(VARIANTS.default));
    expect(report.perRunHour).toEqual([
      { item: 'Fargate vCPU (ARM)', quantity: '1 vCPU', usd: 0.03238 },
      { item: 'Fargate memory (ARM)', quantity: '2 GB', usd: 0.00712 },
      { item: 'Public IPv4 address, while the task runs', quantity: '1 address', usd: 0.005 },
      RUNNER_LOGS,
    ]);
    expect(report.perRunHourTotal).toBe(0.044523);
  });

  it('has no public IP in private subnets, and Container Insights when asked', () => {
    const report = estimateCost(templateOf(VARIANTS.everything));
    expect(report.perRunHour).toEqual([
      { item: 'Fargate vCPU (ARM)', quantity: '2 vCPU', usd: 0.06476 },
      { item: 'Fargate memory (ARM)', quantity: '8 GB', usd: 0.02848 },
      RUNNER_LOGS,
      { item: 'Container Insights metrics (each clock hour in which a task runs)', quantity: 'about 20 metrics', usd: 0.008219 },
    ]);
    expect(estimateCost(templateOf(VARIANTS.nat)).perGb.map((l) => [l.item, l.usd])).toEqual([
      ['NAT gateway data processed (not S3 in this region)', 0.045],
      ['Data out to a backend outside AWS (GCS, Azure, B2, your servers)', 0.09],
    ]);
  });
});

describe('npm run cost', () => {
  it('reads settings as the CDK CLI takes them, and refuses anything else', () => {
    expect(contextFromArgs(['-c', 'egress=nat', '--context', 'maxAzs=2', '--context=dashboard=true'])).toEqual({ egress: 'nat', maxAzs: '2', dashboard: 'true' });
    expect(() => contextFromArgs(['egress=nat'])).toThrow('unknown argument "egress=nat": give settings as -c key=value');
    expect(() => contextFromArgs(['-c', 'egress'])).toThrow('-c needs key=value');
  });

  it('prints the estimate of the stack as configured, and a wrong setting as cdk synth says it', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(join(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['scripts/cost.ts', ...args], { cwd: PROJECT_ROOT }, (error, stdout, stderr) =>
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        ),
      );
    const [ok, bad] = await Promise.all([run(['-c', 'egress=nat']), run(['-c', 'egress=vpn'])]);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toContain('Stash (egress=nat)');
    expect(ok.stdout).toMatch(/NAT gateway \(1 gateway × 730 h\) +\$32\.85\n/);
    expect(ok.stdout).toMatch(/total a month +\$34\.87\n/);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('Invalid Stash settings:\n  egress: "vpn" must be one of endpoints, nat, public\n');
  });
});

describe("docs/deploy.md's cost section", () => {
  it('is what npm run cost:docs writes from today\'s estimate (run it after changing the stack or a price)', () => {
    const doc = readFileSync(join(PROJECT_ROOT, 'docs/deploy.md'), 'utf8');
    expect(doc).toContain(COST_SECTION_MARKERS.begin);
    expect(replaceCostSection(doc, costSection(templateOf))).toBe(doc);
  });
});
