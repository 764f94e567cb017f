/**
 * Local mode's stores: specs, secrets and status in folders. The same ports the AWS adapters
 * implement, so the core cannot tell the difference.
 */
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Secret } from '../../schemas/secret';
import { SpecStatusSchema, type SpecStatus } from '../../schemas/status';
import { ConfigError } from '../../core/errors';
import { parseSecretJson } from '../../core/secrets';
import type { SecretStore, SpecDocument, SpecStore, StatusStore, StoredSecret } from '../../core/ports';
import { emptyStatus } from '../../core/status';

const SPEC_FILE = /\.(ya?ml|json)$/i;

/** Spec documents from files and folders (folders are read recursively, hidden entries skipped). */
export class FolderSpecStore implements SpecStore {
  constructor(private readonly paths: readonly string[]) {}

  async documents(): Promise<SpecDocument[]> {
    const files: string[] = [];
    for (const p of this.paths) files.push(...(await specFiles(p, true)));
    const docs: SpecDocument[] = [];
    for (const file of [...new Set(files)]) {
      const [text, st] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
      docs.push({ source: file, version: `${st.mtimeMs}-${st.size}`, text });
    }
    return docs;
  }
}

async function specFiles(path: string, explicit: boolean): Promise<string[]> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    if (explicit) throw new ConfigError(`${path}: no such file or folder`, { cause: err });
    return [];
  }
  if (st.isFile()) return explicit || SPEC_FILE.test(path) ? [path] : [];
  if (!st.isDirectory()) return [];
  const entries = (await readdir(path)).filter((e) => !e.startsWith('.')).sort();
  const out: string[] = [];
  for (const e of entries) out.push(...(await specFiles(join(path, e), false)));
  return out;
}

/**
 * Secrets as `kubectl create secret --from-file` takes them: `DIR/<name>/<KEY>` files (the
 * content exactly, as Kubernetes keeps it), or `DIR/<name>.json` holding either a flat
 * `{ "KEY": "value" }` object or a Kubernetes Secret (`data` base64, `stringData` plain).
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
    let text: string;
    try {
      text = await readFile(`${folder}.json`, 'utf8');
    } catch {
      return undefined;
    }
    return { ref: `${folder}.json`, secret: parseSecretJson(text, `${folder}.json`) };
  }
}

/**
 * `DIR/status/<name>.json`, written atomically (a temporary file renamed over the old one),
 * so an interrupted write never leaves a corrupt status. Updates of one name are serialised
 * within the process.
 */
export class FolderStatusStore implements StatusStore {
  private readonly queue = new Map<string, Promise<unknown>>();
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(resolve(stateDir), 'status');
  }

  async get(name: string): Promise<SpecStatus | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.dir, `${name}.json`), 'utf8');
    } catch {
      return undefined;
    }
    return SpecStatusSchema.parse(JSON.parse(text));
  }

  async list(): Promise<SpecStatus[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const out: SpecStatus[] = [];
    for (const f of names.filter((n) => n.endsWith('.json')).sort()) {
      const s = await this.get(f.slice(0, -5));
      if (s) out.push(s);
    }
    return out;
  }

  update(name: string, change: (current: SpecStatus) => SpecStatus): Promise<SpecStatus> {
    const previous = this.queue.get(name) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(async () => {
      const updated = change((await this.get(name)) ?? emptyStatus(name));
      await this.write(name, updated);
      return updated;
    });
    this.queue.set(name, next);
    return next;
  }

  private async write(name: string, status: SpecStatus): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, `${name}.json`);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(status, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, file);
  }
}
