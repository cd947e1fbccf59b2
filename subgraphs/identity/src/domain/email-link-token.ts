import { createHmac, timingSafeEqual } from "node:crypto";
import type { AccountMailKind } from "../generated/prisma/enums";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An HMAC-SHA256 is 32 bytes: 43 characters of unpadded base64url. */
const MAC_LENGTH = 43;

const mac = (secret: string, mailId: string, kind: AccountMailKind) => createHmac("sha256", secret).update(`${mailId}:${kind}`).digest();

/**
 * The token in a mail's link: `<mailId>.<base64url HMAC-SHA256(secret, mailId:kind)>`. Only
 * the mail's id is stored, so the database alone cannot mint a working link, and the kind in
 * the MAC keeps a token of one kind (a verification link) from working as another (a reset).
 */
export function signEmailLinkToken(secret: string, mailId: string, kind: AccountMailKind): string {
  return `${mailId}.${mac(secret, mailId, kind).toString("base64url")}`;
}

/** The mail id a token names, when its MAC is right for `kind`; null for anything else. */
export function verifyEmailLinkToken(secret: string, token: string, kind: AccountMailKind): string | null {
  const [mailId, given, ...rest] = token.split(".");
  if (!mailId || !given || rest.length > 0 || !UUID.test(mailId) || given.length !== MAC_LENGTH || !/^[A-Za-z0-9_-]+$/.test(given)) return null;
  const presented = Buffer.from(given, "base64url");
  const expected = mac(secret, mailId, kind);
  // Decoding ignores stray low bits of the last character: compare the text form too, so one token has one spelling.
  if (presented.length !== expected.length || presented.toString("base64url") !== given) return null;
  return timingSafeEqual(presented, expected) ? mailId : null;
}
