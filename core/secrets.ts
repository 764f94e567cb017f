/**
 * A secret's content from JSON: a flat `{ "KEY": "value" }` object (Secrets Manager's
 * SecretString, a local `<name>.json`) or a Kubernetes Secret (`data` base64, `stringData`).
 * Errors name the source and keys, never values.
 */
import { SecretSchema, type Secret } from '../schemas/secret';
import { errorMessage, SecretError } from './errors';

/** A flat key/value object, or a Kubernetes Secret, as a Secret. */
export function parseSecretObject(value: unknown, source: string): Secret {
  if (value && typeof value === 'object' && !Array.isArray(value) && (value as { kind?: unknown }).kind === 'Secret') {
    const k8s = value as { data?: Record<string, unknown>; stringData?: Record<string, unknown> };
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(k8s.data ?? {})) out[k] = typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : v;
    Object.assign(out, k8s.stringData ?? {});
    value = out;
  }
  const parsed = SecretSchema.safeParse(value);
  if (!parsed.success) {
    const keys = parsed.error.issues.map((i) => i.path.join('.')).filter(Boolean);
    throw new SecretError(`${source}: must be an object of string values${keys.length ? ` (not: ${keys.join(', ')})` : ''}`);
  }
  return parsed.data;
}

/** Parses secret JSON text; a syntax error reports only its position, never the text. */
export function parseSecretJson(text: string, source: string): Secret {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const where = /position \d+/.exec(errorMessage(err))?.[0];
    throw new SecretError(`${source}: not valid JSON${where ? ` (at ${where})` : ''}`);
  }
  return parseSecretObject(value, source);
}
