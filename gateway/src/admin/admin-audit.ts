import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger, SignedInViewer } from "@startales/service-kit";

/** bull-board's requests that change something; GET and HEAD only read. */
export const isMutating = (method: string | undefined) => !["GET", "HEAD", "OPTIONS"].includes(method ?? "GET");

/**
 * What a bull-board API request does, from its path: `/api/queues/<queue>/<job>/retry` is
 * `{ queue, action: "<job>/retry" }`, `/api/queues/<queue>/clean/failed` is
 * `{ queue, action: "clean/failed" }`, `/api/queues/pause` (every queue) has no queue.
 */
export function describeAction(path: string): { queue?: string; action: string } {
  const parts = path.split("/").filter(Boolean).map(safeDecode);
  if (parts[0] === "api" && parts[1] === "queues" && parts.length > 3) return { queue: parts[2], action: parts.slice(3).join("/") };
  return { action: parts.slice(parts[0] === "api" ? 1 : 0).join("/") };
}

/**
 * The audit trail of the queues admin: one info line per request that changes (or tried to
 * change) a queue, once it is answered, naming who, which queue, what and the outcome.
 */
export function auditWhenAnswered(req: IncomingMessage, res: ServerResponse, context: { viewer: SignedInViewer; requestId: string; logger: Logger }): void {
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  const { viewer, requestId, logger } = context;
  res.once("finish", () => {
    logger.info(
      {
        audit: "queues_admin",
        requestId,
        userId: viewer.userId,
        credential: viewer.credential,
        ...(viewer.apiKeyId ? { apiKeyId: viewer.apiKeyId } : {}),
        method: req.method,
        ...describeAction(path),
        status: res.statusCode,
      },
      res.statusCode < 400 ? "queues admin action" : "queues admin action refused or failed",
    );
  });
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
