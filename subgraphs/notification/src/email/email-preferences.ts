import type { NotificationCategory } from "../generated/prisma/client";

/**
 * Categories mailed until the player says otherwise: their campaigns' lifecycle (rare, and
 * what brings them back to a game) and SYSTEM (security, maintenance). Who joined or left and
 * announcements are frequent enough to be inbox and push news only, unless the player turns
 * email on for them.
 */
export const EMAIL_ON_BY_DEFAULT: readonly NotificationCategory[] = ["CAMPAIGN", "SYSTEM"];

/** A stored preference's email flag (null: never chosen) as it applies. */
export const emailPreference = (category: NotificationCategory, stored: boolean | null | undefined): boolean => stored ?? EMAIL_ON_BY_DEFAULT.includes(category);
