import { canonicalTimeZone, wallClock, zonedInstant } from "../domain/quiet-hours";

/** When a digest goes out for someone who has not chosen: early evening, after a day's play. */
export const DEFAULT_DIGEST_HOUR = 18;

/** A user's digest time: an hour on the wall clock of an IANA zone. */
export type DigestTime = { hour: number; timeZone: string };

/**
 * The user's digest time as it applies: theirs, else DEFAULT_DIGEST_HOUR in their quiet hours'
 * zone (they told us where they live), else UTC. A zone the runtime no longer knows is UTC.
 */
export function digestTimeOf(schedule: DigestTime | null, quietHoursZone: string | null): DigestTime {
  const zone = schedule?.timeZone ?? quietHoursZone ?? "UTC";
  return { hour: schedule?.hour ?? DEFAULT_DIGEST_HOUR, timeZone: canonicalTimeZone(zone) ?? "UTC" };
}

/** `hour`:00 on the day `dayOffset` days from the day it is at `now` in the zone (the zone's rules for clock changes apply). */
function slotOn(now: Date, time: DigestTime, dayOffset: number): number {
  const wall = wallClock(now.getTime(), time.timeZone);
  const day = new Date(Date.UTC(wall.year, wall.month - 1, wall.day + dayOffset));
  return zonedInstant({ year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate(), hour: time.hour, minute: 0 }, time.timeZone);
}

/** The latest digest time at or before `now`: what arrived before it goes in the digest sent then. */
export function lastDigestSlot(now: Date, time: DigestTime): Date {
  const today = slotOn(now, time, 0);
  return new Date(today <= now.getTime() ? today : slotOn(now, time, -1));
}

/** The next digest time after `now`. */
export function nextDigestSlot(now: Date, time: DigestTime): Date {
  const today = slotOn(now, time, 0);
  return new Date(today > now.getTime() ? today : slotOn(now, time, 1));
}
