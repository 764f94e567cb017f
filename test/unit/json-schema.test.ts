import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { FIELD_DESCRIPTIONS, RESTIC_SCHEMA_FILE, RESTIC_SCHEMA_ID, resticJsonSchema, resticJsonSchemaText } from '../../schemas/generate';
import { ANY_VOLUME_SOURCE_KINDS, BACKEND_KINDS, ResticSchema } from '../../schemas/restic';
import { editedSpec, type Doc } from '../support/specs';

type Node = Record<string, unknown>;

const FIXTURES = fileURLToPath(new URL('../fixtures/specs', import.meta.url));
const schema = resticJsonSchema() as Node;

/** The schema node of a dotted field path, `[]` stepping into a list's items. */
function nodeAt(path: string): Node {
  let node: Node | undefined = schema;
  for (const part of path ? path.split('.') : []) {
    const list = part.endsWith('[]');
    node = (node?.properties as Record<string, Node> | undefined)?.[list ? part.slice(0, -2) : part];
    if (list) node = node?.items as Node | undefined;
  }
  if (!node) throw new Error(`no schema node at ${path}`);
  return node;
}

/** Every schema node, with its location for messages. */
function* schemaNodes(node: Node, at = '#'): Generator<[string, Node]> {
  yield [at, node];
  for (const [name, child] of Object.entries((node.properties as Record<string, Node>) ?? {})) yield* schemaNodes(child, `${at}/properties/${name}`);
  for (const key of ['items', 'additionalProperties', 'propertyNames'] as const) {
    const child = node[key];
    if (child && typeof child === 'object') yield* schemaNodes(child as Node, `${at}/${key}`);
  }
  for (const key of ['anyOf', 'oneOf'] as const) {
    for (const [i, child] of ((node[key] as Node[] | undefined) ?? []).entries()) yield* schemaNodes(child, `${at}/${key}/${i}`);
  }
}

/** The keywords {@link violations} checks, and the annotations it may ignore. */
const CHECKED = new Set([
  'type', 'const', 'enum', 'properties', 'required', 'additionalProperties', 'propertyNames', 'items', 'minItems',
  'minLength', 'maxLength', 'pattern', 'minimum', 'maximum', 'exclusiveMinimum', 'anyOf', 'oneOf',
]);
const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description', 'format']);

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function hasType(value: unknown, type: string): boolean {
  if (type === 'integer') return Number.isInteger(value);
  return jsonType(value) === type;
}

/**
 * A small structural JSON Schema check, for the keywords in {@link CHECKED} only (a test below
 * proves the generated schema uses no other), as an editor would report a document.
 */
function violations(node: Node, value: unknown, path = '(root)'): string[] {
  const out: string[] = [];
  if ('const' in node && value !== node.const) return [`${path}: must be ${JSON.stringify(node.const)}`];
  if (Array.isArray(node.enum) && !node.enum.includes(value)) return [`${path}: must be one of ${JSON.stringify(node.enum)}`];
  if (node.type !== undefined) {
    const types = [node.type].flat() as string[];
    if (!types.some((t) => hasType(value, t))) return [`${path}: must be of type ${types.join(' or ')}`];
  }
  if (node.anyOf && !(node.anyOf as Node[]).some((n) => violations(n, value, path).length === 0)) out.push(`${path}: matches none of anyOf`);
  if (node.oneOf) {
    const matching = (node.oneOf as Node[]).filter((n) => violations(n, value, path).length === 0).length;
    if (matching !== 1) out.push(`${path}: matches ${matching} of oneOf, must match exactly 1`);
  }
  if (typeof value === 'string') {
    const length = [...value].length;
    if (typeof node.minLength === 'number' && length < node.minLength) out.push(`${path}: shorter than ${node.minLength}`);
    if (typeof node.maxLength === 'number' && length > node.maxLength) out.push(`${path}: longer than ${node.maxLength}`);
    if (typeof node.pattern === 'string' && !new RegExp(node.pattern, 'u').test(value)) out.push(`${path}: does not match ${node.pattern}`);
  }
  if (typeof value === 'number') {
    if (typeof node.minimum === 'number' && value < node.minimum) out.push(`${path}: below ${node.minimum}`);
    if (typeof node.maximum === 'number' && value > node.maximum) out.push(`${path}: above ${node.maximum}`);
    if (typeof node.exclusiveMinimum === 'number' && value <= node.exclusiveMinimum) out.push(`${path}: not above ${node.exclusiveMinimum}`);
  }
  if (Array.isArray(value)) {
    if (typeof node.minItems === 'number' && value.length < node.minItems) out.push(`${path}: fewer than ${node.minItems} items`);
    if (node.items) value.forEach((item, i) => out.push(...violations(node.items as Node, item, `${path}[${i}]`)));
  }
  if (jsonType(value) === 'object') {
    const object = value as Record<string, unknown>;
    const properties = (node.properties as Record<string, Node> | undefined) ?? {};
    for (const key of (node.required as string[] | undefined) ?? []) if (!(key in object)) out.push(`${path}: missing required "${key}"`);
    for (const [key, child] of Object.entries(object)) {
      const at = path === '(root)' ? key : `${path}.${key}`;
      if (node.propertyNames) out.push(...violations(node.propertyNames as Node, key, `${at} (name)`));
      if (properties[key]) out.push(...violations(properties[key], child, at));
      else if (node.additionalProperties === false) out.push(`${path}: unknown field "${key}"`);
      else if (node.additionalProperties && typeof node.additionalProperties === 'object') out.push(...violations(node.additionalProperties as Node, child, at));
    }
  }
  return out;
}

/** Every YAML document of every fixture file, as JSON values. */
function fixtureDocuments(): [string, unknown][] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(FIXTURES, file), 'utf8')).map((doc, i, all): [string, unknown] => [
        all.length > 1 ? `${file}#${i}` : file,
        doc.toJS(),
      ]),
    );
}

/** The demo spec, changed by `edit` (on a copy). */
const restic = (edit: (doc: Doc) => void): unknown => editedSpec(edit);

describe('restic.schema.json', () => {
  it('is what the generator produces now', () => {
    const committed = readFileSync(RESTIC_SCHEMA_FILE, 'utf8');
    expect(committed, 'schemas/restic.schema.json is out of date: run npm run schema').toBe(resticJsonSchemaText());
  });

  it('is 2-space JSON with a final newline', () => {
    const text = resticJsonSchemaText();
    expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
    expect(text.endsWith('}\n')).toBe(true);
  });

  it('names itself for editors', () => {
    expect(schema).toMatchObject({
      $schema: 'http://json-schema.org/draft-07/schema#',
      $id: RESTIC_SCHEMA_ID,
      title: 'Restic',
    });
    expect(Object.keys(schema).slice(0, 4)).toEqual(['$schema', '$id', 'title', 'description']);
    expect(typeof schema.description).toBe('string');
  });
});

describe('resticJsonSchema', () => {
  it.each([
    '',
    'metadata',
    'spec',
    'spec.selector',
    'spec.fileGroups[]',
    'spec.fileGroups[].retentionPolicy',
    'spec.backend',
    ...BACKEND_KINDS.map((k) => `spec.backend.${k}`),
    'spec.backend.local',
    'spec.backend.local.volumeSource',
    'spec.backend.local.volumeSource.hostPath',
    'spec.backend.local.volumeSource.efs',
    'spec.backend.local.hostPath',
    'spec.retentionPolicies[]',
    'spec.volumeMounts[]',
    'spec.volumes[]',
    'spec.resources',
    'spec.check',
  ])('marks unknown fields as errors at %j', (path) => {
    expect(nodeAt(path).additionalProperties).toBe(false);
  });

  it.each([
    ['', ['apiVersion', 'kind', 'metadata', 'spec']],
    ['metadata', ['name']],
    ['spec', ['fileGroups', 'backend', 'schedule']],
    ['spec.fileGroups[]', ['path']],
    ['spec.backend', ['storageSecretName']],
    ['spec.backend.s3', ['endpoint', 'bucket']],
    ['spec.volumes[]', ['name']],
  ])('requires at %j the keys %j', (path, required) => {
    expect(nodeAt(path).required).toEqual(required);
  });

  it.each([
    ['spec.backend', [...BACKEND_KINDS]],
    ['spec.backend.local.volumeSource', [...ANY_VOLUME_SOURCE_KINDS]],
    ['spec.volumes[]', ['hostPath', 'efs', 'emptyDir']],
  ])('asks at %j for exactly one of %j', (path, kinds) => {
    expect(nodeAt(path).oneOf).toEqual(kinds.map((k) => ({ required: [k] })));
  });

  it.each(Object.entries(FIELD_DESCRIPTIONS))('describes %j for hover help', (path, description) => {
    expect(nodeAt(path).description).toBe(description);
  });

  it('asks at "spec.backend.local" for a mount path and one volume source, in any Stash shape', () => {
    expect(nodeAt('spec.backend.local').oneOf).toEqual([
      { required: ['path', 'volumeSource'] },
      { required: ['mountPath', 'volumeSource'] },
      { required: ['path', 'VolumeSource'] },
      { required: ['mountPath', 'VolumeSource'] },
      ...ANY_VOLUME_SOURCE_KINDS.map((k) => ({ required: ['mountPath', k] })),
    ]);
  });

  it('takes kubectl timestamps as strings, or null', () => {
    expect(nodeAt('metadata.creationTimestamp')).toEqual({
      anyOf: [{ anyOf: [{ type: 'string' }, { type: 'string', format: 'date-time' }] }, { type: 'null' }],
    });
  });

  it('uses only keywords this test checks, with patterns an editor can compile', () => {
    const unknown: string[] = [];
    const badPatterns: string[] = [];
    for (const [at, node] of schemaNodes(schema)) {
      for (const key of Object.keys(node)) if (!CHECKED.has(key) && !ANNOTATIONS.has(key)) unknown.push(`${at}: ${key}`);
      if (typeof node.pattern === 'string') {
        try {
          new RegExp(node.pattern, 'u');
        } catch {
          badPatterns.push(`${at}: ${node.pattern}`);
        }
      }
    }
    expect(unknown).toEqual([]);
    expect(badPatterns).toEqual([]);
  });
});

/** Every Restic of Stash's documents (test/fixtures/stash-docs) that `stash validate` accepts. */
function stashDocsRestics(): [string, unknown][] {
  const dir = fileURLToPath(new URL('../fixtures/stash-docs', import.meta.url));
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { file: string; kind: string; expected: { valid: string[] } }[];
  return index
    .filter((e) => e.kind === 'Restic' && e.expected.valid.length)
    .map((e) => [e.file, parseAllDocuments(readFileSync(join(dir, e.file), 'utf8'))[0].toJS()]);
}

describe("the Restics of Stash's documents against the JSON Schema", () => {
  const documents = stashDocsRestics();
  it('are many, of every release line', () => {
    expect(documents.length).toBeGreaterThan(50);
  });
  it.each(documents)('accepts %s', (_name, value) => {
    expect(violations(schema, value)).toEqual([]);
  });
});

describe('the example specs against the JSON Schema', () => {
  const documents = fixtureDocuments();

  it('covers every fixture document', () => {
    expect(documents.map(([name]) => name)).toEqual([
      'aws-efs.yaml',
      'azure-restic.yaml',
      'b2-restic.yaml',
      'gcs-restic.yaml',
      'local-hostpath.yaml',
      'local-restic.yaml',
      'multi-document.yaml#0',
      'multi-document.yaml#1',
      'rest-restic.yaml',
      's3-restic.yaml',
      'swift-restic.yaml',
    ]);
  });

  it.each(documents)('accepts %s', (_name, value) => {
    expect(violations(schema, value)).toEqual([]);
  });

  it.each<[string, unknown, string[]]>([
    [
      'a misspelled field',
      restic((d) => {
        d.spec.filegroups = d.spec.fileGroups;
        delete d.spec.fileGroups;
      }),
      ['spec: missing required "fileGroups"', 'spec: unknown field "filegroups"'],
    ],
    ['a spec without a backend', restic((d) => delete d.spec.backend.s3), ['spec.backend: matches 0 of oneOf, must match exactly 1']],
    [
      'a spec with two backends',
      restic((d) => (d.spec.backend.gcs = { bucket: 'demo-bucket' })),
      ['spec.backend: matches 2 of oneOf, must match exactly 1'],
    ],
    ['a missing storageSecretName', restic((d) => delete d.spec.backend.storageSecretName), ['spec.backend: missing required "storageSecretName"']],
    [
      'an uppercase bucket',
      restic((d) => (d.spec.backend.s3.bucket = 'Demo')),
      ['spec.backend.s3.bucket: does not match ^[a-z0-9][a-z0-9.-]*[a-z0-9]$'],
    ],
    ['keepLast: -1', restic((d) => (d.spec.fileGroups[0].retentionPolicy = { keepLast: -1 })), ['spec.fileGroups[0].retentionPolicy.keepLast: below 0']],
    [
      'keepLast: "5"',
      restic((d) => (d.spec.fileGroups[0].retentionPolicy = { keepLast: '5' })),
      ['spec.fileGroups[0].retentionPolicy.keepLast: must be of type integer'],
    ],
    [
      'keepLast: 1.5',
      restic((d) => (d.spec.fileGroups[0].retentionPolicy = { keepLast: 1.5 })),
      ['spec.fileGroups[0].retentionPolicy.keepLast: must be of type integer'],
    ],
    ['no fileGroups', restic((d) => (d.spec.fileGroups = [])), ['spec.fileGroups: fewer than 1 items']],
    ['a missing schedule', restic((d) => delete d.spec.schedule), ['spec: missing required "schedule"']],
    ['another apiVersion', restic((d) => (d.apiVersion = 'stash.appscode.com/v1beta1')), ['apiVersion: must be "stash.appscode.com/v1alpha1"']],
    ['another kind', restic((d) => (d.kind = 'Recovery')), ['kind: must be "Restic"']],
    [
      'an invalid name',
      restic((d) => (d.metadata.name = 'Demo_Spec')),
      ['metadata.name: does not match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'],
    ],
    [
      'an unsupported volume source',
      restic((d) => (d.spec.volumes = [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }])),
      ['spec.volumes[0]: matches 0 of oneOf, must match exactly 1', 'spec.volumes[0]: unknown field "persistentVolumeClaim"'],
    ],
    [
      'a volume with two sources',
      restic((d) => (d.spec.volumes = [{ name: 'data', hostPath: { path: '/srv' }, efs: { fileSystemId: 'fs-0123abcd' } }])),
      ['spec.volumes[0]: matches 2 of oneOf, must match exactly 1'],
    ],
    [
      'a local backend with both path and mountPath',
      restic((d) => (d.spec.backend = { storageSecretName: 'local-secret', local: { path: '/repo', mountPath: '/repo', volumeSource: { hostPath: { path: '/srv' } } } })),
      ['spec.backend.local: matches 2 of oneOf, must match exactly 1'],
    ],
    [
      'a local backend with two volume sources',
      restic((d) => (d.spec.backend = { storageSecretName: 'local-secret', local: { mountPath: '/repo', hostPath: { path: '/srv' }, nfs: { server: 'nas', path: '/' } } })),
      ['spec.backend.local: matches 2 of oneOf, must match exactly 1'],
    ],
    ['a type that is neither online nor offline', restic((d) => (d.spec.type = 'nightly')), ['spec.type: must be one of ["online","offline"]']],
  ])('refuses %s, as the zod schema does', (_name, value, expected) => {
    expect(violations(schema, value)).toEqual(expected);
    expect(ResticSchema.safeParse(value).success).toBe(false);
  });
});
