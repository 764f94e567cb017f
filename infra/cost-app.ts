/**
 * The stack as `cdk synth` would build it from `-c key=value` settings (cdk.json's context,
 * then cdk.context.json, then the command line), synthesized offline without bundling or
 * Docker, for the cost estimate; and docs/deploy.md's cost section, generated for each
 * network a new VPC can have.
 */
import { App } from 'aws-cdk-lib';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStashSettings, type EgressMode } from './config';
import { costMarkdown, estimateCost, type TemplateJson } from './cost';
import { PROJECT_ROOT, StashStack } from './stash-stack';

/** `-c key=value` and `--context key=value` pairs of a command line, as the CDK CLI reads them. */
export function contextFromArgs(args: readonly string[]): Record<string, string> {
  const context: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    let pair: string | undefined;
    if (arg === '-c' || arg === '--context') pair = args[++i];
    else if (arg.startsWith('--context=')) pair = arg.slice('--context='.length);
    else throw new Error(`unknown argument ${JSON.stringify(arg)}: give settings as -c key=value`);
    const eq = pair?.indexOf('=') ?? -1;
    if (pair === undefined || eq < 1) throw new Error(`${arg} needs key=value`);
    context[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return context;
}

/** cdk.json's context and cdk.context.json's, as every synthesis of the app gets them. */
function projectContext(root: string): Record<string, unknown> {
  const read = (file: string) => (existsSync(join(root, file)) ? (JSON.parse(readFileSync(join(root, file), 'utf8')) as Record<string, unknown>) : {});
  return { ...((read('cdk.json').context as Record<string, unknown> | undefined) ?? {}), ...read('cdk.context.json') };
}

/** The stack's template with these settings (`stackName` names it, as for `cdk synth`). */
export function synthesizeTemplate(settings: Record<string, unknown> = {}, root = PROJECT_ROOT): TemplateJson {
  const outdir = mkdtempSync(join(tmpdir(), 'stash-cost-'));
  try {
    const app = new App({ outdir, context: { ...projectContext(root), ...settings, [BUNDLING_STACKS]: [] } });
    const stack = new StashStack(app, String(app.node.tryGetContext('stackName') ?? 'Stash'), { settings: readStashSettings(app), projectRoot: root });
    return app.synth().getStackArtifact(stack.artifactId).template as TemplateJson;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The networks deploy.md's cost section prices, with the settings that give each. */
export const COST_SECTION_NETWORKS: readonly { readonly egress: EgressMode; readonly title: string }[] = [
  { egress: 'public', title: '`egress=public` (the default): public subnets, a public IP only while a task runs' },
  { egress: 'endpoints', title: '`egress=endpoints`: private subnets and interface endpoints, no internet' },
  { egress: 'nat', title: '`egress=nat`: private subnets and a NAT gateway' },
];

/** The markers between which docs/deploy.md holds the generated section. */
export const COST_SECTION_MARKERS = { begin: '<!-- cost:begin (npm run cost:docs writes this section) -->', end: '<!-- cost:end -->' } as const;

/** docs/deploy.md's cost section: each network's estimate with every other setting at its default. */
export function costSection(templates: (settings: Record<string, unknown>) => TemplateJson = synthesizeTemplate): string {
  return COST_SECTION_NETWORKS.map(({ egress, title }) => {
    const report = estimateCost(templates({ egress }));
    return `#### ${title}\n\n\`npm run cost -- -c egress=${egress}\`\n\n${costMarkdown(report)}`;
  }).join('\n\n');
}

/** `text` with the part between the markers replaced by `section`. */
export function replaceCostSection(text: string, section: string): string {
  const begin = text.indexOf(COST_SECTION_MARKERS.begin);
  const end = text.indexOf(COST_SECTION_MARKERS.end);
  if (begin < 0 || end < begin) throw new Error(`the cost section's markers are missing: ${COST_SECTION_MARKERS.begin} ... ${COST_SECTION_MARKERS.end}`);
  return `${text.slice(0, begin + COST_SECTION_MARKERS.begin.length)}\n\n${section}\n\n${text.slice(end)}`;
}
