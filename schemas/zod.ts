/**
 * The parts of zod this project uses, as named exports. Importing zod's `z` object brings every
 * locale along (258 KiB of the 443 KiB zod adds to a bundle); named exports let esbuild leave
 * them out. Schemas are built with the functional API (`z.optional(s)`,
 * `s.check(z.maxLength(63), z.regex(...))`), which zod's classic and mini APIs share. Use it as
 * `import * as z from '.../schemas/zod'`: `z.string()`, `z.infer<...>` read as they do with
 * zod's own `z`. Add what a new schema needs here.
 */
import type { core } from 'zod';

export {
  _default,
  array,
  boolean,
  date,
  email,
  enum,
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
} from 'zod';
export type { core, infer, input, output, ZodType } from 'zod';

/** A failed parse's error, as `safeParse` returns it. */
export type ZodError<T = unknown> = core.$ZodError<T>;
