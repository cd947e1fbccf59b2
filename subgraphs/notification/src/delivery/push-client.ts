import http from "node:http";
import https from "node:https";
import { parseRetryAfter } from "@startales/service-kit";

/**
 * The push service over FCM's HTTP v1 protocol (`POST /v1/projects/<project>/messages:send`,
 * bearer token, `{ message: { token, notification, data } }`). FCM's error codes decide what
 * happens next: an unregistered token is final for its device, throttling and outages are
 * retried, anything else the service refuses is final for the message.
 */
export type PushMessage = { token: string; title: string; body: string; data: Record<string, string> };

export type PushOutcome =
  | { kind: "sent"; messageId: string }
  /** The token is no longer valid: the device must get nothing more. */
  | { kind: "unregistered"; code: string }
  /** Refused for good (a malformed message, say): retrying cannot help. */
  | { kind: "rejected"; code: string }
  /** Worth another attempt, not sooner than `retryAfterMs` when the service said so. */
  | { kind: "retry"; code: string; retryAfterMs: number | null };

export type PushClient = { send(message: PushMessage): Promise<PushOutcome> };

type FcmError = { error?: { status?: string; details?: { errorCode?: string }[] } };

/** Connections kept open to the push service per worker process (more requests wait for one). */
const MAX_SOCKETS = 64;

type Answer = { status: number; retryAfter: string | null; body: string };

/**
 * The push service over pooled keep-alive connections (node's http(s) Agent): a campaign's
 * fan-out is thousands of requests to one host, so each reuses a connection instead of a TCP
 * (and TLS) handshake, and `fetch`'s web streams and abort signals are not paid per message.
 */
export function createPushClient(options: { url: string; projectId: string; accessToken: string; timeoutMs: number }): PushClient & { close(): void } {
  const endpoint = new URL(`/v1/projects/${encodeURIComponent(options.projectId)}/messages:send`, options.url);
  const transport = endpoint.protocol === "https:" ? https : http;
  const agent = new transport.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });

  /** One POST; rejects with a TimeoutError after `timeoutMs` (waiting for a connection included), or the network's error. */
  const post = (payload: string) =>
    new Promise<Answer>((resolve, reject) => {
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      const request = transport.request(
        endpoint,
        {
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload), authorization: `Bearer ${options.accessToken}` },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            clearTimeout(timer);
            const retryAfter = res.headers["retry-after"];
            resolve({ status: res.statusCode ?? 0, retryAfter: typeof retryAfter === "string" ? retryAfter : null, body: Buffer.concat(chunks).toString("utf8") });
          });
          res.on("error", fail);
        },
      );
      const timer = setTimeout(() => request.destroy(Object.assign(new Error("push service timed out"), { name: "TimeoutError" })), options.timeoutMs);
      request.on("error", fail);
      request.end(payload);
    });

  return {
    async send(message) {
      let res: Answer;
      try {
        res = await post(JSON.stringify({ message: { token: message.token, notification: { title: message.title, body: message.body }, data: message.data } }));
      } catch (error) {
        return { kind: "retry", code: (error as Error).name === "TimeoutError" ? "TIMEOUT" : "UNREACHABLE", retryAfterMs: null };
      }
      let body: FcmError & { name?: string } = {};
      try {
        body = JSON.parse(res.body) as typeof body;
      } catch {
        // Not JSON (a proxy's error page): the status decides.
      }
      const ok = res.status >= 200 && res.status < 300;
      if (ok && typeof body.name === "string") return { kind: "sent", messageId: body.name };
      const code = body.error?.details?.find((d) => d.errorCode)?.errorCode ?? body.error?.status ?? `HTTP_${res.status}`;
      if (code === "UNREGISTERED" || res.status === 404) return { kind: "unregistered", code };
      // 401/403: our credentials, which an operator can fix; 429 and 5xx: the service's load.
      if (res.status === 429 || res.status >= 500 || res.status === 401 || res.status === 403 || ok) {
        return { kind: "retry", code, retryAfterMs: parseRetryAfter(res.retryAfter) };
      }
      return { kind: "rejected", code };
    },
    /** Closes the pooled connections (the worker pool's stop). */
    close: () => agent.destroy(),
  };
}
