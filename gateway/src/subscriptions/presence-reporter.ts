import { randomUUID } from "node:crypto";
import { IDENTITY_HEADER, REQUEST_ID_HEADER, anonymous, type Logger, type Viewer } from "@startales/service-kit";

export type PresenceReporter = {
  /** Settles (never rejects) once realtime has the connection, or gave up: awaited before the ack. */
  connected(connectionId: string, viewer: Viewer): Promise<void>;
  disconnected(connectionId: string, viewer: Viewer): void;
  /** The sockets of this replica that are still open (realtime expires the others). */
  heartbeat(connectionIds: string[]): void;
};

// Short: a connect waits for it, and presence is advisory.
const TIMEOUT_MS = 1_000;
const HEARTBEAT_BATCH = 1_000;

/**
 * Tells the realtime service which signed-in users have a socket open, so presence is right
 * whichever replica holds the socket. Presence is advisory: a failure is logged, never
 * fatal to the connection, and the next heartbeat (or realtime's expiry) corrects it.
 */
export function createPresenceReporter(options: {
  realtimeUrl: string;
  signIdentity: (viewer: Viewer, requestId: string) => Promise<string>;
  logger: Logger;
}): PresenceReporter {
  const { signIdentity, logger } = options;
  const post = (path: string, viewer: Viewer, body: unknown): Promise<void> => {
    const requestId = randomUUID();
    return (async () => {
      try {
        const response = await fetch(new URL(path, options.realtimeUrl), {
          method: "POST",
          headers: { "content-type": "application/json", [IDENTITY_HEADER]: await signIdentity(viewer, requestId), [REQUEST_ID_HEADER]: requestId },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        await response.arrayBuffer();
        if (!response.ok) logger.warn({ path, status: response.status, requestId }, "realtime refused a presence report");
      } catch (error) {
        logger.debug({ err: error, path, requestId }, "realtime unreachable for a presence report");
      }
    })();
  };
  // A socket's connect report in flight: its disconnect is sent after it, never before.
  const connecting = new Map<string, Promise<void>>();
  return {
    // Awaited before the ack, so that a client's own connect is known before anything it
    // does next (closing another tab included): no OFFLINE flicker between two sockets.
    connected: async (connectionId, viewer) => {
      if (viewer.kind !== "user") return;
      const report = post("/internal/presence/connect", viewer, { connectionId });
      connecting.set(connectionId, report);
      await report;
    },
    disconnected: (connectionId, viewer) => {
      if (viewer.kind !== "user") return;
      const connect = connecting.get(connectionId) ?? Promise.resolve();
      connecting.delete(connectionId);
      void connect.then(() => post("/internal/presence/disconnect", viewer, { connectionId }));
    },
    heartbeat: (connectionIds) => {
      for (let i = 0; i < connectionIds.length; i += HEARTBEAT_BATCH) {
        void post("/internal/presence/heartbeat", anonymous, { connectionIds: connectionIds.slice(i, i + HEARTBEAT_BATCH) });
      }
    },
  };
}
