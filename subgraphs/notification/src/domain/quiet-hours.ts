import type { NotificationCategory } from "../generated/prisma/client";

/**
 * A player's quiet hours: a daily window of wall-clock minutes in their own IANA time zone
 * (`startMinute` inclusive, `endMinute` exclusive, 0..1439, never equal). A window whose start
 * is later than its end crosses midnight (22:00–07:30).
 */
export type QuietWindow = { startMinute: number; endMinute: number };

/**
 * Categories whose pushes go out during quiet hours: SYSTEM (security notices, maintenance,
 * the operators' alerts) cannot wait until the morning. Game news (CAMPAIGN, MEMBERSHIP,
 * ANNOUNCEMENT) waits.
 */
export const QUIET_HOURS_BYPASS: ReadonlySet<NotificationCategory> = new Set<NotificationCategory>(["SYSTEM"]);

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let format = formatters.get(zone);
  if (!format) {
    // Throws a RangeError for a zone the runtime does not know.
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(zone, format);
  }
  return format;
}

/** The zone's canonical name, or null when it is not an IANA zone the runtime knows. */
export function canonicalTimeZone(zone: string): string | null {
  // "UTC+2", offsets and abbreviations are not zones whose rules we can follow.
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(zone)) return null;
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

type Wall = { year: number; month: number; day: number; hour: number; minute: number; second: number };

/** The wall clock in `zone` at `instant` (ms since the epoch). */
export function wallClock(instant: number, zone: string): Wall {
  const parts: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(new Date(instant))) if (part.type !== "literal") parts[part.type] = Number(part.value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! };
}

/** The zone's offset from UTC at `instant`, in ms (wall clock minus UTC). */
function offsetAt(instant: number, zone: string): number {
  const wall = wallClock(instant, zone);
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/**
 * The first instant at which the wall clock in `zone` reads (or has passed) the given local
 * time: a time that occurs twice (autumn) is its first occurrence, one skipped by a spring
 * change is the end of the gap (the clock jumps past it there). `after`: the first reading
 * later than this instant (inside a repeated hour, its second pass).
 */
export function zonedInstant(local: { year: number; month: number; day: number; hour: number; minute: number }, zone: string, after = -Infinity): number {
  const t = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute);
  const DAY = 86_400_000;
  const offsets = new Set([offsetAt(t - DAY, zone), offsetAt(t, zone), offsetAt(t + DAY, zone)]);
  const readings = [...offsets].map((offset) => t - offset).filter((u) => offsetAt(u, zone) === t - u);
  const valid = readings.filter((u) => u > after);
  if (valid.length > 0) return Math.min(...valid);
  if (readings.length > 0) return Math.max(...readings);
  // In a gap: the change happens between the two readings; find it to the minute.
  let lo = Math.min(...[...offsets].map((offset) => t - offset));
  let hi = Math.max(...[...offsets].map((offset) => t - offset));
  const offsetAfter = offsetAt(hi, zone);
  while (hi - lo > 60_000) {
    const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
    if (offsetAt(mid, zone) === offsetAfter) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * When quiet hours that hold at `now` end, or null when `now` is outside them. Computed on the
 * wall clock of `zone`, so the end is right across daylight-saving changes (a night one hour
 * shorter or longer).
 */
export function quietUntil(now: Date, window: QuietWindow, zone: string): Date | null {
  const { startMinute: start, endMinute: end } = window;
  if (start === end) return null;
  const wall = wallClock(now.getTime(), zone);
  const minute = wall.hour * 60 + wall.minute;
  const crossesMidnight = start > end;
  const inside = crossesMidnight ? minute >= start || minute < end : minute >= start && minute < end;
  if (!inside) return null;
  // The window started today and crosses midnight: it ends tomorrow; otherwise today.
  const endsTomorrow = crossesMidnight && minute >= start;
  const day = new Date(Date.UTC(wall.year, wall.month - 1, wall.day + (endsTomorrow ? 1 : 0)));
  const until = zonedInstant(
    { year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate(), hour: Math.floor(end / 60), minute: end % 60 },
    zone,
    now.getTime(),
  );
  return until > now.getTime() ? new Date(until) : null;
}

/** "HH:MM" of minutes since midnight. */
export const formatMinute = (minute: number) => `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;

/** Minutes since midnight of "HH:MM" (00:00 to 23:59), or null. */
export function parseMinute(value: string): number | null {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(value);
  return match ? Number(match[1]) * 60 + Number(match[2]) : null;
}
