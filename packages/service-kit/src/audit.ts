import { z } from "zod";
import type { Viewer } from "./viewer";

/** Whether an audited action happened or was refused. */
export const AuditOutcome = { SUCCESS: "SUCCESS", FAILURE: "FAILURE" } as const;
export type AuditOutcome = (typeof AuditOutcome)[keyof typeof AuditOutcome];

/** Plain JSON, as stored in audit_log.details. */
export type AuditDetails = { [key: string]: AuditDetailValue };
type AuditDetailValue = string | number | boolean | null | AuditDetailValue[] | { [key: string]: AuditDetailValue };

/**
 * What happened. Details carry ids and states only: never emails, tokens, secrets, IPs or
 * any other personal data (the log is kept for good and cannot be edited).
 */
export type AuditEvent = {
  /** `<subgraph>.<thing>.<verb>`, e.g. "identity.login", "campaign.start". */
  action: string;
  outcome: AuditOutcome;
  targetType?: string;
  targetId?: string | null;
  details?: AuditDetails;
};

/** One audit_log row as every subgraph stores it (model AuditEntry). */
export type AuditEntryData = {
  actorId: string | null;
  actorRoles: string[];
  credential: string | null;
  action: string;
  outcome: AuditOutcome;
  targetType: string | null;
  targetId: string | null;
  requestId: string;
  details: AuditDetails;
};

/** The row for `event`, done by `viewer` (no actor when anonymous) in request `requestId`. */
export function auditEntry(viewer: Viewer, requestId: string, event: AuditEvent): AuditEntryData {
  const user = viewer.kind === "user" ? viewer : null;
  return {
    actorId: user?.userId ?? null,
    actorRoles: user ? [...user.roles] : [],
    credential: user?.credential ?? null,
    action: event.action,
    outcome: event.outcome,
    targetType: event.targetType ?? null,
    targetId: event.targetId ?? null,
    requestId,
    details: event.details ?? {},
  };
}

/** Who acts and in which request: a subgraph's resolver context has both. */
export type AuditContext = { viewer: Viewer; requestId: string };

/** The admin audit-log queries' arguments: `first` 1..200 (default 50) after the entry `after`, one `action`. */
export const auditLogArgs = z.object({
  first: z.number().int().min(1, "must be at least 1").max(200, "must be at most 200").nullish().transform((v) => v ?? 50),
  after: z.uuid("must be a valid ID").nullish(),
  action: z.string().min(1, "must not be empty").max(128, "is too long").nullish(),
});
