/**
 * The admin API's request bodies, as valibot schemas: they validate requests
 * and generate the OpenAPI document.
 *
 * @module
 */
import * as v from "valibot";
import { MODES } from "../../core/mode.ts";

/** `POST /mode`: force a mode. */
export const ForceModeBody = v.strictObject({
  /** The mode to hold. */
  mode: v.picklist(MODES, `must be one of ${MODES.join(", ")}`),
  /** Why, for the history. */
  reason: v.pipe(v.string(), v.trim(), v.minLength(1, "must not be empty"), v.maxLength(500)),
  /** Release the hold by itself after this long. */
  holdMs: v.optional(v.pipe(v.number(), v.finite(), v.gtValue(0, "must be greater than 0"))),
});

/** `PATCH /flags`: change flags. */
export const FlagsPatchBody = v.strictObject({
  /** Off: stay in datacenter mode with v1. */
  enableHybridMode: v.optional(v.boolean()),
  /** Off: only manual switching. */
  enableModeDetection: v.optional(v.boolean()),
  /** Share of nodes (0–100) taking v3 implementations. */
  v3RolloutPercentage: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(100))),
  /** Kill switch: v1 everywhere. */
  forceV1Mode: v.optional(v.boolean()),
});

/** The error body every failing route returns. */
export const ErrorBody = v.object({
  error: v.object({
    code: v.string(),
    message: v.string(),
    issues: v.optional(v.array(v.object({ path: v.string(), message: v.string() }))),
  }),
});
