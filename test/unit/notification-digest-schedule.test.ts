import { DEFAULT_DIGEST_HOUR, digestTimeOf, lastDigestSlot, nextDigestSlot } from "../../subgraphs/notification/src/digest/digest-schedule";

/** When a user's daily digest goes out: an hour on their own wall clock, across days and clock changes. */
describe("daily digest times", () => {
  test("before today's hour the latest digest time was yesterday's; after it, today's", () => {
    const paris = { hour: 18, timeZone: "Europe/Paris" };
    // 17:00 in Paris (UTC+1 in December).
    expect(lastDigestSlot(new Date("2026-12-07T16:00:00Z"), paris).toISOString()).toBe("2026-12-06T17:00:00.000Z");
    expect(nextDigestSlot(new Date("2026-12-07T16:00:00Z"), paris).toISOString()).toBe("2026-12-07T17:00:00.000Z");
    // 18:00 exactly is today's; a minute later too.
    expect(lastDigestSlot(new Date("2026-12-07T17:00:00Z"), paris).toISOString()).toBe("2026-12-07T17:00:00.000Z");
    expect(nextDigestSlot(new Date("2026-12-07T17:01:00Z"), paris).toISOString()).toBe("2026-12-08T17:00:00.000Z");
  });

  test("the hour follows the zone's clock changes: New York's 18:00 is 22:00 UTC in summer, 23:00 in winter", () => {
    const newYork = { hour: 18, timeZone: "America/New_York" };
    // The clocks went forward on 8 March 2026.
    expect(nextDigestSlot(new Date("2026-03-07T12:00:00Z"), newYork).toISOString()).toBe("2026-03-07T23:00:00.000Z");
    expect(nextDigestSlot(new Date("2026-03-08T12:00:00Z"), newYork).toISOString()).toBe("2026-03-08T22:00:00.000Z");
    // An hour the spring change skips (02:00 on 8 March) goes out when the clock jumps past it (03:00 EDT).
    expect(nextDigestSlot(new Date("2026-03-08T05:00:00Z"), { hour: 2, timeZone: "America/New_York" }).toISOString()).toBe("2026-03-08T07:00:00.000Z");
  });

  test("a zone ahead of UTC by more than a day's half (Kiritimati, UTC+14) still has one digest a day", () => {
    const line = { hour: 8, timeZone: "Pacific/Kiritimati" };
    const last = lastDigestSlot(new Date("2026-12-07T12:00:00Z"), line);
    const next = nextDigestSlot(new Date("2026-12-07T12:00:00Z"), line);
    expect(last.toISOString()).toBe("2026-12-06T18:00:00.000Z");
    expect(next.getTime() - last.getTime()).toBe(86_400_000);
  });

  test("until chosen: 18:00 in the quiet hours' zone, else UTC; a zone the runtime does not know is UTC", () => {
    expect(digestTimeOf(null, null)).toEqual({ hour: DEFAULT_DIGEST_HOUR, timeZone: "UTC" });
    expect(digestTimeOf(null, "Asia/Tokyo")).toEqual({ hour: DEFAULT_DIGEST_HOUR, timeZone: "Asia/Tokyo" });
    expect(digestTimeOf({ hour: 7, timeZone: "Europe/Paris" }, "Asia/Tokyo")).toEqual({ hour: 7, timeZone: "Europe/Paris" });
    expect(digestTimeOf({ hour: 7, timeZone: "Mars/Olympus_Mons" }, null)).toEqual({ hour: 7, timeZone: "UTC" });
  });
});
