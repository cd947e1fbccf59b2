import { refreshAheadAge } from "../../gateway/src/subscriptions/live-hub";

/**
 * When a shared subscriber's authorization is refreshed ahead of need: each at an age of its
 * own, so subscribers that joined together (a campaign starting, every socket of a restarted
 * gateway reconnecting) are checked on different events instead of all on one.
 */
it("refreshes between half and nine tenths of the window", () => {
  expect(refreshAheadAge(15_000, () => 0)).toBe(7_500);
  expect(refreshAheadAge(15_000, () => 0.999_999)).toBeLessThan(13_500);
  expect(refreshAheadAge(15_000, () => 0.999_999)).toBeGreaterThan(13_499);
  expect(refreshAheadAge(0)).toBe(0);
});

it("spreads a thousand subscribers that joined at once over that span", () => {
  const ages = Array.from({ length: 1000 }, () => refreshAheadAge(15_000));
  // Ten slices of 600 ms between 7.5 s and 13.5 s: none empty, none with more than a fifth.
  const slices = new Array<number>(10).fill(0);
  for (const age of ages) slices[Math.min(9, Math.floor((age - 7_500) / 600))]! += 1;
  expect(Math.min(...slices)).toBeGreaterThan(0);
  expect(Math.max(...slices)).toBeLessThan(200);
  expect(Math.min(...ages)).toBeGreaterThanOrEqual(7_500);
  expect(Math.max(...ages)).toBeLessThan(13_500);
});
