/**
 * What a synthesized Stash stack costs, read from its CloudFormation template and priced
 * with {@link PRICES}: every month with no runs, and every hour one task runs. The template
 * decides the quantities (endpoints and the AZs they span, NAT gateways, keys, alarms and the
 * metrics they evaluate, dashboards, the tick's rate and the dispatcher's memory, the task's
 * size and architecture, whether tasks get a public IP, Container Insights); what the
 * dispatcher does in one tick is {@link IDLE_TICK}, counted on moto_server by
 * test/integration/idle-tick.test.ts.
 *
 * ```
 * npm run cost -- -c egress=endpoints
 * ```
 */
import { HOURS_PER_MONTH, LOG_EVENT_OVERHEAD_BYTES, PRICES, PRICES_AS_OF, PRICES_REGION } from './prices';

/** A CloudFormation template, as far as the estimate reads it. */
export interface TemplateJson {
  readonly Resources: Readonly<Record<string, { readonly Type: string; readonly Properties?: Record<string, unknown> }>>;
}

/** One priced line: what, how many, and what it costs in the period of its table. */
export interface CostLine {
  readonly item: string;
  readonly quantity: string;
  readonly usd: number;
}

/** The estimate of one stack. */
export interface CostReport {
  /** Every month, with no runs at all. */
  readonly idle: readonly CostLine[];
  readonly idleTotal: number;
  /** Every hour one runner task runs, at the task definition's size. */
  readonly perRunHour: readonly CostLine[];
  readonly perRunHourTotal: number;
  /** What moves data costs, per GB, where the network charges for it. */
  readonly perGb: readonly CostLine[];
  /** What is not priced, and why. */
  readonly notes: readonly string[];
}

/**
 * What one tick of the dispatcher does when nothing is due, in a warm Lambda container.
 * The S3 requests, log lines and metrics are what test/integration/idle-tick.test.ts counts
 * on moto_server; the billed duration is an assumption (seven AWS calls in the region).
 */
export const IDLE_TICK = {
  /** S3 requests: LIST (specs/, status/), GET (the watermark, read to claim and to commit), PUT (claim, commit). */
  s3: { list: 2, get: 2, put: 2 },
  /** Billed milliseconds of one idle tick (an assumption: about seven calls to S3 and ECS at 30-40 ms each). */
  billedMs: 300,
  /**
   * Bytes of the log lines one idle tick writes: Lambda's START, END and REPORT lines (about
   * 90, 60 and 170 bytes of text) and the handler's own (its metrics line), upper bounds.
   */
  logLineBytes: [90, 60, 170, 400],
  /** Custom metrics one idle tick publishes: `Ticks`, the heartbeat (counts of zero are not sent). */
  customMetrics: 1,
} as const;

/** What the runner logs while it runs (an estimate): a progress line every 30 s and a few more, each about 350 bytes. */
export const RUNNER_LOG = { linesPerHour: 130, bytesPerLine: 350 } as const;

/**
 * Custom metrics ECS Container Insights publishes for a cluster and a task definition family
 * while a task runs (an estimate: CPU, memory, network, storage and task counts, by cluster
 * and by family); each bills the hours it receives data.
 */
export const CONTAINER_INSIGHTS_METRICS = 20;

const GIB = 1024 ** 3;
const usd = (n: number) => Math.round(n * 1e6) / 1e6;

type Resource = TemplateJson['Resources'][string];

function resourcesOf(template: TemplateJson, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, r]) => r.Type === type);
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The tick rule's minutes between ticks, from `rate(N minute[s])`, and the function it wakes. */
function tickOf(template: TemplateJson): { minutes: number; functionId: string } | undefined {
  for (const [, rule] of resourcesOf(template, 'AWS::Events::Rule')) {
    const expression = rule.Properties?.ScheduleExpression;
    if (typeof expression !== 'string') continue;
    const m = /^rate\((\d+) (minute|minutes|hour|hours)\)$/.exec(expression);
    if (!m) throw new Error(`the tick rule's ${expression} is not a rate the estimate reads`);
    const minutes = Number(m[1]) * (m[2].startsWith('hour') ? 60 : 1);
    const targets = (rule.Properties?.Targets ?? []) as { Arn?: { 'Fn::GetAtt'?: [string, string] } }[];
    const functionId = targets.map((t) => t.Arn?.['Fn::GetAtt']?.[0]).find((id) => id && template.Resources[id]?.Type === 'AWS::Lambda::Function');
    if (!functionId) throw new Error(`the tick rule (${expression}) wakes no function of this template`);
    return { minutes, functionId };
  }
  return undefined;
}

/** The runner's task definition: the one with the `runner` family's container. */
function taskDefinitionOf(template: TemplateJson): Record<string, unknown> {
  const found = resourcesOf(template, 'AWS::ECS::TaskDefinition');
  if (found.length !== 1) throw new Error(`expected one task definition, found ${found.length}`);
  return found[0][1].Properties ?? {};
}

/** Whether RunTask gives tasks a public IP: the dispatcher's ASSIGN_PUBLIC_IP. */
function assignsPublicIp(template: TemplateJson): boolean {
  return resourcesOf(template, 'AWS::Lambda::Function').some(
    ([, f]) => (f.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.ASSIGN_PUBLIC_IP === 'ENABLED',
  );
}

/** How many metrics an alarm evaluates (a metric-math alarm is billed per metric). */
function alarmMetrics(alarm: Resource): number {
  const metrics = alarm.Properties?.Metrics as { MetricStat?: unknown }[] | undefined;
  return metrics ? metrics.filter((m) => m.MetricStat !== undefined).length : 1;
}

/** The monthly lines of a stack with no runs. */
function idleLines(template: TemplateJson): CostLine[] {
  const lines: CostLine[] = [];
  const endpoints = resourcesOf(template, 'AWS::EC2::VPCEndpoint').filter(([, e]) => e.Properties?.VpcEndpointType === 'Interface');
  if (endpoints.length) {
    const azHours = endpoints.reduce((n, [, e]) => n + ((e.Properties?.SubnetIds as unknown[] | undefined)?.length ?? 1), 0);
    lines.push({
      item: 'Interface VPC endpoints (ECR api, ECR dkr, Logs, Secrets Manager)',
      quantity: `${plural(endpoints.length, 'endpoint')}, ${plural(azHours, 'endpoint-AZ')} × ${HOURS_PER_MONTH} h`,
      usd: usd(azHours * HOURS_PER_MONTH * PRICES.interfaceEndpointAzHour),
    });
  }
  const nat = resourcesOf(template, 'AWS::EC2::NatGateway').length;
  if (nat) lines.push({ item: 'NAT gateway', quantity: `${plural(nat, 'gateway')} × ${HOURS_PER_MONTH} h`, usd: usd(nat * HOURS_PER_MONTH * PRICES.natGatewayHour) });
  const keys = resourcesOf(template, 'AWS::KMS::Key').length;
  if (keys) lines.push({ item: 'KMS customer managed key (alarm topic)', quantity: plural(keys, 'key'), usd: usd(keys * PRICES.kmsKeyMonth) });
  const alarms = resourcesOf(template, 'AWS::CloudWatch::Alarm');
  if (alarms.length) {
    const metrics = alarms.reduce((n, [, a]) => n + alarmMetrics(a), 0);
    lines.push({ item: 'CloudWatch alarms', quantity: `${plural(alarms.length, 'alarm')}, ${plural(metrics, 'metric')}`, usd: usd(metrics * PRICES.alarmMetricMonth) });
  }
  const dashboards = resourcesOf(template, 'AWS::CloudWatch::Dashboard').length;
  if (dashboards) lines.push({ item: 'CloudWatch dashboard', quantity: plural(dashboards, 'dashboard'), usd: usd(dashboards * PRICES.dashboardMonth) });

  const tick = tickOf(template);
  if (tick) {
    const fn = template.Resources[tick.functionId].Properties ?? {};
    const memoryGb = Number(fn.MemorySize ?? 128) / 1024;
    if (!((fn.Architectures as string[] | undefined) ?? []).includes('arm64')) throw new Error('the tick function is not on ARM: the estimate has ARM prices only');
    const ticks = (HOURS_PER_MONTH * 60) / tick.minutes;
    const every = `${ticks.toLocaleString('en-US')} ticks, ${tick.minutes === 1 ? 'one a minute' : `one every ${tick.minutes} minutes`}`;
    const { list, get, put } = IDLE_TICK.s3;
    const logBytes = IDLE_TICK.logLineBytes.reduce((n, b) => n + b + LOG_EVENT_OVERHEAD_BYTES, 0);
    lines.push(
      { item: 'Dispatcher: Lambda requests', quantity: every, usd: usd(ticks * PRICES.lambdaRequest) },
      {
        item: 'Dispatcher: Lambda duration',
        quantity: `${IDLE_TICK.billedMs} ms × ${Number(fn.MemorySize ?? 128)} MB per tick`,
        usd: usd(ticks * (IDLE_TICK.billedMs / 1000) * memoryGb * PRICES.lambdaArmGbSecond),
      },
      {
        item: 'Dispatcher: S3 requests on the config bucket',
        quantity: `${list} LIST, ${put} PUT, ${get} GET per tick`,
        usd: usd(ticks * ((list + put) * PRICES.s3WriteOrListRequest + get * PRICES.s3ReadRequest)),
      },
      {
        item: 'Dispatcher: custom metric (Ticks, the heartbeat)',
        quantity: plural(IDLE_TICK.customMetrics, 'metric'),
        usd: usd(IDLE_TICK.customMetrics * PRICES.customMetricMonth),
      },
      {
        item: 'Dispatcher: log ingestion',
        quantity: `${plural(IDLE_TICK.logLineBytes.length, 'line')}, ${logBytes} bytes per tick`,
        usd: usd(((ticks * logBytes) / GIB) * PRICES.logIngestionGb),
      },
    );
  }
  return lines;
}

/** The lines of one hour of one task, at the task definition's size. */
function runHourLines(template: TemplateJson): CostLine[] {
  const td = taskDefinitionOf(template);
  const arch = (td.RuntimePlatform as { CpuArchitecture?: string } | undefined)?.CpuArchitecture;
  if (arch !== 'ARM64') throw new Error(`the runner's task definition is ${arch ?? 'x86_64'}: the estimate has ARM prices only`);
  const vcpu = Number(td.Cpu) / 1024;
  const gb = Number(td.Memory) / 1024;
  const lines: CostLine[] = [
    { item: 'Fargate vCPU (ARM)', quantity: `${vcpu} vCPU`, usd: usd(vcpu * PRICES.fargateArmVcpuHour) },
    { item: 'Fargate memory (ARM)', quantity: `${gb} GB`, usd: usd(gb * PRICES.fargateArmGbHour) },
  ];
  const storage = Number((td.EphemeralStorage as { SizeInGiB?: number } | undefined)?.SizeInGiB ?? 20);
  if (storage > 20) lines.push({ item: 'Fargate storage beyond 20 GB', quantity: `${storage - 20} GB`, usd: usd((storage - 20) * PRICES.fargateStorageGbHour) });
  if (assignsPublicIp(template)) lines.push({ item: 'Public IPv4 address, while the task runs', quantity: '1 address', usd: usd(PRICES.publicIpv4Hour) });
  const logBytes = RUNNER_LOG.linesPerHour * (RUNNER_LOG.bytesPerLine + LOG_EVENT_OVERHEAD_BYTES);
  lines.push({ item: "Runner's log ingestion", quantity: `about ${RUNNER_LOG.linesPerHour} lines`, usd: usd((logBytes / GIB) * PRICES.logIngestionGb) });
  const insights = resourcesOf(template, 'AWS::ECS::Cluster').some(([, c]) =>
    ((c.Properties?.ClusterSettings ?? []) as { Name: string; Value: string }[]).some((s) => s.Name === 'containerInsights' && s.Value !== 'disabled'),
  );
  if (insights) {
    lines.push({
      item: 'Container Insights metrics (each clock hour in which a task runs)',
      quantity: `about ${CONTAINER_INSIGHTS_METRICS} metrics`,
      usd: usd((CONTAINER_INSIGHTS_METRICS * PRICES.customMetricMonth) / HOURS_PER_MONTH),
    });
  }
  return lines;
}

/** What moving a GB costs on this network. */
function perGbLines(template: TemplateJson): CostLine[] {
  const lines: CostLine[] = [];
  if (resourcesOf(template, 'AWS::EC2::NatGateway').length) lines.push({ item: 'NAT gateway data processed (not S3 in this region)', quantity: '1 GB', usd: PRICES.natGatewayGb });
  if (resourcesOf(template, 'AWS::EC2::VPCEndpoint').some(([, e]) => e.Properties?.VpcEndpointType === 'Interface')) {
    lines.push({ item: 'Interface endpoint data processed (image pulls, logs)', quantity: '1 GB', usd: PRICES.interfaceEndpointGb });
  }
  lines.push({ item: 'Data out to a backend outside AWS (GCS, Azure, B2, your servers)', quantity: '1 GB', usd: PRICES.internetOutGb });
  return lines;
}

const total = (lines: readonly CostLine[]) => usd(lines.reduce((n, l) => n + l.usd, 0));

/** Prices a synthesized template; throws when it holds something the estimate cannot price. */
export function estimateCost(template: TemplateJson): CostReport {
  const idle = idleLines(template);
  const perRunHour = runHourLines(template);
  return {
    idle,
    idleTotal: total(idle),
    perRunHour,
    perRunHourTotal: total(perRunHour),
    perGb: perGbLines(template),
    notes: [
      `${PRICES_REGION} list prices of ${PRICES_AS_OF} (infra/prices.ts), without free tiers: check them for your region at https://aws.amazon.com/pricing/.`,
      `Your secrets are yours: ${money(PRICES.secretMonth)} a month each in Secrets Manager.`,
      'Not counted, each well under a cent a month: S3 storage of specs, status and run records; the record and validate functions, invoked once per run and per upload; EventBridge, which does not charge for scheduled rules or AWS service events.',
      'Your repositories are yours too: S3 storage and requests, or your backend\'s prices.',
    ],
  };
}

/** Dollars to the cent from $1, to four decimals below (what a line of a few cents is made of). */
const money = (n: number) => (n === 0 ? '$0' : n < 0.0001 ? '<$0.0001' : n >= 1 ? `$${n.toFixed(2)}` : `$${n.toFixed(4).replace(/(\.\d\d\d*?)0+$/, '$1')}`);

/** The estimate as a Markdown section: three tables and the notes. */
export function costMarkdown(report: CostReport): string {
  const table = (lines: readonly CostLine[], totalLabel?: string, sum?: number) =>
    [
      '| item | quantity | USD |',
      '|---|---|---:|',
      ...lines.map((l) => `| ${l.item} | ${l.quantity} | ${money(l.usd)} |`),
      ...(totalLabel ? [`| **${totalLabel}** | | **${money(sum!)}** |`] : []),
    ].join('\n');
  return [
    `Every month with no runs:\n\n${table(report.idle, 'total a month', report.idleTotal)}`,
    `Every hour one task runs:\n\n${table(report.perRunHour, 'total an hour', report.perRunHourTotal)}`,
    `Every GB moved:\n\n${table(report.perGb)}`,
  ].join('\n\n');
}

/** The estimate as terminal text. */
export function costText(report: CostReport): string {
  const width = Math.max(...[...report.idle, ...report.perRunHour, ...report.perGb].map((l) => l.item.length + l.quantity.length + 3));
  const row = (l: CostLine) => `  ${`${l.item} (${l.quantity})`.padEnd(width)}  ${money(l.usd).padStart(9)}`;
  const sum = (label: string, n: number) => `  ${label.padEnd(width)}  ${money(n).padStart(9)}`;
  return [
    'Every month with no runs:',
    ...report.idle.map(row),
    sum('total a month', report.idleTotal),
    '',
    'Every hour one task runs:',
    ...report.perRunHour.map(row),
    sum('total an hour', report.perRunHourTotal),
    '',
    'Every GB moved:',
    ...report.perGb.map(row),
    '',
    ...report.notes.map((n) => `- ${n}`),
  ].join('\n');
}
