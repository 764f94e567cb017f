/**
 * `npm run cost -- -c key=value ...`: what the stack, as these settings configure it, costs
 * every month with no runs and every hour a task runs (see infra/cost.ts). Offline: the
 * stack is synthesized here, without credentials, bundling or Docker.
 */
import { contextFromArgs, synthesizeTemplate } from '../infra/cost-app';
import { costText, estimateCost } from '../infra/cost';
import { errorMessage } from '../core/errors';

try {
  const context = contextFromArgs(process.argv.slice(2));
  const described = Object.entries(context).map(([k, v]) => `${k}=${v}`).join(' ') || 'every setting at its default';
  process.stdout.write(`Stash (${described})\n\n${costText(estimateCost(synthesizeTemplate(context)))}\n`);
} catch (err) {
  process.stderr.write(`${errorMessage(err)}\n`);
  process.exitCode = 1;
}
