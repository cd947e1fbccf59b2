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

export function createPushClient(options: { url: string; projectId: string; accessToken: string; timeoutMs: number }): PushClient {
  const endpoint = new URL(`/v1/projects/${encodeURIComponent(options.projectId)}/messages:send`, options.url).toString();
  return {
    async send(message) {
      let res: Response;
      try {
        res = await fetch(endpoint, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${options.accessToken}` },
          body: JSON.stringify({ message: { token: message.token, notification: { title: message.title, body: message.body }, data: message.data } }),
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (error) {
        return { kind: "retry", code: (error as Error).name === "TimeoutError" ? "TIMEOUT" : "UNREACHABLE", retryAfterMs: null };
      }
      const body = (await res.json().catch(() => ({}))) as FcmError & { name?: string };
      if (res.ok && typeof body.name === "string") return { kind: "sent", messageId: body.name };
      const code = body.error?.details?.find((d) => d.errorCode)?.errorCode ?? body.error?.status ?? `HTTP_${res.status}`;
      if (code === "UNREGISTERED" || res.status === 404) return { kind: "unregistered", code };
      // 401/403: our credentials, which an operator can fix; 429 and 5xx: the service's load.
      if (res.status === 429 || res.status >= 500 || res.status === 401 || res.status === 403 || res.ok) {
        return { kind: "retry", code, retryAfterMs: parseRetryAfter(res.headers.get("retry-after")) };
      }
      return { kind: "rejected", code };
    },
  };
}
