import { randomBytes } from "node:crypto";
import { z } from "zod";

export const createCampaignInput = z.object({
  name: z.string().trim().min(3, "must be at least 3 characters").max(64, "must be at most 64 characters"),
  tickRateMs: z
    .number()
    .int()
    .min(100, "must be at least 100")
    .max(3_600_000, "must be at most 3600000")
    .nullish()
    .transform((v) => v ?? 1000),
  maxPlayers: z
    .number()
    .int()
    .min(2, "must be at least 2")
    .max(10_000, "must be at most 10000")
    .nullish()
    .transform((v) => v ?? 50),
  seed: z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(64, "must be at most 64 characters")
    .nullish()
    .transform((v) => v ?? randomBytes(8).toString("hex")),
});

export type CreateCampaignInput = z.infer<typeof createCampaignInput>;

export const pageArgs = z.object({
  first: z.number().int().min(1, "must be at least 1").max(500, "must be at most 500").nullish().transform((v) => v ?? 100),
  after: z.uuid("must be a valid ID").nullish(),
});
