import { TRANSITIONS, transition, type LifecycleAction } from "../../subgraphs/campaign/src/domain/lifecycle";

type Status = "DRAFT" | "RUNNING" | "PAUSED" | "ENDED";

// The whole state machine, written out by hand: null means the action is refused.
const TABLE: Record<Status, Record<LifecycleAction, Status | null>> = {
  DRAFT: { start: "RUNNING", pause: null, resume: null, end: "ENDED" },
  RUNNING: { start: null, pause: "PAUSED", resume: null, end: "ENDED" },
  PAUSED: { start: null, pause: null, resume: "RUNNING", end: "ENDED" },
  ENDED: { start: null, pause: null, resume: null, end: null },
};

const ALLOWED_FROM: Record<LifecycleAction, string> = {
  start: "DRAFT",
  pause: "RUNNING",
  resume: "PAUSED",
  end: "DRAFT or RUNNING or PAUSED",
};

const cases = (Object.keys(TABLE) as Status[]).flatMap((status) =>
  (Object.keys(TABLE[status]) as LifecycleAction[]).map((action) => [status, action, TABLE[status][action]] as const),
);

describe("campaign lifecycle transition", () => {
  it("covers all 16 (status, action) pairs", () => {
    expect(cases).toHaveLength(16);
  });

  it.each(cases.filter(([, , to]) => to !== null))("%s --%s--> %s", (status, action, to) => {
    expect(transition(status, action)).toEqual({ ok: true, to });
  });

  it.each(cases.filter(([, , to]) => to === null))("refuses to %2$s a %1$s campaign, naming the allowed states", (status, action) => {
    expect(transition(status, action)).toEqual({
      ok: false,
      reason: `Cannot ${action} a campaign that is ${status}; allowed from ${ALLOWED_FROM[action]}`,
    });
  });

  it("ENDED is terminal", () => {
    for (const action of Object.keys(TRANSITIONS) as LifecycleAction[]) expect(transition("ENDED", action).ok).toBe(false);
  });

  it("gives every action an event name", () => {
    expect(Object.fromEntries(Object.entries(TRANSITIONS).map(([action, rule]) => [action, rule.event]))).toEqual({
      start: "CAMPAIGN_STARTED",
      pause: "CAMPAIGN_PAUSED",
      resume: "CAMPAIGN_RESUMED",
      end: "CAMPAIGN_ENDED",
    });
  });
});
