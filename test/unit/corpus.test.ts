/**
 * The bad-input corpus (test/fixtures/bad): every invalid spec and secret gives exactly the
 * error its index (`expected.json`) names, through every door a bad input comes in by:
 * `loadSpecs`, `stash validate`, the dispatcher's tick, the validate-at-upload step, the
 * runner's secret check and the dispatcher's. None crashes or hangs (the tier's test
 * timeout bounds each case), none is launched, and a valid spec beside them still is.
 *
 * Huge files and deep nesting are generated here rather than committed.
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type Io } from '../../cli/main';
import { FolderSecretStore, FolderSpecStore } from '../../cli/local/stores';
import { openTarget } from '../../runner/run';
import { checkSecret } from '../../core/launch';
import { dispatchTick } from '../../core/dispatch';
import type { LaunchRequest, LaunchResult, Launcher, RunningTask, SecretStore, SpecDocument } from '../../core/ports';
import { errorMessage, formatProblem, SecretError } from '../../core/errors';
import { loadSpecs, MAX_DOCUMENT_BYTES, MAX_YAML_NESTING, SpecCache } from '../../core/spec';
import { recordValidation } from '../../core/validate';
import type { Restic } from '../../schemas/restic';
import { MemoryStatuses, MemoryWatermark } from '../support/memory';

interface Expected {
  /** File name -> the lines `stash validate` prints for it; `with`: files it must be loaded with. */
  specs: Record<string, { errors: string[]; with?: string[] }>;
  /** Secret name -> its backend, the runner's error and the dispatcher's. */
  secrets: Record<string, { backend: string; runner: string; dispatch: string }>;
}

const BAD = fileURLToPath(new URL('../fixtures/bad', import.meta.url));
const SPECS = join(BAD, 'specs');
const SECRETS = join(BAD, 'secrets');
/** How expected.json writes the folders: as `stash validate` prints them when run from the repository root. */
const SPECS_AS_WRITTEN = 'test/fixtures/bad/specs';
const SECRETS_AS_WRITTEN = 'test/fixtures/bad/secrets';

const expected: Expected = JSON.parse(await readFile(join(BAD, 'expected.json'), 'utf8'));
const files = Object.keys(expected.specs).sort();
/** Every secret value in the corpus carries this marker; no message may. */
const VALUE_MARKER = 'bad-fixture-value';

/** The expected lines with the corpus folder as it is given to a command here. */
const linesFor = (file: string, dir: string) => expected.specs[file].errors.map((l) => l.split(`${SPECS_AS_WRITTEN}/`).join(`${dir}/`));
const allLines = (dir: string) => files.flatMap((f) => linesFor(f, dir));

function capture(): Io & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, line: (t) => out.push(t), error: (t) => err.push(t), write: (t) => out.push(t) };
}

// ---- generated cases ---------------------------------------------------------------------------

/** A YAML file just over the size limit: refused unread. */
const HUGE = { file: 'huge.yaml', text: `# padding\n${'#'.repeat(MAX_DOCUMENT_BYTES)}\n` };
/**
 * Nesting deeper than the YAML composer's stack, flow and block: two such documents once
 * aborted a fresh process (V8 ran out of stack compiling a regular expression).
 */
const DEEP = [
  { file: 'deep-flow.yaml', text: `${'['.repeat(2000)}${']'.repeat(2000)}\n` },
  { file: 'deep-block.yaml', text: `${'- '.repeat(2000)}x\n` },
];

/** The lines for the generated files. */
function generatedLines(dir: string): string[] {
  return [
    `${dir}/${HUGE.file}: file is larger than ${MAX_DOCUMENT_BYTES} bytes; a spec is a few hundred`,
    ...DEEP.map((d) => `${dir}/${d.file}: not YAML: nested deeper than ${MAX_YAML_NESTING} levels`),
  ];
}

/** A copy of the corpus plus the generated files, in a fresh folder. */
async function corpusCopy(root: string): Promise<string> {
  const dir = join(root, 'specs');
  await cp(SPECS, dir, { recursive: true });
  await writeFile(join(dir, HUGE.file), HUGE.text);
  for (const d of DEEP) await writeFile(join(dir, d.file), d.text);
  return dir;
}

const GOOD_SPEC = `apiVersion: stash.appscode.com/v1alpha1
kind: Restic
metadata:
  name: still-runs
spec:
  fileGroups:
  - path: /source/data
  backend:
    s3:
      endpoint: s3.amazonaws.com
      bucket: stash-backups
    storageSecretName: s3-secret
  schedule: '@every 1m'
`;

// ---- the corpus itself -----------------------------------------------------------------------------

describe('the bad-input corpus', () => {
  it('holds at least 40 invalid specs and secrets, each with its errors, and nothing else', async () => {
    expect(files.length + Object.keys(expected.secrets).length).toBeGreaterThanOrEqual(40);
    expect((await readdir(SPECS)).sort()).toEqual(files);
    for (const f of files) expect(expected.specs[f].errors.length, f).toBeGreaterThan(0);
  });

  it.each(files)('%s gives exactly its errors through loadSpecs', async (file) => {
    // The folder as a user in the repository root names it, so sources read as in expected.json.
    const dir = relative(process.cwd(), SPECS);
    const { with: others = [] } = expected.specs[file];
    const docs = (await new FolderSpecStore([dir]).documents()).filter((d) => [file, ...others].some((f) => d.source === join(dir, f)));
    expect(docs).toHaveLength(1 + others.length);
    const result = loadSpecs(docs);
    const mine = result.problems.filter((p) => p.source.replace(/#\d+$/, '') === join(dir, file));
    expect(mine.map(formatProblem)).toEqual(linesFor(file, dir));
    expect(result.specs).toEqual([]);
  });
});

describe('stash validate on the corpus', () => {
  it('refuses deeply nested documents in a fresh process, which exits 1 instead of aborting', async () => {
    const root = await mkdtemp(join(tmpdir(), 'stash-corpus-deep-'));
    try {
      for (const d of DEEP) await writeFile(join(root, d.file), d.text);
      const cli = fileURLToPath(new URL('../../cli/bin.ts', import.meta.url));
      const r = spawnSync(process.execPath, ['--import', 'tsx', cli, 'validate', root], { encoding: 'utf8', timeout: 30_000 });
      expect(r.stderr.split('\n').filter(Boolean).sort()).toEqual(DEEP.map((d) => `${join(root, d.file)}: not YAML: nested deeper than ${MAX_YAML_NESTING} levels`).sort());
      expect(r.status).toBe(1);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  let root: string;
  let dir: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'stash-corpus-'));
    dir = await corpusCopy(root);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('exits 1 and prints every error of every file, and nothing valid', async () => {
    const io = capture();
    const code = await main(['validate', dir], io);
    expect(code).toBe(1);
    const known = [...allLines(dir), ...generatedLines(dir)].sort();
    expect([...io.err].sort()).toEqual(known);
    expect(io.err.join('\n')).not.toContain(VALUE_MARKER);
    const sources = new Set(known.map((l) => l.slice(0, l.indexOf(': '))));
    expect(io.out).toEqual([`0 valid, ${sources.size} invalid, 0 warning(s)`]);
  });

  it('still validates a good spec placed beside the corpus, and reports the rest', async () => {
    await writeFile(join(dir, 'still-runs.yaml'), GOOD_SPEC);
    try {
      const io = capture();
      expect(await main(['validate', dir], io)).toBe(1);
      expect(io.out).toContain(`ok ${dir}/still-runs.yaml: still-runs`);
      expect(io.err).toEqual(expect.arrayContaining(allLines(dir)));
    } finally {
      await rm(join(dir, 'still-runs.yaml'));
    }
  });
});

// ---- the dispatcher and the validate step ------------------------------------------------------------

class RecordingLauncher implements Launcher {
  readonly requests: LaunchRequest[] = [];
  async running(): Promise<RunningTask[]> {
    return [];
  }
  async launch(request: LaunchRequest): Promise<LaunchResult> {
    this.requests.push(request);
    return { launched: true, taskArn: `arn:aws:ecs:eu-west-1:111122223333:task/stash/${request.run}`, throttled: 0 };
  }
  async stop(): Promise<void> {
    throw new Error('no task of the corpus outlives its time limit');
  }
}

/** Every secret name resolves to a complete secret: only validation can keep a spec from launching. */
const everySecret: SecretStore = {
  async get(name: string) {
    return {
      ref: `arn:aws:secretsmanager:eu-west-1:111122223333:secret:stash/${name}`,
      secret: { RESTIC_PASSWORD: `${VALUE_MARKER}-p`, AWS_ACCESS_KEY_ID: 'AKIAFIXTURE', AWS_SECRET_ACCESS_KEY: `${VALUE_MARKER}-s` },
    };
  },
};

describe('the dispatcher fed the corpus', () => {
  let root: string;
  let docs: SpecDocument[];
  let dir: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'stash-corpus-'));
    dir = await corpusCopy(root);
    await writeFile(join(dir, 'still-runs.yaml'), GOOD_SPEC);
    docs = await new FolderSpecStore([dir]).documents();
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('launches only the valid spec, on every tick, and reports every problem', async () => {
    const launcher = new RecordingLauncher();
    const statuses = new MemoryStatuses();
    const deps = {
      specs: { documents: async () => docs },
      cache: new SpecCache(),
      watermark: new MemoryWatermark(),
      launcher,
      secrets: everySecret,
      statuses,
      clock: { now: () => new Date('2026-03-02T10:00:30Z') },
    };
    // Every corpus spec says '@every 1m': each would be due on each tick if it were valid.
    for (const now of ['2026-03-02T10:00:30Z', '2026-03-02T10:01:30Z']) {
      const report = await dispatchTick(deps, new Date(now));
      expect(report.lostRace).toBe(false);
      expect(report.specs).toBe(1);
      expect(report.slots.map((s) => [s.spec, s.result])).toEqual([['still-runs', 'launched']]);
      expect(report.problems.map(formatProblem).sort()).toEqual([...allLines(dir), ...generatedLines(dir)].sort());
      expect(report.errors).toEqual([]);
    }
    expect(launcher.requests.map((r) => r.spec.spec.metadata.name)).toEqual(['still-runs', 'still-runs']);
    expect([...statuses.map.keys()]).toEqual(['still-runs']);
  });

  it.each(files.filter((f) => !expected.specs[f].with))('%s: validated at upload, its status says why, nothing throws', async (file) => {
    const doc = docs.find((d) => d.source === join(dir, file)) as SpecDocument;
    const statuses = new MemoryStatuses();
    const report = await recordValidation({ statuses }, doc, new Date('2026-03-02T10:00:00Z'));
    expect(report.errors).toEqual([]);
    expect(report.specs.length).toBeGreaterThan(0);
    for (const s of report.specs) expect(s.validation.valid, s.name).toBe(false);
    expect(report.specs.flatMap((s) => s.validation.errors).sort()).toEqual(linesFor(file, dir).sort());
    expect([...statuses.map.values()].every((s) => s.validation?.valid === false)).toBe(true);
  });

  it.each([HUGE, ...DEEP].map((g) => g.file))('%s (generated): validated at upload, its status says why', async (file) => {
    const doc = docs.find((d) => d.source === join(dir, file)) as SpecDocument;
    const statuses = new MemoryStatuses();
    const report = await recordValidation({ statuses }, doc, new Date('2026-03-02T10:00:00Z'));
    expect(report.errors).toEqual([]);
    expect(report.specs.flatMap((s) => s.validation.errors)).toEqual(generatedLines(dir).filter((l) => l.startsWith(`${join(dir, file)}: `)));
  });
});

// ---- secrets -------------------------------------------------------------------------------------------

const BACKENDS: Record<string, Record<string, unknown>> = {
  local: { local: { path: '/repo', volumeSource: { hostPath: { path: '/nonexistent/stash-corpus-repository' } } } },
  s3: { s3: { endpoint: 's3.amazonaws.com', bucket: 'stash-backups' } },
  azure: { azure: { container: 'backups' } },
  gcs: { gcs: { bucket: 'stash-backups' } },
  b2: { b2: { bucket: 'stash-backups' } },
  swift: { swift: { container: 'backups' } },
  rest: { rest: { url: 'http://127.0.0.1:8000/' } },
};

function specUsing(secretName: string, backend: string): Restic {
  return {
    apiVersion: 'stash.appscode.com/v1alpha1',
    kind: 'Restic',
    metadata: { name: 'corpus-secret' },
    spec: { fileGroups: [{ path: '/source/data' }], schedule: '@daily', backend: { storageSecretName: secretName, ...BACKENDS[backend] } as Restic['spec']['backend'] },
  };
}

const secretNames = Object.keys(expected.secrets).sort();
const secretText = (s: string) => s.split(`${SECRETS_AS_WRITTEN}/`).join(`${SECRETS}/`);

describe('bad secrets', () => {
  it('cover every file in the folder, plus one that does not exist', async () => {
    const onDisk = (await readdir(SECRETS)).map((f) => f.replace(/\.json$/, '')).sort();
    expect(secretNames.filter((n) => !onDisk.includes(n))).toEqual(['absent']);
    expect(onDisk.filter((n) => !secretNames.includes(n))).toEqual([]);
  });

  it.each(secretNames)('%s: the runner refuses it before restic runs, naming keys, never values', async (name) => {
    const { backend, runner } = expected.secrets[name];
    const store = new FolderSecretStore(SECRETS);
    let message: string | undefined;
    try {
      const secret = (await store.get(name))?.secret;
      await openTarget(specUsing(name, backend), secret, { kind: 'local', stateDir: join(tmpdir(), 'stash-corpus-unused') });
    } catch (err) {
      expect(err).toBeInstanceOf(SecretError);
      message = errorMessage(err);
    }
    expect(message).toBe(secretText(runner));
    expect(message).not.toContain(VALUE_MARKER);
  });

  it.each(secretNames)('%s: the dispatcher refuses it before launching, naming keys, never values', async (name) => {
    const { backend, dispatch } = expected.secrets[name];
    const store = new FolderSecretStore(SECRETS);
    const err = await checkSecret(specUsing(name, backend), store).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SecretError);
    expect(errorMessage(err)).toBe(secretText(dispatch));
    expect(errorMessage(err)).not.toContain(VALUE_MARKER);
  });
});
