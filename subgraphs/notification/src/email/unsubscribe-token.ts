import { createHmac, timingSafeEqual } from "node:crypto";
import type { NotificationCategory } from "../generated/prisma/client";

const CATEGORIES = new Set<string>(["CAMPAIGN", "MEMBERSHIP", "ANNOUNCEMENT", "SYSTEM"]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const mac = (secret: string, payload: string) => createHmac("sha256", secret).update(`unsubscribe:${payload}`).digest("base64url");

/**
 * A one-click unsubscribe link's token (RFC 8058): the user and the category, signed. It never
 * expires: a mail read a year later must still stop its kind, and all it can do is turn one
 * email preference off.
 */
export function unsubscribeToken(secret: string, userId: string, category: NotificationCategory): string {
  const payload = `${userId}.${category}`;
  return `${payload}.${mac(secret, payload)}`;
}

/** The user and category a token names, or null for anything we did not sign. */
export function readUnsubscribeToken(secret: string, token: string): { userId: string; category: NotificationCategory } | null {
  const [userId, category, signature, ...rest] = token.split(".");
  if (rest.length > 0 || !userId || !category || !signature || !UUID.test(userId) || !CATEGORIES.has(category)) return null;
  const expected = Buffer.from(mac(secret, `${userId}.${category}`));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  return { userId, category: category as NotificationCategory };
}
