import type { IncomingMessage, ServerResponse } from "node:http";
import {
  BodyError,
  ErrorCode,
  IDENTITY_HEADER,
  badInput,
  createIdentityVerifier,
  headerValue,
  readBodyBytes,
  requestError,
  sendJson,
  type RouteHandler,
} from "@startales/service-kit";
import { z } from "zod";
import type { AssetService } from "../domain/asset-service";
import { refusal } from "../domain/asset-service";
import type { AssetUrls } from "../domain/asset-urls";
import { uploadFields } from "../domain/upload-rules";
import { publicAsset } from "./asset-json";

export const UPLOAD_PATH = "/content/assets";

const uploadQuery = z.strictObject(uploadFields);

/** RFC 9530's `Content-Digest: sha-256=:<base64>:`, as hex; undefined when the header names no SHA-256. */
function declaredSha256(req: IncomingMessage): string | undefined {
  const header = headerValue(req, "content-digest");
  if (!header) return undefined;
  const match = /(?:^|,)\s*sha-256=:([A-Za-z0-9+/=]+):/.exec(header);
  if (!match) throw refusal(400, "BAD_DIGEST", "Content-Digest must include sha-256=:<base64>: (RFC 9530)");
  const digest = Buffer.from(match[1]!, "base64");
  if (digest.length !== 32) throw refusal(400, "BAD_DIGEST", "Content-Digest's sha-256 is not 32 bytes");
  return digest.toString("hex");
}

/**
 * `POST /content/assets?kind=AVATAR|MEDIA|PACK_FILE&visibility=&name=`: a file in one request (its bytes are the
 * body), through the gateway, which verified the caller and signed who they are. Everything is
 * checked before anything is stored: the caller, the parameters, the size, the digest the
 * client declared, the type the bytes are. `Idempotency-Key` makes a retry safe.
 */
export function uploadRoute(deps: { assets: AssetService; urls: AssetUrls; gatewaySigningSecret: string; maxBytes: number }): Record<string, RouteHandler> {
  const verifyIdentity = createIdentityVerifier(deps.gatewaySigningSecret);
  return {
    [UPLOAD_PATH]: async (req: IncomingMessage, res: ServerResponse) => {
      const viewer = await verifyIdentity(headerValue(req, IDENTITY_HEADER)).catch(() => {
        throw requestError(ErrorCode.UNAUTHENTICATED, "Requests must come through the gateway");
      });
      if (viewer.kind !== "user") throw requestError(ErrorCode.UNAUTHENTICATED, "You must be signed in to upload");
      const parsed = uploadQuery.safeParse(Object.fromEntries(new URL(req.url ?? "/", "http://content").searchParams));
      if (!parsed.success) throw badInput("Invalid upload parameters", parsed.error.issues.map((issue) => ({ field: issue.path.join("."), message: issue.message })));
      const idempotencyKey = headerValue(req, "idempotency-key");
      if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,200}$/.test(idempotencyKey)) throw badInput("Idempotency-Key must be 1 to 200 visible ASCII characters");
      const sha256 = declaredSha256(req);
      let bytes: Buffer;
      try {
        bytes = await readBodyBytes(req, deps.maxBytes);
      } catch (error) {
        if (error instanceof BodyError) throw refusal(error.status, "TOO_LARGE", `An upload may be at most ${deps.maxBytes} bytes`);
        throw error;
      }
      if (bytes.length === 0) throw refusal(400, "EMPTY", "The request has no body: its bytes are the file");
      const { asset, replayed } = await deps.assets.upload(viewer, {
        ...parsed.data,
        idempotencyKey,
        declaredType: headerValue(req, "content-type"),
        declaredSha256: sha256,
        bytes,
      });
      const body = publicAsset(asset, deps.urls);
      sendJson(res, replayed ? 200 : 201, { asset: body }, { location: body.url });
    },
  };
}
