/**
 * `state/watermark.json`: how far the dispatcher's ticks have planned, and the slots they
 * claimed and have not decided yet. Written by the dispatcher with compare-and-swap.
 */
import * as z from './zod';

/** A slot claimed by a tick and not yet decided. */
export const PendingSlotSchema = z.object({
  spec: z.string(),
  slot: z.string(),
  kind: z.enum(['backup', 'check']),
});
export type PendingSlot = z.infer<typeof PendingSlotSchema>;

export const WatermarkStateSchema = z.object({
  /** Slots before this time have been planned. */
  tick: z.string(),
  /** Planned slots not yet launched, skipped or missed. */
  pending: z._default(z.array(PendingSlotSchema), []),
  /** The tick that holds `pending` right now, and since when. */
  claim: z.optional(z.object({ id: z.string(), at: z.string() })),
});
export type WatermarkState = z.infer<typeof WatermarkStateSchema>;
