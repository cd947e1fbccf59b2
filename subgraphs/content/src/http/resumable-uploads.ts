import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { mkdir } from "node:fs/promises";
import type { Readable } from "node:stream";
import { GraphQLError } from "graphql";
import type { Locker, Server } from "@tus/server" with { "resolution-mode": "import" };
import type { Upload } from "@tus/utils" with { "resolution-mode": "import" };
import { ErrorCode, IDENTITY_HEADER, createIdentityVerifier, httpStatusOf, type Logger, type RouteHandler, type Viewer } from "@startales/service-kit";
import { z } from "zod";
import type { AssetService } from "../domain/asset-service";
import type { AssetUrls } from "../domain/asset-urls";
import { uploadFields, uploaderFor } from "../domain/upload-rules";
import { publicAsset } from "./asset-json";
import { LockStoreUnavailableError } from "./redis-locker";

export const RESUMABLE_PATH = "/content/uploads";
/** How much of a staged file is read to tell its type: a file this small is read whole (JSON has no signature). */
const SNIFF_WHOLE_BELOW = 16 * 1024 * 1024;
const SNIFF_HEAD_BYTES = 64 * 1024;

/** What a client says of its file when it begins (tus `Upload-Metadata`); `sha256` is checked when the last byte arrives. */
const uploadMetadata = z.object({
  ...uploadFields,
  contentType: z.string().max(100).optional(),
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, "the file's SHA-256, 64 hex digits").transform((value) => value.toLowerCase()),
});

/** A refusal in tus's terms (a status and a body), carrying our error format. */
const tusError = (status: number, code: string, message: string, reason?: string) => ({
  status_code: status,
  body: JSON.stringify({ errors: [{ message, extensions: { code, ...(reason ? { reason } : {}) } }] }),
});

/** Our errors (GraphQLError with a code and maybe an HTTP status) in tus's terms, with the status every plain route answers them with. */
function asTusError(error: unknown): { status_code: number; body: string } {
  if (error instanceof GraphQLError) {
    const { code, reason } = error.extensions as { code?: string; reason?: string };
    return tusError(httpStatusOf(error), code ?? ErrorCode.BAD_REQUEST, error.message, reason);
  }
  throw error;
}

async function headOf(stream: Readable, size: number): Promise<Buffer> {
  const limit = size <= SNIFF_WHOLE_BELOW ? size : SNIFF_HEAD_BYTES;
  const chunks: Buffer[] = [];
  let read = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    read += chunk.length;
    if (read >= limit) break;
  }
  stream.destroy();
  return Buffer.concat(chunks).subarray(0, limit);
}

/**
 * Resumable uploads on the tus protocol (tus.io, 1.0: creation, termination, expiration),
 * through @tus/server: a client that loses its connection asks how much arrived (HEAD) and
 * sends the rest (PATCH), which a single request cannot do. Chosen over S3 multipart with
 * presigned URLs because it works the same on both storage drivers, keeps clients on the
 * gateway's origin (never the bucket's), and has maintained clients (tus-js-client, TUSKit,
 * tus-android). Parts are staged under `stagingDir` (never where blobs are served from); when
 * the last one arrives the file goes through the same checks as a one-request upload (type,
 * quota), and into storage only if its bytes match the SHA-256 the client declared when it
 * began. Each request carries the gateway's signed identity; an upload is its uploader's alone.
 * One request at a time writes an upload, on any replica: `locker` (redis-locker.ts).
 */
export function resumableUploadRoute(deps: {
  assets: AssetService;
  urls: AssetUrls;
  publicBaseUrl: string;
  gatewaySigningSecret: string;
  stagingDir: string;
  /** Shared by every replica (a RedisLocker): a client's next PATCH may reach another replica while the last one still writes. */
  locker: Locker;
  maxBytes: number;
  quotaBytes: number;
  logger: Logger;
}): Record<string, RouteHandler> {
  const verifyIdentity = createIdentityVerifier(deps.gatewaySigningSecret);

  const viewerOf = async (req: Request): Promise<Extract<Viewer, { kind: "user" }>> => {
    const viewer = await verifyIdentity(req.headers.get(IDENTITY_HEADER) ?? undefined).catch(() => undefined);
    if (!viewer || viewer.kind !== "user") throw tusError(401, ErrorCode.UNAUTHENTICATED, "You must be signed in to upload");
    return viewer;
  };

  // @tus/server 2 is published as ES modules only: loaded with import() (kept by the CommonJS build) once, at the first upload.
  let server: Promise<Server> | undefined;
  const build = async (): Promise<Server> => {
    const [{ Server: TusServer, ERRORS }, { FileStore }] = await Promise.all([import("@tus/server"), import("@tus/file-store")]);
    // Made at the first upload, not at start: a content without uploads needs no writable staging.
    await mkdir(deps.stagingDir, { recursive: true });
    const datastore = new FileStore({ directory: deps.stagingDir, expirationPeriodInMilliseconds: 24 * 60 * 60 * 1000 });
    return new TusServer({
      path: RESUMABLE_PATH,
      datastore,
      maxSize: deps.maxBytes,
      locker: deps.locker,
      // The Location a client resumes at is on the gateway's public origin, like every URL content hands out.
      generateUrl: (_req, { id }) => `${deps.publicBaseUrl}${RESUMABLE_PATH}/${id}`,
      namingFunction: () => randomUUID(),
      // An upload is read, resumed or cancelled only by who began it.
      onIncomingRequest: async (req, uploadId) => {
        const viewer = await viewerOf(req);
        if (req.method === "POST" || req.method === "OPTIONS") return;
        const upload = await datastore.getUpload(uploadId).catch(() => null);
        if (!upload || upload.metadata?.uploaderId !== viewer.userId) throw tusError(404, ErrorCode.NOT_FOUND, "No such upload");
      },
      onUploadCreate: async (req, upload) => {
        const viewer = await viewerOf(req);
        const parsed = uploadMetadata.safeParse(upload.metadata ?? {});
        if (!parsed.success) throw tusError(400, ErrorCode.BAD_USER_INPUT, `Upload-Metadata: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`);
        if (upload.size === undefined) throw tusError(400, ErrorCode.BAD_REQUEST, "Upload-Length is required: the size is part of what is checked before anything is stored");
        try {
          const uploader = uploaderFor(viewer, parsed.data.kind);
          if (uploader.quotaApplies && uploader.ownerId && (await deps.assets.usedBytes(uploader.ownerId)) + upload.size > deps.quotaBytes) {
            throw tusError(413, ErrorCode.BAD_REQUEST, `Your assets may add up to ${deps.quotaBytes} bytes`, "QUOTA_EXCEEDED");
          }
        } catch (error) {
          throw asTusError(error);
        }
        return { metadata: { ...upload.metadata, sha256: parsed.data.sha256, uploaderId: viewer.userId } };
      },
      // tus answers a lock it could not take with a plain-text 500; it is neither a fault of ours nor
      // the end of the upload: 423, which tus clients retry (tus-js-client does), in our format.
      onResponseError: (_req, error) => {
        if (error === ERRORS.ERR_LOCK_TIMEOUT) return tusError(423, ErrorCode.CONFLICT, "Another request is writing this upload: try again shortly", "UPLOAD_LOCKED");
        if (error instanceof LockStoreUnavailableError) {
          deps.logger.warn({ err: error }, "an upload's lock could not be taken");
          return tusError(503, ErrorCode.SERVICE_UNAVAILABLE, "Uploads cannot be resumed right now: try again shortly");
        }
        return undefined;
      },
      onUploadFinish: async (req, upload: Upload) => {
        const viewer = await viewerOf(req);
        const metadata = uploadMetadata.parse(upload.metadata ?? {});
        const size = upload.size ?? upload.offset;
        try {
          const asset = await deps.assets.uploadStaged(viewer, {
            kind: metadata.kind,
            visibility: metadata.visibility,
            name: metadata.name,
            declaredType: metadata.contentType,
            sha256: metadata.sha256,
            size,
            head: await headOf(datastore.read(upload.id), size),
            open: () => datastore.read(upload.id),
          });
          return { status_code: 201, headers: { "content-type": "application/json" }, body: JSON.stringify({ asset: publicAsset(asset, deps.urls) }) };
        } catch (error) {
          throw asTusError(error);
        } finally {
          // Stored or refused, the staged parts are not needed again: a refused file is begun anew.
          await datastore.remove(upload.id).catch((error: unknown) => deps.logger.warn({ err: error, upload: upload.id }, "could not remove a finished upload's staged file"));
        }
      },
    });
  };

  return {
    [RESUMABLE_PATH]: async (req: IncomingMessage, res: ServerResponse) => {
      // A failed start (staging not writable) is tried again by the next upload, not kept.
      server ??= build().catch((error: unknown) => {
        server = undefined;
        throw error;
      });
      await (await server).handle(req, res);
    },
  };
}

