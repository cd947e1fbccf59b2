import { createHash, randomUUID } from "node:crypto";
import { IDENTITY_HEADER, REQUEST_ID_HEADER, Role, createIdentitySigner, injectTraceHeaders, signedIn, type Logger } from "@startales/service-kit";

/** content's upload route (subgraphs/content/src/http/upload-route.ts) and download prefix. */
const UPLOAD_PATH = "/content/assets";
const DOWNLOAD_PREFIX = "/content/";

/** Content could not be reached, timed out or failed (5xx, 408, 429): nothing was lost, try the job again later. */
export class ContentUnavailable extends Error {
  constructor(message: string, readonly retryAfterMs: number | null = null) {
    super(message);
    this.name = "ContentUnavailable";
  }
}

/** Content refused the bytes (4xx): trying again would not help. `code` and `reason` are content's. */
export class ContentRefused extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
    readonly reason: string | null,
  ) {
    super(message);
    this.name = "ContentRefused";
  }
}

export type StoredMedia = { sha256: string; mediaType: string; size: number };

/**
 * The names vendors give some types, as content names them: content refuses bytes whose
 * declared type is not the one it reads from them, and it reads WAV as audio/wav.
 */
const TYPE_ALIASES: Record<string, string> = {
  "audio/x-wav": "audio/wav",
  "audio/wave": "audio/wav",
  "audio/vnd.wave": "audio/wav",
  "audio/mp3": "audio/mpeg",
  "image/jpg": "image/jpeg",
};
export const contentTypeForContent = (type: string) => {
  const bare = type.split(";")[0]!.trim().toLowerCase();
  return TYPE_ALIASES[bare] ?? bare;
};

/** `Retry-After` in seconds (or an HTTP date), as milliseconds; null when absent or unreadable. */
function retryAfterMs(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/** content's refusal, as every HTTP route of ours answers one: `{ errors: [{ message, extensions: { code, reason } }] }`. */
async function refusalOf(res: Response): Promise<{ message: string | null; code: string | null; reason: string | null }> {
  try {
    const body = (await res.json()) as { errors?: { message?: unknown; extensions?: { code?: unknown; reason?: unknown } }[] };
    const first = body.errors?.[0];
    const text = (value: unknown) => (typeof value === "string" ? value.slice(0, 300) : null);
    return { message: text(first?.message), code: text(first?.extensions?.code), reason: text(first?.extensions?.reason) };
  } catch {
    return { message: null, code: null, reason: null };
  }
}

/**
 * The worker pool's client of the content subgraph: generated audio and images are stored
 * there (`kind=MEDIA`, public, owned by no user) by a SERVICE identity the pool signs for
 * PROVIDER_SERVICE_ID with the shared GATEWAY_SIGNING_SECRET, and served on the gateway's
 * public origin at `/content/<sha256>`. No Idempotency-Key (content ignores it for a service's
 * media): blobs are content-addressed, so a retried job stores the same bytes again harmlessly
 * (at most one more asset row naming the same blob).
 */
export function createContentClient(options: { url: string; secret: string; serviceId: string; timeoutMs: number; logger: Logger }) {
  const sign = createIdentitySigner(options.secret);
  const origin = new URL(options.url).origin;
  // A writer (read and write scopes, signedIn's default): content stores uploads only from writers.
  const service = signedIn(options.serviceId, [Role.SERVICE]);
  const { logger } = options;

  async function headers(extra: Record<string, string>): Promise<Record<string, string>> {
    const requestId = randomUUID();
    const headers: Record<string, string> = { ...extra, [IDENTITY_HEADER]: await sign(service, requestId), [REQUEST_ID_HEADER]: requestId };
    injectTraceHeaders(headers);
    return headers;
  }

  return {
    /**
     * Stores `bytes` as public media and answers what content stored: its SHA-256 (checked
     * against ours) and the type content serves them as. Throws ContentUnavailable (retry the
     * job) or ContentRefused (it would be refused again).
     */
    async put(bytes: Buffer, contentType: string): Promise<StoredMedia> {
      const digest = createHash("sha256").update(bytes).digest();
      const sha256 = digest.toString("hex");
      let res: Response;
      try {
        res = await fetch(`${origin}${UPLOAD_PATH}?kind=MEDIA`, {
          method: "POST",
          headers: await headers({ "content-type": contentTypeForContent(contentType), "content-digest": `sha-256=:${digest.toString("base64")}:` }),
          body: new Uint8Array(bytes),
          redirect: "error",
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (error) {
        const timedOut = (error as Error).name === "TimeoutError";
        logger.warn({ err: error, sha256, size: bytes.length }, timedOut ? "content did not answer an upload in time" : "content unreachable for an upload");
        throw new ContentUnavailable(timedOut ? `content did not answer within ${options.timeoutMs} ms` : "content is unreachable");
      }
      if (res.status === 200 || res.status === 201) {
        const answer = (await res.json().catch(() => null)) as { asset?: { sha256?: unknown; mediaType?: unknown; size?: unknown } } | null;
        const asset = answer?.asset;
        if (asset?.sha256 !== sha256) {
          // Content hashes what it received: another hash means the bytes changed on the way.
          const problem = typeof asset?.sha256 === "string" ? "content stored bytes of another SHA-256 than were sent" : "content's answer names no asset";
          logger.error({ sha256, answered: asset?.sha256, status: res.status }, problem);
          throw new ContentUnavailable(problem);
        }
        return { sha256, mediaType: typeof asset.mediaType === "string" ? asset.mediaType : contentType, size: typeof asset.size === "number" ? asset.size : bytes.length };
      }
      const refusal = await refusalOf(res);
      if (res.status >= 500 || res.status === 408 || res.status === 429) {
        logger.warn({ status: res.status, code: refusal.code, sha256 }, "content could not store generated bytes; the job will be retried");
        throw new ContentUnavailable(`content answered ${res.status}`, retryAfterMs(res.headers.get("retry-after")));
      }
      logger.error(
        { status: res.status, code: refusal.code, reason: refusal.reason, message: refusal.message, sha256, size: bytes.length, contentType },
        "content refused generated bytes",
      );
      throw new ContentRefused(`content refused the generated ${contentType} (${res.status} ${refusal.reason ?? refusal.code ?? "no reason given"})`, res.status, refusal.code, refusal.reason);
    },

    /** Whether content serves `sha256` (a public blob); false when it does not, or cannot say now. */
    async has(sha256: string): Promise<boolean> {
      try {
        const res = await fetch(`${origin}${DOWNLOAD_PREFIX}${sha256}`, { method: "HEAD", redirect: "error", signal: AbortSignal.timeout(options.timeoutMs) });
        return res.status === 200;
      } catch (error) {
        logger.warn({ err: error, sha256 }, "content unreachable to check a cached result's bytes");
        return false;
      }
    },
  };
}

export type ContentClient = ReturnType<typeof createContentClient>;
