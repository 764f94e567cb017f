/**
 * The CDK app: `npx cdk deploy -c key=value ...` (settings: see infra/config.ts and
 * docs/deploy.md).
 */
import { App } from 'aws-cdk-lib';
import { readStashSettings } from './config';
import { addNagChecks } from './nag';
import { StashStack } from './stash-stack';

const app = new App();
new StashStack(app, app.node.tryGetContext('stackName') ?? 'Stash', { settings: readStashSettings(app) });
addNagChecks(app);
