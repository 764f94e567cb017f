/**
 * Benchmark 3, Lambda bundles: each handler bundled as the CDK stack bundles it
 * (`infra/stash-function.ts`: esbuild, ESM, minified, linked source map without sources
 * content, everything bundled including the AWS SDK, the createRequire banner), beside a
 * bundle of only the bare SDK clients that handler uses: exactly the names its code imports
 * from `@aws-sdk/client-*`, found with the TypeScript parser in the files the handler's
 * bundle contains.
 *
 * Import time: a fresh `node` process per measurement imports the bundle and reports
 * `performance.now()` around the `import()` (Node's own startup is not counted), with
 * `--enable-source-maps` as the functions run (`NODE_OPTIONS` in the stack). Handler and
 * bare bundle alternate; ratios are medians of the pairs' own ratios. A third bundle, the
 * handler with the YAML parser replaced by a stub, shows what yaml adds to an import.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import ts from 'typescript';
import { median, ms, ratio, table, type BenchResult } from './lib';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HANDLERS = ['dispatch', 'record', 'validate'] as const;
const BANNER = "import { createRequire as __stashCreateRequire } from 'node:module'; const require = __stashCreateRequire(import.meta.url);";

/** esbuild options as `NodejsFunction` passes them for our functions (target: the Node we measure on). */
const options = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: `node${process.versions.node.split('.')[0]}`,
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  banner: { js: BANNER },
  logLevel: 'warning',
  metafile: true,
  absWorkingDir: ROOT,
} satisfies BuildOptions;

/** The value names each of our files imports from `@aws-sdk/client-*` packages (type-only imports excluded). */
async function sdkImports(files: readonly string[]): Promise<Map<string, Set<string>>> {
  const byPackage = new Map<string, Set<string>>();
  for (const file of files) {
    const source = ts.createSourceFile(file, await readFile(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest);
    for (const statement of source.statements) {
      if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
      const pkg = statement.moduleSpecifier.text;
      const clause = statement.importClause;
      if (!pkg.startsWith('@aws-sdk/client-') || !clause || clause.isTypeOnly) continue;
      const names = clause.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : [];
      for (const element of names) {
        if (element.isTypeOnly) continue;
        const set = byPackage.get(pkg) ?? new Set<string>();
        set.add((element.propertyName ?? element.name).text);
        byPackage.set(pkg, set);
      }
    }
  }
  return byPackage;
}

/** What each input contributes to the one output, bytes (inputs that tree shaking removed contribute 0). */
const contributions = (meta: Metafile) => Object.entries(Object.values(meta.outputs).find((o) => o.entryPoint)?.inputs ?? {}).map(([file, v]) => ({ file, bytes: v.bytesInOutput }));

/** Our source files whose code is in the bundle. */
const ownInputs = (meta: Metafile) => contributions(meta).filter((c) => c.bytes > 0 && !c.file.includes('node_modules') && c.file.endsWith('.ts')).map((c) => c.file);

/** The package an input belongs to (`@aws-sdk/*` and `@smithy/*` together as the AWS SDK), or "ours". */
function packageOf(file: string): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (!m) return 'ours';
  return /^@(aws-sdk|smithy|aws-crypto)\//.test(m[1]) || m[1] === 'fast-xml-parser' || m[1] === 'tslib' ? 'AWS SDK' : m[1];
}

/** The largest contributors to a bundle, e.g. "AWS SDK 470 KiB, zod 260 KiB, ...". */
function breakdown(meta: Metafile): string {
  const by = new Map<string, number>();
  for (const c of contributions(meta)) by.set(packageOf(c.file), (by.get(packageOf(c.file)) ?? 0) + c.bytes);
  return [...by]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([p, b]) => `${p} ${(b / 1024).toFixed(0)} KiB`)
    .join(', ');
}

/** Milliseconds to import `file` in a fresh Node process. */
function importMs(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const r = spawnSync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  if (r.status !== 0) throw new Error(`importing ${file} failed: ${r.stderr}`);
  return Number(r.stdout);
}

export async function bundles(opts: { runs?: number } = {}): Promise<BenchResult> {
  const runs = opts.runs ?? 15;
  const work = await mkdtemp(join(tmpdir(), 'stash-bench-bundles-'));
  try {
    const rows: string[][] = [];
    const imports: string[] = [];
    const parts: string[] = [];
    const yamlStub = join(work, 'yaml-stub.mjs');
    // Every name the handlers import from yaml, each one throwing: the import is measured, never a parse.
    const leftOut = ['parseAllDocuments', 'stringify', 'isMap', 'isPair', 'isScalar', 'isSeq', 'LineCounter'];
    await writeFile(yamlStub, leftOut.map((n) => `export const ${n} = () => { throw new Error('left out'); };\n`).join(''));
    for (const name of HANDLERS) {
      const handlerFile = join(work, name, 'index.mjs');
      const handler = await build({ ...options, entryPoints: [join(ROOT, 'lambda', `${name}.ts`)], outfile: handlerFile });
      const meta = handler.metafile!;
      // Only the client packages whose code is in the handler's bundle (an import that tree shaking removed does not count).
      const inBundle = new Set(contributions(meta).filter((c) => c.bytes > 0).map((c) => /node_modules\/(@aws-sdk\/client-[^/]+)\//.exec(c.file)?.[1]));
      const used = new Map([...(await sdkImports(ownInputs(meta)))].filter(([pkg]) => inBundle.has(pkg)));
      const bareEntry = join(work, `${name}-bare.ts`);
      const lines = [...used].map(([pkg, names]) => `import { ${[...names].sort().join(', ')} } from '${pkg}';`);
      const all = [...used.values()].flatMap((s) => [...s]).sort();
      // Exported, so that nothing is shaken out: the bare bundle holds what the handler imports.
      await writeFile(bareEntry, `${lines.join('\n')}\nexport const used = [${all.join(', ')}];\n`);
      const bareFile = join(work, `${name}-bare`, 'index.mjs');
      await build({ ...options, entryPoints: [bareEntry], outfile: bareFile, absWorkingDir: ROOT, nodePaths: [join(ROOT, 'node_modules')] });

      // The same handler with the YAML parser left out (a stub in its place): what yaml costs an import.
      const noYamlFile = join(work, `${name}-no-yaml`, 'index.mjs');
      await build({ ...options, entryPoints: [join(ROOT, 'lambda', `${name}.ts`)], outfile: noYamlFile, alias: { yaml: yamlStub } });

      const handlerMs: number[] = [];
      const bareMs: number[] = [];
      const noYamlMs: number[] = [];
      const ratios: number[] = [];
      const noYamlRatios: number[] = [];
      for (let k = 0; k < runs; k++) {
        // The three alternate, each going first in turn.
        const order = [handlerFile, bareFile, noYamlFile];
        const times = new Map<string, number>();
        for (let j = 0; j < 3; j++) {
          const file = order[(j + k) % 3];
          times.set(file, importMs(file));
        }
        const [h, b, n] = [times.get(handlerFile)!, times.get(bareFile)!, times.get(noYamlFile)!];
        handlerMs.push(h);
        bareMs.push(b);
        noYamlMs.push(n);
        ratios.push(h / b);
        noYamlRatios.push(n / b);
      }
      const size = (await stat(handlerFile)).size;
      const bareSize = (await stat(bareFile)).size;
      const mapSize = (await stat(`${handlerFile}.map`)).size;
      const sdkBytes = contributions(meta).filter((c) => packageOf(c.file) === 'AWS SDK').reduce((n, c) => n + c.bytes, 0);
      parts.push(`- ${name}: ${breakdown(meta)}`);
      process.stderr.write(`bundles: ${name}: ${(size / 1024).toFixed(0)} KiB, import ${ms(median(handlerMs))} vs bare ${ms(median(bareMs))}\n`);
      rows.push([
        name,
        `${(size / 1024).toFixed(0)} KiB (map ${(mapSize / 1024).toFixed(0)} KiB)`,
        `${(sdkBytes / 1024).toFixed(0)} KiB`,
        `${(bareSize / 1024).toFixed(0)} KiB`,
        ms(median(handlerMs)),
        ms(median(bareMs)),
        ratio(median(ratios)),
        `${ms(median(noYamlMs))} (${ratio(median(noYamlRatios))})`,
      ]);
      imports.push(`- ${name}: ${[...used].map(([pkg, names]) => `\`${pkg}\` (${[...names].sort().join(', ')})`).join('; ')}`);
    }
    const markdown = [
      `esbuild ${options.target}, ESM, minified, linked source map; imports in fresh processes with --enable-source-maps, ${runs} pairs, medians.`,
      '',
      table(['handler', 'bundle', 'of which AWS SDK', 'bare SDK clients bundle', 'import handler', 'import bare clients', 'ratio', 'import without yaml (ratio)'], rows),
      '',
      'The bare bundles hold what each handler imports from the SDK:',
      '',
      ...imports,
      '',
      'Largest parts of each handler bundle (minified bytes):',
      '',
      ...parts,
    ].join('\n');
    return { name: 'bundles', markdown };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
