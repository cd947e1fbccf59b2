import { canonicalTimeZone, formatMinute, parseMinute, quietUntil, zonedInstant } from "../../subgraphs/notification/src/domain/quiet-hours";

const at = (iso: string) => new Date(iso);
/** 22:00–07:30, crossing midnight. */
const night = { startMinute: 22 * 60, endMinute: 7 * 60 + 30 };

describe("quiet hours: when a window that holds now ends", () => {
  it("is null outside the window, and the end of the night inside it (both sides of midnight)", () => {
    expect(quietUntil(at("2026-01-15T12:00:00Z"), night, "Europe/Paris")).toBeNull();
    // 23:30 in Paris (CET, +1): ends at 07:30 tomorrow.
    expect(quietUntil(at("2026-01-15T22:30:00Z"), night, "Europe/Paris")).toEqual(at("2026-01-16T06:30:00Z"));
    // 04:00 in Paris: ends at 07:30 the same day.
    expect(quietUntil(at("2026-01-16T03:00:00Z"), night, "Europe/Paris")).toEqual(at("2026-01-16T06:30:00Z"));
  });

  it("includes the start minute and excludes the end minute; a window within a day works too", () => {
    const lunch = { startMinute: 13 * 60, endMinute: 14 * 60 };
    expect(quietUntil(at("2026-01-15T12:00:00Z"), lunch, "Europe/Paris")).toEqual(at("2026-01-15T13:00:00Z"));
    expect(quietUntil(at("2026-01-15T12:59:59Z"), lunch, "Europe/Paris")).toEqual(at("2026-01-15T13:00:00Z"));
    expect(quietUntil(at("2026-01-15T13:00:00Z"), lunch, "Europe/Paris")).toBeNull();
    expect(quietUntil(at("2026-01-15T11:59:00Z"), lunch, "Europe/Paris")).toBeNull();
    expect(quietUntil(at("2026-01-15T21:00:00Z"), night, "Europe/Paris")).toEqual(at("2026-01-16T06:30:00Z"));
    expect(quietUntil(at("2026-01-16T06:30:00Z"), night, "Europe/Paris")).toBeNull();
  });

  it("follows Europe/Paris across its daylight-saving changes", () => {
    // 29 March 2026: 02:00 CET becomes 03:00 CEST; the night is an hour shorter.
    expect(quietUntil(at("2026-03-28T22:00:00Z"), night, "Europe/Paris")).toEqual(at("2026-03-29T05:30:00Z"));
    // 25 October 2026: 03:00 CEST becomes 02:00 CET; an hour longer.
    expect(quietUntil(at("2026-10-24T21:00:00Z"), night, "Europe/Paris")).toEqual(at("2026-10-25T06:30:00Z"));
    // An end inside the skipped hour (02:30 on 29 March): the window ends when the clock jumps.
    expect(quietUntil(at("2026-03-28T22:30:00Z"), { startMinute: 23 * 60, endMinute: 2 * 60 + 30 }, "Europe/Paris")).toEqual(at("2026-03-29T01:00:00Z"));
    // An end inside the repeated hour (02:30 on 25 October): its first occurrence.
    expect(quietUntil(at("2026-10-24T22:00:00Z"), { startMinute: 23 * 60, endMinute: 2 * 60 + 30 }, "Europe/Paris")).toEqual(at("2026-10-25T00:30:00Z"));
  });

  it("follows America/New_York across its daylight-saving changes", () => {
    const ny = { startMinute: 22 * 60, endMinute: 7 * 60 };
    // 8 March 2026: 02:00 EST (-5) becomes 03:00 EDT (-4). 23:00 EST on the 7th → 07:00 EDT.
    expect(quietUntil(at("2026-03-08T04:00:00Z"), ny, "America/New_York")).toEqual(at("2026-03-08T11:00:00Z"));
    // 1 November 2026: 02:00 EDT becomes 01:00 EST. 23:00 EDT on 31 October → 07:00 EST.
    expect(quietUntil(at("2026-11-01T03:00:00Z"), ny, "America/New_York")).toEqual(at("2026-11-01T12:00:00Z"));
    // Ending at 01:30, which happens twice that night: the first one (EDT).
    expect(quietUntil(at("2026-11-01T04:30:00Z"), { startMinute: 0, endMinute: 90 }, "America/New_York")).toEqual(at("2026-11-01T05:30:00Z"));
    // Inside the repeated hour's second pass (01:15 EST), a window 01:00–01:45 ends at 01:45 EST.
    expect(quietUntil(at("2026-11-01T06:15:00Z"), { startMinute: 60, endMinute: 105 }, "America/New_York")).toEqual(at("2026-11-01T06:45:00Z"));
  });

  it("handles a zone east of UTC+12, where the local date is a day ahead of UTC", () => {
    // Pacific/Kiritimati is UTC+14. 09:00Z on 1 June is 23:00 on 1 June there.
    expect(quietUntil(at("2026-06-01T09:00:00Z"), night, "Pacific/Kiritimati")).toEqual(at("2026-06-01T17:30:00Z"));
    // 12:00Z on 1 June is 02:00 on 2 June there: the same end.
    expect(quietUntil(at("2026-06-01T12:00:00Z"), night, "Pacific/Kiritimati")).toEqual(at("2026-06-01T17:30:00Z"));
    expect(quietUntil(at("2026-06-01T18:00:00Z"), night, "Pacific/Kiritimati")).toBeNull();
    expect(zonedInstant({ year: 2026, month: 1, day: 1, hour: 0, minute: 0 }, "Pacific/Kiritimati")).toBe(Date.parse("2025-12-31T10:00:00Z"));
  });

  it("reads HH:MM and IANA zones, and nothing else", () => {
    expect(parseMinute("07:30")).toBe(450);
    expect(parseMinute("00:00")).toBe(0);
    expect(parseMinute("23:59")).toBe(1439);
    for (const bad of ["24:00", "7:30", "07:60", "07:30:00", "", "ab:cd"]) expect(parseMinute(bad)).toBeNull();
    expect(formatMinute(450)).toBe("07:30");
    expect(canonicalTimeZone("Europe/Paris")).toBe("Europe/Paris");
    expect(canonicalTimeZone("UTC")).toBe("UTC");
    for (const bad of ["Mars/Olympus_Mons", "UTC+2", "", "+02:00", "Europe/Paris "]) expect(canonicalTimeZone(bad)).toBeNull();
  });
});
