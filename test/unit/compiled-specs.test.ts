/**
 * Compiled specs (`aws/s3-compiled-specs.ts`) without S3: what is written for a set of
 * documents, and that reading it back gives exactly what parsing the YAML gave. The S3 side
 * (cold containers, changed documents, unreadable objects) is in test/integration/aws-s3.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { compiledDocuments, compiledSpecsText, readCompiledSpecs } from '../../aws/s3-compiled-specs';
import type { S3SpecDocument } from '../../aws/s3-spec-store';
import { SpecCache } from '../../core/spec';
import { ResticSchema } from '../../schemas/restic';
import { generateSpecObjects } from '../../bench/planning';

const FIXTURES = join(__dirname, '../fixtures/specs');
const BUCKET = 'stash-config';

const doc = (key: string, text: string, etag = `"${key.length.toString(16).padStart(32, '0')}"`): S3SpecDocument => ({ source: `s3://${BUCKET}/${key}`, key, etag, version: etag, text });

const recovery = `apiVersion: stash.appscode.com/v1alpha1
kind: Recovery
metadata:
  name: restore-it
spec:
  repository:
    name: s3-restic
  paths: [/source/data]
  recoveredVolumes:
  - mountPath: /source/data
    efs:
      fileSystemId: fs-0123abcd
`;

describe('compiled specs', () => {
  it('hold specs as the schema returns them: the Restic schema neither transforms nor adds defaults', () => {
    // Compiled specs restore a spec from its value; this is what makes that exact.
    const values = [
      ...readdirSync(FIXTURES).flatMap((f) => readFileSync(join(FIXTURES, f), 'utf8').split(/^---$/m).map((t) => parse(t))),
      ...generateSpecObjects(200),
    ].filter((v) => v && v.kind === 'Restic');
    expect(values.length).toBeGreaterThan(200);
    for (const value of values) expect(ResticSchema.parse(structuredClone(value))).toStrictEqual(value);
  });

  it('read back, give what parsing the YAML gave, leaving out Recovery documents and what the parser refused', () => {
    const docs = [
      ...readdirSync(FIXTURES).map((f) => doc(`specs/${f}`, readFileSync(join(FIXTURES, f), 'utf8'))),
      doc('specs/invalid.yaml', readFileSync(join(FIXTURES, 's3-restic.yaml'), 'utf8').replace('name: s3-restic', 'name: Not_A_Name')),
      doc('specs/not-yaml.yaml', 'spec: [unclosed'),
      doc('specs/restore.yaml', recovery),
    ];
    const cache = new SpecCache();
    const parsed = cache.load(docs);
    expect(parsed.specs.length).toBeGreaterThan(5);
    expect(parsed.warnings.length).toBeGreaterThan(0);

    const text = compiledSpecsText('release-1', compiledDocuments(docs, cache));
    const read = readCompiledSpecs(text, BUCKET)!;
    expect(read.release).toBe('release-1');
    expect(read.documents.map((d) => d.doc.key)).toEqual(docs.map((d) => d.key).filter((k) => !['specs/not-yaml.yaml', 'specs/restore.yaml'].includes(k)).sort());

    // The same release: verdicts as they were, nothing parsed or validated.
    const seeded = new SpecCache();
    for (const { doc: d, parse: p } of read.documents) seeded.seed(d.source, d.version!, p);
    const restoredDocs = docs.map((d) => read.documents.find((r) => r.doc.key === d.key)?.doc ?? d);
    expect(seeded.load(restoredDocs)).toStrictEqual(parsed);
    // Another release: the values validated again give the same.
    expect(new SpecCache().load(restoredDocs)).toStrictEqual(parsed);
    expect(restoredDocs.filter((d) => d.values)).toHaveLength(read.documents.length);
  });

  it('are ignored when of another format, and refused when not what this code writes', () => {
    expect(readCompiledSpecs(JSON.stringify({ format: 1, documents: [] }), BUCKET)).toBeUndefined();
    expect(() => readCompiledSpecs('{"format": 2, "release": "r", "documents": [{"key": "k"}]}', BUCKET)).toThrow();
    const verdictOutOfRange = { format: 2, release: 'r', documents: [{ key: 'k', etag: 'e', values: [], verdict: { specs: [{ index: 0, warnings: [] }], problems: [], warnings: [] } }] };
    expect(() => readCompiledSpecs(JSON.stringify(verdictOutOfRange), BUCKET)).toThrow('k: verdict names value 0 of 0');
  });
});
