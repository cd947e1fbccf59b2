import type { NotificationTemplate } from "@startales/service-kit";
import type { CampaignStatus } from "../generated/prisma/client";

export type LifecycleAction = "start" | "pause" | "resume" | "end";

/** The campaign state machine: which states each action leaves from, and where it goes. */
export const TRANSITIONS: Record<LifecycleAction, { from: readonly CampaignStatus[]; to: CampaignStatus; event: Extract<NotificationTemplate, `CAMPAIGN_${string}`> }> = {
  start: { from: ["DRAFT"], to: "RUNNING", event: "CAMPAIGN_STARTED" },
  pause: { from: ["RUNNING"], to: "PAUSED", event: "CAMPAIGN_PAUSED" },
  resume: { from: ["PAUSED"], to: "RUNNING", event: "CAMPAIGN_RESUMED" },
  end: { from: ["DRAFT", "RUNNING", "PAUSED"], to: "ENDED", event: "CAMPAIGN_ENDED" },
};

export type TransitionResult = { ok: true; to: CampaignStatus } | { ok: false; reason: string };

export function transition(current: CampaignStatus, action: LifecycleAction): TransitionResult {
  const rule = TRANSITIONS[action];
  if (rule.from.includes(current)) return { ok: true, to: rule.to };
  return {
    ok: false,
    reason: `Cannot ${action} a campaign that is ${current}; allowed from ${rule.from.join(" or ")}`,
  };
}
