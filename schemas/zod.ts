/**
 * The parts of zod this project uses, as named exports. Importing zod's `z` object brings every
 * locale along (258 KiB of the 443 KiB zod adds to a bundle); named exports let esbuild leave
 * them out. Use it as `import * as z from '.../schemas/zod'`: `z.string()`, `z.infer<...>` read
 * as they do with zod's own `z`. Add what a new schema needs here.
 */
export {
  array,
  boolean,
  date,
  email,
  enum,
  int,
  iso,
  literal,
  looseObject,
  number,
  object,
  preprocess,
  record,
  strictObject,
  string,
  toJSONSchema,
  union,
  unknown,
  ZodError,
} from 'zod';
export type { core, infer, input, output, RefinementCtx, ZodType } from 'zod';
