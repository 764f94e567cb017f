/**
 * The parts of zod this project uses, as named exports of `zod/mini`. Mini's functional API
 * (`z.optional(s)`, `s.check(z.maxLength(63), z.regex(...))`) builds schemas without the
 * dozens of methods zod's classic API attaches to each one, which is most of what a Lambda's
 * cold start paid for its schemas. Named exports let esbuild leave out what is not used,
 * the locales above all. Use it as `import * as z from '.../schemas/zod'`: `z.string()`,
 * `z.infer<...>` read as they do with zod's own `z`. Add what a new schema needs here.
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import type { core } from 'zod/mini';

// Mini ships no locale; the English one gives the messages users see
// (`Invalid input: expected string, received number`), and only it is bundled.
config(en());

export {
  _default,
  array,
  boolean,
  date,
  email,
  enum,
  extend,
  gte,
  int,
  iso,
  literal,
  lte,
  looseObject,
  maxLength,
  minLength,
  nonnegative,
  nullish,
  number,
  object,
  optional,
  pipe,
  positive,
  record,
  refine,
  regex,
  strictObject,
  string,
  superRefine,
  toJSONSchema,
  transform,
  trim,
  union,
  unknown,
} from 'zod/mini';
export type { core, infer, input, output, ZodMiniType as ZodType } from 'zod/mini';

/** A failed parse's error, as `safeParse` returns it. */
export type ZodError<T = unknown> = core.$ZodError<T>;
