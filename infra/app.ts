/**
 * The CDK app: `npx cdk deploy -c key=value ...` (settings: see infra/config.ts and
 * docs/deploy.md). Every synthesis runs cdk-nag's AwsSolutions rules and AWS Control Tower's
 * proactive controls; a finding nobody fixed or acknowledged fails it.
 */
import { App } from 'aws-cdk-lib';
import { readStashSettings } from './config';
import { addGuardChecks, addNagChecks } from './nag';
import { StashStack } from './stash-stack';

const app = new App();
new StashStack(app, app.node.tryGetContext('stackName') ?? 'Stash', { settings: readStashSettings(app) });
addNagChecks(app);
addGuardChecks(app);
