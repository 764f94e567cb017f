/**
 * `npm run cost:docs`: writes docs/deploy.md's cost section (between its markers) from the
 * estimate of each network a new VPC can have; test/infra/cost.test.ts fails when it is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { costSection, replaceCostSection } from '../infra/cost-app';
import { PROJECT_ROOT } from '../infra/stash-stack';

const file = join(PROJECT_ROOT, 'docs/deploy.md');
const before = readFileSync(file, 'utf8');
const after = replaceCostSection(before, costSection());
if (after !== before) writeFileSync(file, after);
process.stdout.write(`${after === before ? 'unchanged' : 'updated'}: ${file}\n`);
