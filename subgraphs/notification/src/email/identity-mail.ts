import { z } from "zod";
import { ACCOUNT_MAIL_KINDS, ACCOUNT_MAIL_PATH, USER_ADDRESSES_PATH, createServiceCaller } from "@startales/service-kit";

/** A user's address as identity has it now: asked when a mail leaves, never stored here. */
export type UserAddress = { id: string; email: string; emailVerified: boolean; emailVersion: number; locale: string | null; displayName: string };

const addressesAnswer = z.object({
  users: z.array(z.object({ id: z.string(), email: z.string(), emailVerified: z.boolean(), emailVersion: z.number().int(), locale: z.string().nullish(), displayName: z.string() })),
});

const accountMailAnswer = z.object({
  kind: z.enum(ACCOUNT_MAIL_KINDS),
  to: z.string(),
  locale: z.string().nullish(),
  displayName: z.string(),
  userId: z.string(),
  // The version of the address `to` is (so a suppression of an old one does not hold a new one back); absent from an older identity.
  emailVersion: z.number().int().nullish(),
  link: z.string().nullable(),
  expiresAt: z.string().nullable(),
});
export type AccountMail = z.infer<typeof accountMailAnswer>;

/** Identity answered something a retry may fix (5xx, an answer we cannot read). */
export class IdentityUnavailable extends Error {
  readonly code = "IDENTITY_UNAVAILABLE";
}

/** At most this many ids per call (identity's limit). */
const ADDRESS_BATCH = 1_000;

/**
 * Identity's service-only routes for mail, called as the notification SERVICE identity:
 * users' addresses (USER_ADDRESSES_PATH) and an account mail's recipient and link
 * (ACCOUNT_MAIL_PATH). Throws IdentityUnavailable (or a network error) when identity cannot
 * answer now: the delivery is retried.
 */
export function createIdentityMailClient(options: { identityUrl: string; secret: string; serviceId: string; timeoutMs: number }) {
  const caller = createServiceCaller(options);
  const addressesUrl = new URL(USER_ADDRESSES_PATH, options.identityUrl).toString();
  const accountMailUrl = new URL(ACCOUNT_MAIL_PATH, options.identityUrl).toString();
  return {
    /** The addresses of those users identity knows (a deleted account is simply absent). */
    async addresses(userIds: string[]): Promise<Map<string, UserAddress>> {
      const found = new Map<string, UserAddress>();
      const unique = [...new Set(userIds)];
      for (let i = 0; i < unique.length; i += ADDRESS_BATCH) {
        const answer = await caller.post(addressesUrl, { userIds: unique.slice(i, i + ADDRESS_BATCH) });
        const parsed = answer.status === 200 ? addressesAnswer.safeParse(answer.body) : null;
        if (!parsed?.success) throw new IdentityUnavailable(`identity answered ${answer.status} to ${USER_ADDRESSES_PATH}`);
        for (const user of parsed.data.users) found.set(user.id, { ...user, locale: user.locale ?? null });
      }
      return found;
    },
    /** The mail to send, or "gone" when it is moot (unknown, used, expired, superseded): nothing to send, ever. */
    async accountMail(mailId: string): Promise<AccountMail | "gone"> {
      const answer = await caller.post(accountMailUrl, { mailId });
      if (answer.status === 404 || answer.status === 410) return "gone";
      const parsed = answer.status === 200 ? accountMailAnswer.safeParse(answer.body) : null;
      if (!parsed?.success) throw new IdentityUnavailable(`identity answered ${answer.status} to ${ACCOUNT_MAIL_PATH}`);
      return parsed.data;
    },
  };
}

export type IdentityMailClient = ReturnType<typeof createIdentityMailClient>;
