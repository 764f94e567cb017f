/**
 * Builds the app the way infra/app.ts does, for assertions: settings as CDK context, read
 * back through readStashSettings, the stack, and (optionally) the cdk-nag checks.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BUNDLING_STACKS } from 'aws-cdk-lib/cx-api';
import type { AwsSolutionsChecks } from 'cdk-nag';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStashSettings } from '../../infra/config';
import { addNagChecks } from '../../infra/nag';
import { PROJECT_ROOT, StashStack } from '../../infra/stash-stack';

/** The context cdk.json gives every synthesis: the feature flags a new `cdk init` app sets. */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')).context;

export interface SynthOptions {
  /** CDK context, as `-c key=value` gives it. */
  readonly context?: Record<string, unknown>;
  /** Run esbuild for the three functions (slower); otherwise bundling is skipped. */
  readonly bundle?: boolean;
  /** Register the cdk-nag AwsSolutions checks, as infra/app.ts does. */
  readonly nag?: boolean;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: StashStack;
  readonly outdir: string;
  readonly nag?: AwsSolutionsChecks;
  /** Synthesizes (once) and returns the template. */
  template(): Template;
}

const outdirs: string[] = [];

/** Deletes every cloud assembly synthStash wrote (call it in `afterAll`). */
export function removeOutputs(): void {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function synthStash(options: SynthOptions = {}): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'stash-infra-'));
  outdirs.push(outdir);
  const context: Record<string, unknown> = { ...CDK_JSON_CONTEXT, ...options.context };
  // No stack is bundled: NodejsFunction checks its entry exists, then stages a placeholder.
  if (!options.bundle) context[BUNDLING_STACKS] = [];
  const app = new App({ outdir, context });
  const stack = new StashStack(app, 'Stash', { settings: readStashSettings(app) });
  const nag = options.nag ? addNagChecks(app) : undefined;
  let template: Template | undefined;
  return {
    app,
    stack,
    outdir,
    nag,
    template: () => (template ??= Template.fromStack(stack)),
  };
}

/** An IAM policy statement as it appears in the template. */
export interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** Every statement of every AWS::IAM::Policy, with the logical ids of the roles it is attached to. */
export function policyStatements(template: Template): { roles: string[]; statement: Statement }[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies).flatMap((p) => {
    const props = p.Properties as { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } };
    const roles = props.Roles.map((r) => r.Ref);
    return props.PolicyDocument.Statement.map((statement) => ({ roles, statement }));
  });
}

export const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
export const resourcesOf = (s: Statement): unknown[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

/** The logical id of the one resource of a type whose id starts with `prefix`. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(', ') || 'none'}`);
  return ids[0];
}
