import { z } from "zod";
import { registerInput } from "./input";

/** Active (unrevoked, unexpired) keys one owner may hold; a bound on what a leak of one account can mint. */
export const MAX_ACTIVE_API_KEYS = 25;

const SCOPE_ORDER = ["READ", "WRITE"] as const;

export const createApiKeyInput = z.object({
  name: z
    .string()
    .trim()
    .min(1, "must be at least 1 character")
    .max(64, "must be at most 64 characters")
    .regex(/^[^\p{Cc}]*$/u, "must not contain control characters"),
  // WRITE implies READ: a mutation's result is read as well, so a write-only key would be
  // a READ+WRITE key that claims otherwise.
  scopes: z
    .array(z.enum(SCOPE_ORDER))
    .min(1, "must contain at least one scope")
    .transform((scopes) => SCOPE_ORDER.filter((s) => s === "READ" || scopes.includes(s))),
  expiresAt: z
    .date()
    .nullish()
    .refine((date) => !date || date.getTime() > Date.now(), "must be in the future"),
});

export type CreateApiKeyInput = z.infer<typeof createApiKeyInput>;

/** A service account is named like a player (the same display-name rules). */
export const createServiceAccountInput = z.object({ name: registerInput.shape.displayName });
