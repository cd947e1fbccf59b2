import { parseRequest, render } from "../../subgraphs/notification/src/domain/templates";
import { retryDelayMs } from "@startales/service-kit";

const user = "6f1c2e8a-3b7d-4a55-9c1e-0d2f4b6a8c10";
const campaign = "0b9e7c6d-5a4f-4e3d-8c2b-1a0f9e8d7c6b";

describe("notification requests", () => {
  it("reads a well-formed request and renders one notification per distinct recipient, idempotent on the event", () => {
    const request = parseRequest({ template: "CAMPAIGN_PAUSED", recipientIds: [user, user], campaignId: campaign, params: { campaignName: "Orion" } });
    expect(request).not.toBeNull();
    const rendered = render("11111111-2222-4333-8444-555555555555", request!);
    expect(rendered).toEqual([
      {
        recipientId: user,
        category: "CAMPAIGN",
        title: "Orion is paused",
        body: expect.any(String),
        campaignId: campaign,
        data: { template: "CAMPAIGN_PAUSED" },
        senderId: null,
        sourceKey: "event:11111111-2222-4333-8444-555555555555",
      },
    ]);
  });

  it.each([
    ["an unknown template", { template: "FLEET_LOST", recipientIds: [user], campaignId: null, params: {} }],
    ["a recipient that is not an id", { template: "PLAYER_LEFT", recipientIds: ["bob"], campaignId: null, params: {} }],
    ["a campaign that is not an id", { template: "PLAYER_LEFT", recipientIds: [user], campaignId: 7, params: {} }],
    ["a param that is not a string", { template: "PLAYER_LEFT", recipientIds: [user], campaignId: null, params: { userId: 7 } }],
    ["no recipients list", { template: "PLAYER_LEFT", campaignId: null, params: {} }],
    ["not an object", "PLAYER_LEFT"],
  ])("refuses %s", (_what, data) => {
    expect(parseRequest(data)).toBeNull();
  });
});

describe("delivery backoff (the service kit's, as the worker pool configures it)", () => {
  const options = { baseMs: 1_000, maxMs: 300_000, retryAfterMs: null };

  it("grows exponentially with full jitter, capped", () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, options, () => 1))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(retryDelayMs(30, options, () => 1)).toBe(300_000);
    expect(retryDelayMs(3, options, () => 0)).toBe(0);
    expect(retryDelayMs(3, options, () => 0.5)).toBe(2_000);
  });

  it("never retries sooner than the push service's Retry-After", () => {
    expect(retryDelayMs(1, { ...options, retryAfterMs: 30_000 }, () => 0.5)).toBe(30_000);
    expect(retryDelayMs(10, { ...options, retryAfterMs: 10 }, () => 1)).toBe(300_000);
  });
});
