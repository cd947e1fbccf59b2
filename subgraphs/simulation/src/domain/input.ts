import { z } from "zod";
import { isId } from "@startales/service-kit";
import { BUILDING_KINDS, GOODS, SHIP_CLASSES, type CommandType } from "../engine";

const MAX_PAYLOAD_BYTES = 4_096;
const ref = z.string().min(1, "must not be empty").max(200, "must be at most 200 characters");
const count = (max: number) => z.number().int("must be an integer").min(1, "must be at least 1").max(max, `must be at most ${max}`);

/**
 * The shape of each command's payload: what is obviously wrong (a missing field, a wrong
 * type, an out-of-range number, an unknown name) is BAD_USER_INPUT at once. Whether the
 * command is allowed by the world (the city is yours, you can afford it) is the tick's call.
 */
export const PAYLOADS: Record<CommandType, z.ZodType> = {
  BUILD: z.object({ cityId: ref, item: z.enum([...BUILDING_KINDS, ...SHIP_CLASSES], "must be a building or ship class") }),
  RESEARCH: z.object({ techId: ref }),
  MOVE_FLEET: z.object({ fleetId: ref, systemId: ref }),
  SET_TAX: z.object({ rate: z.number().int("must be an integer").min(0, "must be at least 0").max(50, "must be at most 50") }),
  SET_POLICY: z.object({ policy: z.enum(["balanced", "industry", "research", "military"], "must be balanced, industry, research or military") }),
  TRADE_ORDER: z.object({
    good: z.enum(GOODS, `must be one of ${GOODS.join(", ")}`),
    side: z.enum(["buy", "sell"], "must be buy or sell"),
    quantity: count(1_000_000),
    limitPrice: count(1_000_000).optional(),
    marketId: ref.optional(),
  }),
  DIPLOMACY: z.object({
    targetCivId: ref,
    action: z.enum(["declare_war", "make_peace", "propose_treaty", "cancel_treaty"], "must be declare_war, make_peace, propose_treaty or cancel_treaty"),
    treaty: z.enum(["trade", "non_aggression", "alliance"], "must be trade, non_aggression or alliance").optional(),
  }),
};

export const submitCommandInput = z
  .object({
    campaignId: z.string().refine(isId, "must be a valid ID"),
    type: z.enum(Object.keys(PAYLOADS) as [CommandType, ...CommandType[]]),
    payload: z
      .record(z.string(), z.unknown(), "must be a JSON object")
      .refine((p) => JSON.stringify(p).length <= MAX_PAYLOAD_BYTES, `must be at most ${MAX_PAYLOAD_BYTES} bytes of JSON`),
    idempotencyKey: z
      .string()
      .min(1, "must not be empty")
      .max(128, "must be at most 128 characters")
      // The simulation's own membership commands use these keys (domain/lifecycle.ts).
      .refine((key) => !key.startsWith("system:"), "must not start with system:"),
  })
  .superRefine((input, ctx) => {
    const result = PAYLOADS[input.type].safeParse(input.payload);
    if (!result.success) for (const issue of result.error.issues) ctx.addIssue({ code: "custom", path: ["payload", ...issue.path.map(String)], message: issue.message });
  });

export type SubmitCommandInput = z.infer<typeof submitCommandInput>;

export const commandsPage = z.object({
  first: z.number().int().min(1, "must be at least 1").max(200, "must be at most 200").nullish().transform((v) => v ?? 50),
  after: z.string().refine(isId, "must be a valid ID").nullish(),
});

export const leaderboardArgs = z.object({
  first: z.number().int().min(1, "must be at least 1").max(500, "must be at most 500").nullish().transform((v) => v ?? 50),
});
