/**
 * Local mode's stores: specs, secrets and status in folders. The same ports the AWS adapters
 * implement, so the core cannot tell the difference.
 */
import { mkdir, open, readdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Secret } from '../../schemas/secret';
import { RunResultSchema, SpecStatusSchema, type RunResult, type SpecStatus } from '../../schemas/status';
import { ConfigError, errorMessage, SecretError, StashError } from '../../core/errors';
import { similarNames } from '../../core/names';
import { parseSecretJson, parseSecretObject } from '../../core/secrets';
import { DEFAULT_HISTORY_LIMIT, type RunStore, type SecretStore, type SpecDocument, type SpecStore, type StatusStore, type StoredSecret } from '../../core/ports';
import { MAX_DOCUMENT_BYTES } from '../../core/spec';
import { emptyStatus, newestFirst } from '../../core/status';

const SPEC_FILE = /\.(ya?ml|json)$/i;

/**
 * Spec documents from files and folders (folders are read recursively, hidden entries skipped).
 * One bad entry never hides the others: a file that cannot be read is a document with its
 * {@link SpecDocument.error}, a file larger than {@link MAX_DOCUMENT_BYTES} is read only that
 * far (validation refuses it), and a folder reached again through a symbolic link (a loop
 * such as `specs/all -> .`) is not read twice.
 */
export class FolderSpecStore implements SpecStore {
  constructor(private readonly paths: readonly string[]) {}

  /** Every spec document; `signal` stops the reading between files. */
  async documents(signal?: AbortSignal): Promise<SpecDocument[]> {
    const walk: SpecWalk = { files: [], listed: new Set(), folders: new Set(), signal };
    for (const p of this.paths) await collectSpecFiles(walk, p, true);
    const docs: SpecDocument[] = [];
    for (const entry of walk.files) {
      signal?.throwIfAborted();
      docs.push('error' in entry ? { source: entry.path, text: '', error: entry.error } : await readSpecFile(entry.path));
    }
    return docs;
  }
}

/** What a walk of the spec paths has found so far. */
interface SpecWalk {
  /** Spec files in order, or why one could not be read. */
  readonly files: ({ readonly path: string } | { readonly path: string; readonly error: string })[];
  /** The files in {@link files}, by path. */
  readonly listed: Set<string>;
  /** Real paths of the folders read so far: a second way into one is not followed. */
  readonly folders: Set<string>;
  readonly signal?: AbortSignal;
}

async function collectSpecFiles(walk: SpecWalk, path: string, explicit: boolean): Promise<void> {
  walk.signal?.throwIfAborted();
  let st;
  let real: string | undefined;
  try {
    st = await stat(path);
    if (st.isDirectory()) real = await realpath(path);
  } catch (err) {
    if (explicit) throw new ConfigError(`${path}: no such file or folder`, { cause: err });
    // A name that says "spec" but leads nowhere (a dangling or looping link) is reported, not skipped.
    if (SPEC_FILE.test(path)) walk.files.push({ path, error: `cannot read: ${errorMessage(err)}` });
    return;
  }
  if (st.isFile()) {
    if ((explicit || SPEC_FILE.test(path)) && !walk.listed.has(path)) {
      walk.listed.add(path);
      walk.files.push({ path });
    }
    return;
  }
  if (real === undefined || walk.folders.has(real)) return;
  walk.folders.add(real);
  let entries;
  try {
    entries = (await readdir(path)).filter((e) => !e.startsWith('.')).sort();
  } catch (err) {
    walk.files.push({ path, error: `cannot read the folder: ${errorMessage(err)}` });
    return;
  }
  for (const e of entries) await collectSpecFiles(walk, join(path, e), false);
}

/** One spec file, at most {@link MAX_DOCUMENT_BYTES} + 1 bytes of it (enough for validation to refuse a huge one). */
async function readSpecFile(path: string): Promise<SpecDocument> {
  let file;
  try {
    file = await open(path, 'r');
    const st = await file.stat();
    const buffer = Buffer.alloc(Math.min(st.size, MAX_DOCUMENT_BYTES) + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await file.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return { source: path, version: `${st.mtimeMs}-${st.size}`, modifiedAt: st.mtime, text: buffer.toString('utf8', 0, length) };
  } catch (err) {
    return { source: path, text: '', error: `cannot read: ${errorMessage(err)}` };
  } finally {
    await file?.close();
  }
}

/**
 * Secrets as `kubectl create secret --from-file` takes them: `DIR/<name>/<KEY>` files (the
 * content exactly, as Kubernetes keeps it), or `DIR/<name>.json` holding either a flat
 * `{ "KEY": "value" }` object or a Kubernetes Secret (`data` base64, `stringData` plain), or
 * `DIR/<name>.yaml` (`.yml`): what `kubectl get secret NAME -o yaml` prints, or a flat map.
 * Any other YAML there (a spec saved in the wrong folder) is refused, naming the file.
 */
export class FolderSecretStore implements SecretStore {
  constructor(private readonly dir: string) {}

  async get(name: string): Promise<StoredSecret | undefined> {
    const folder = join(this.dir, name);
    const folderStat = await stat(folder).catch(() => undefined);
    if (folderStat?.isDirectory()) {
      const secret: Secret = {};
      for (const key of (await readdir(folder)).filter((k) => !k.startsWith('.'))) {
        const st = await stat(join(folder, key));
        if (st.isFile()) secret[key] = await readFile(join(folder, key), 'utf8');
      }
      return { ref: folder, secret };
    }
    const json = await readFile(`${folder}.json`, 'utf8').catch(() => undefined);
    if (json !== undefined) return { ref: `${folder}.json`, secret: parseSecretJson(json, `${folder}.json`) };
    for (const file of [`${folder}.yaml`, `${folder}.yml`]) {
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (text !== undefined) return { ref: file, secret: parseSecretYaml(text, file) };
    }
    return undefined;
  }

  /**
   * Why there is no secret `name`: every place looked in, and the names in the folder that
   * look like it (a typo, another case).
   */
  async notFound(name: string): Promise<string> {
    const folder = join(this.dir, name);
    const entries = await readdir(this.dir).catch(() => undefined);
    const where = entries === undefined ? `; the folder ${this.dir} does not exist (--secrets DIR names another)` : '';
    const names = (entries ?? []).filter((e) => !e.startsWith('.')).map((e) => e.replace(/\.(json|ya?ml)$/i, ''));
    const similar = similarNames(name, names);
    return [
      `secret "${name}" not found: looked for ${folder}/ (one file per key, as kubectl create secret --from-file takes them), ${folder}.json, ${folder}.yaml and ${folder}.yml${where}`,
      ...(similar.length ? [`did you mean ${similar.map((s) => `"${s}"`).join(' or ')}? (the spec's storageSecretName names the secret)`] : []),
    ].join('\n');
  }
}

/**
 * A secret from YAML: a Kubernetes Secret (`kubectl get secret -o yaml`) or a flat map of
 * strings. A YAML error says where, never what the text is (it holds secret values).
 */
export function parseSecretYaml(text: string, source: string): Secret {
  // Only the position of an error is shown: its message quotes the text, which holds secret values.
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.length !== 1) throw new SecretError(`${source}: must hold one YAML document, a Kubernetes Secret`);
  const [doc] = docs;
  if (doc.errors.length) {
    const at = doc.errors[0].linePos?.[0];
    throw new SecretError(`${source}: not valid YAML${at ? ` (at line ${at.line}, column ${at.col})` : ''}`);
  }
  const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
  const kind = value && typeof value === 'object' && !Array.isArray(value) ? (value as { kind?: unknown }).kind : undefined;
  if (kind !== undefined && kind !== 'Secret') {
    throw new SecretError(`${source}: a ${typeof kind === 'string' ? `kind: ${kind}` : 'document'} is not a secret: this folder holds Kubernetes Secrets (kind: Secret) or maps of KEY: value`);
  }
  return parseSecretObject(value, source);
}

/**
 * `DIR/runs/<spec>/<run>.json`: one result per run, local mode's history (the same
 * {@link RunStore} the deployed stack keeps in `runs/` of its bucket). Written atomically.
 */
export class FolderRunStore implements RunStore {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(resolve(stateDir), 'runs');
  }

  private file(spec: string, run: string): string {
    return join(this.dir, spec, `${run}.json`);
  }

  async put(result: RunResult, options: { readonly ifAbsent?: boolean } = {}): Promise<void> {
    const file = this.file(result.spec, result.run);
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      await mkdir(join(this.dir, result.spec), { recursive: true });
      if (options.ifAbsent && (await stat(file).catch(() => undefined))) return;
      await writeFile(tmp, `${JSON.stringify(result, null, 2)}\n`, { mode: 0o600 });
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw new StashError(`failed to write ${file}: ${errorMessage(err)}`, { cause: err });
    }
  }

  async get(spec: string, run: string): Promise<RunResult | undefined> {
    const text = await readFile(this.file(spec, run), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const parsed = RunResultSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  }

  /** The `limit` results written last, newest first by start; one that cannot be read is left out. */
  async list(spec: string, options: { readonly limit?: number } = {}): Promise<RunResult[]> {
    const dir = join(this.dir, spec);
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
    const dated = await Promise.all(names.map(async (n) => ({ n, at: (await stat(join(dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })));
    const newest = dated.sort((a, b) => b.at - a.at).slice(0, options.limit ?? DEFAULT_HISTORY_LIMIT);
    const results = await Promise.all(newest.map(({ n }) => this.get(spec, n.slice(0, -'.json'.length)).catch(() => undefined)));
    return newestFirst(results.filter((r): r is RunResult => r !== undefined));
  }
}

/** A status file that cannot be read, is not JSON or is not a status; the message names the file. */
export class StatusFileError extends StashError {}

/** What {@link FolderStatusStore} does with problems that need not stop a run. */
export interface FolderStatusStoreOptions {
  /**
   * Where to report a corrupt status set aside and a status that could not be saved (a full
   * disk). When given, `update` reports a failed write here and resolves with the status it
   * could not save, so that bookkeeping never stops a backup; without it, `update` rejects.
   */
  readonly report?: (message: string) => void;
}

/**
 * `DIR/status/<name>.json`, written atomically (a temporary file renamed over the old one),
 * so an interrupted write never leaves a corrupt status. Updates of one name are serialised
 * within the process. One status that cannot be used affects only its own spec: `list`
 * skips it (see {@link unreadable}), and `update` keeps it as `<name>.json.corrupt-<time>`
 * and starts a fresh one.
 */
export class FolderStatusStore implements StatusStore {
  private readonly queue = new Map<string, Promise<unknown>>();
  readonly dir: string;
  /** The statuses the last {@link list} skipped, by name, with why (naming the file). */
  unreadable: ReadonlyMap<string, string> = new Map();

  constructor(
    stateDir: string,
    private readonly options: FolderStatusStoreOptions = {},
  ) {
    this.dir = join(resolve(stateDir), 'status');
  }

  /** The status, undefined when there is none; a {@link StatusFileError} naming the file when it cannot be used. */
  async get(name: string): Promise<SpecStatus | undefined> {
    const file = this.file(name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StatusFileError(`${file}: cannot read: ${errorMessage(err)}`, { cause: err });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new StatusFileError(`${file}: not valid JSON: ${errorMessage(err)}`, { cause: err });
    }
    const parsed = SpecStatusSchema.safeParse(json);
    if (!parsed.success) {
      throw new StatusFileError(`${file}: ${parsed.error.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; ')}`);
    }
    if (parsed.data.name !== name) throw new StatusFileError(`${file}: name: "${parsed.data.name}" is not the file's name`);
    return parsed.data;
  }

  /** Every status that can be read; the others are in {@link unreadable}. */
  async list(): Promise<SpecStatus[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: SpecStatus[] = [];
    const unreadable = new Map<string, string>();
    for (const f of names.filter((n) => n.endsWith('.json')).sort()) {
      const name = f.slice(0, -5);
      try {
        const s = await this.get(name);
        if (s) out.push(s);
      } catch (err) {
        unreadable.set(name, errorMessage(err));
      }
    }
    this.unreadable = unreadable;
    return out;
  }

  update(name: string, change: (current: SpecStatus) => SpecStatus): Promise<SpecStatus> {
    const previous = this.queue.get(name) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.apply(name, change));
    this.queue.set(name, next);
    return next;
  }

  private file(name: string): string {
    return join(this.dir, `${name}.json`);
  }

  private async apply(name: string, change: (current: SpecStatus) => SpecStatus): Promise<SpecStatus> {
    let current: SpecStatus | undefined;
    let writable = true;
    try {
      current = await this.get(name);
    } catch (err) {
      writable = await this.setAside(name, errorMessage(err));
    }
    const updated = change(current ?? emptyStatus(name));
    try {
      // A status that could not be moved aside is not overwritten.
      if (writable) await this.write(name, updated);
    } catch (err) {
      if (!this.options.report) throw err;
      this.options.report(`${errorMessage(err)}; the status of ${name} is not saved`);
    }
    return updated;
  }

  /** Moves an unusable status out of the way, keeping it for a person to look at; false when that failed. */
  private async setAside(name: string, why: string): Promise<boolean> {
    const file = this.file(name);
    const aside = `${file}.corrupt-${new Date().toISOString().replace(/[-:]/g, '')}`;
    try {
      await rename(file, aside);
    } catch (err) {
      const message = `${why}; failed to move it aside: ${errorMessage(err)}`;
      if (!this.options.report) throw new StatusFileError(message, { cause: err });
      this.options.report(`${message}; the status of ${name} is not saved`);
      return false;
    }
    this.options.report?.(`${why}; kept as ${aside}, starting a fresh status`);
    return true;
  }

  private async write(name: string, status: SpecStatus): Promise<void> {
    const file = this.file(name);
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      await mkdir(this.dir, { recursive: true });
      await writeFile(tmp, `${JSON.stringify(status, null, 2)}\n`, { mode: 0o600 });
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw new StatusFileError(`failed to write ${file}: ${errorMessage(err)}`, { cause: err });
    }
  }
}
