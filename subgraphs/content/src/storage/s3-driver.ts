import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { BlobVerifier, verifyAndDiscard } from "./blob-verifier";
import { BLOB_KEY, type ByteRange, type StorageDriver, assertBlobKey } from "./storage-driver";

/** User metadata (x-amz-meta-stored-at) a put again writes: when the bytes were last stored. */
const STORED_AT = "stored-at";

export type S3DriverOptions = {
  /** MinIO's or s3rver's URL; AWS's own when absent. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Both or neither: without them the SDK's default chain (environment, profile, instance role). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** `bucket` in the path rather than the host name: MinIO and s3rver need it. */
  forcePathStyle: boolean;
  /** Where blobs go in the bucket, "blobs/" when absent. */
  prefix?: string;
  /** The endpoint clients reach the bucket at, for presigned URLs (the host is signed); `endpoint` when absent. */
  publicEndpoint?: string;
};

/** S3's limit for one PutObject and for one CopyObject: a larger blob would need a multipart upload. */
const MAX_SINGLE_REQUEST_BYTES = 5 * 1024 ** 3;

/**
 * Blobs as objects `<prefix><sha256>`. A put uploads to `<prefix>staging/<uuid>` while hashing
 * the body, and copies to the blob's key only once the bytes are verified.
 *
 * Why staging rather than one PutObject with the digest in `x-amz-checksum-sha256` (which real S3
 * and recent MinIO verify): s3rver ignores that header and Content-MD5 alike (it only reads
 * Content-MD5 into the signature), and more: it writes a PutObject's body straight into the
 * object's file as it arrives, so during an upload, and forever after one that was cut short,
 * readers would see a partial object at the final key. With staging, the final key is only ever
 * written by a CopyObject of verified bytes, atomic on S3 and MinIO; on s3rver that copy is a
 * local file copy, visible partly for its (short) duration, which no request order can avoid.
 *
 * Staging objects left by a crashed process are garbage under `<prefix>staging/`: give the
 * bucket a lifecycle rule expiring them after a day.
 */
export function createS3Driver(options: S3DriverOptions): StorageDriver {
  const { bucket, accessKeyId, secretAccessKey } = options;
  const prefix = options.prefix ?? "blobs/";
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) throw new Error("S3 storage: give both accessKeyId and secretAccessKey, or neither");
  const clientOptions: S3ClientConfig = {
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    // The SDK's default since 3.729 sends a streamed body aws-chunked with a CRC32 trailer, which
    // servers that predate it (s3rver, older MinIO) store verbatim, framing and all. The driver
    // verifies the bytes itself, so checksums only where an operation requires one.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // The SDK's own default logs nothing, except that it writes "an error was encountered in a
    // non-retryable streaming request" to the console for every upload the driver aborts on
    // purpose (below). A logger of its own keeps it quiet there too.
    logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  };
  const client = new S3Client(clientOptions);

  // Presigning is local (no request): a client of its own only because the public endpoint's host is part of the signature.
  const presigner = options.publicEndpoint ? new S3Client({ ...clientOptions, endpoint: options.publicEndpoint }) : client;

  const objectKey = (key: string) => {
    assertBlobKey(key);
    return `${prefix}${key}`;
  };

  const head = async (key: string) => {
    try {
      return await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    } catch (error) {
      // A HEAD's 404 has no body to tell a missing key from a missing bucket; readiness reports the latter.
      if (isNotFound(error)) return null;
      throw error;
    }
  };

  const removeQuietly = async (key: string) => {
    try {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch {
      // Only a staging object: unreachable under the blob's key, and expired by the lifecycle rule.
    }
  };

  /**
   * Uploads `body` to `key`, and rejects unless every byte arrived and the whole hashed to
   * `blobKey`. A body of the right length is sent whole even when its digest is wrong, and
   * judged once the server has answered: the cleanup that follows then deletes an object the
   * server has finished with. A body that fails or has the wrong length has to end the request
   * (the server would wait for the bytes it was promised), and a server may still be writing a
   * request cut short when the cleanup's delete arrives: s3rver keeps such a partial body as an
   * object (S3 and MinIO store nothing).
   */
  const uploadVerified = async (key: string, blobKey: string, body: Readable, size: number) => {
    const verifier = new BlobVerifier(blobKey, size, false);
    // The SDK pipes the body into the request, and a pipe does not pass errors on: a body that
    // fails or is short would leave the request waiting for bytes. Aborting ends it.
    const abort = new AbortController();
    const feeding = pipeline(body, verifier);
    feeding.catch((error: unknown) => abort.abort(error));
    const sending = client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: verifier, ContentLength: size }), { abortSignal: abort.signal }).catch((error: unknown) => {
      // Nothing reads the verifier any more: without this the body would wait forever on back-pressure.
      verifier.destroy(error instanceof Error ? error : new Error(String(error)));
      throw error;
    });
    const [fed, sent] = await Promise.allSettled([feeding, sending]);
    // The body's own failure or its wrong length says more than the abort it caused.
    if (fed.status === "rejected") throw fed.reason;
    if (sent.status === "rejected") throw sent.reason;
    const mismatch = verifier.mismatch();
    if (mismatch) throw mismatch;
  };

  return {
    kind: "s3",

    async put(key, body, size) {
      const target = objectKey(key);
      if (size > MAX_SINGLE_REQUEST_BYTES) throw new Error(`blob ${key}: ${size} bytes is more than one S3 request takes (5 GiB)`);
      if (await head(target)) {
        await verifyAndDiscard(key, body, size);
        // S3 has no touch: a copy onto itself (allowed when the metadata is replaced) is one, server-side.
        const touch = new CopyObjectCommand({ Bucket: bucket, Key: target, CopySource: copySource(bucket, target), MetadataDirective: "REPLACE", Metadata: { [STORED_AT]: new Date().toISOString() } });
        await client.send(touch).catch((error: unknown) => {
          if (!isNotFound(error)) throw error;
        });
        return;
      }
      const staging = `${prefix}staging/${randomUUID()}`;
      try {
        await uploadVerified(staging, key, body, size);
        await client.send(new CopyObjectCommand({ Bucket: bucket, Key: target, CopySource: copySource(bucket, staging) }));
      } finally {
        await removeQuietly(staging);
      }
    },

    async stat(key) {
      const found = await head(objectKey(key));
      if (!found) return null;
      // A put again records its time in the metadata too: S3 moves LastModified on a copy onto itself, s3rver does not.
      const touched = Date.parse(found.Metadata?.[STORED_AT] ?? "");
      const modified = found.LastModified?.getTime() ?? 0;
      return { size: found.ContentLength ?? 0, storedAt: new Date(Number.isNaN(touched) ? modified : Math.max(modified, touched)) };
    },

    async read(key, range?: ByteRange) {
      let found;
      try {
        found = await client.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey(key), Range: range ? `bytes=${range.start}-${range.end}` : undefined }));
      } catch (error) {
        if (error instanceof S3ServiceException && error.name === "NoSuchKey") return null;
        throw error;
      }
      const body = found.Body;
      if (!(body instanceof Readable)) throw new Error(`S3 storage: GetObject's body is not a Node stream (${typeof body})`);
      if (!range) return body;
      // s3rver reads `bytes=0-0` as `bytes=0-` (it tests the end for truthiness) and sends the
      // whole object; S3 and MinIO send what was asked. Cut what goes beyond.
      const wanted = range.end - range.start + 1;
      return (found.ContentLength ?? 0) > wanted ? firstBytes(body, wanted) : body;
    },

    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey(key) }));
    },

    async presign(key, { expiresInSeconds, mediaType }) {
      const get = new GetObjectCommand({ Bucket: bucket, Key: objectKey(key), ResponseContentType: mediaType, ResponseCacheControl: `private, max-age=${expiresInSeconds}` });
      return getSignedUrl(presigner, get, { expiresIn: expiresInSeconds });
    },

    async *list() {
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const object of page.Contents ?? []) {
          // Staging objects (under <prefix>staging/) and anything else are not blobs.
          const key = object.Key?.slice(prefix.length) ?? "";
          if (BLOB_KEY.test(key)) yield { key, storedAt: object.LastModified ?? new Date() };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },

    readiness: { name: "storage", check: () => client.send(new HeadBucketCommand({ Bucket: bucket })) },

    async close() {
      client.destroy();
      if (presigner !== client) presigner.destroy();
    },
  };
}

function isNotFound(error: unknown): boolean {
  return error instanceof S3ServiceException && (error.$metadata.httpStatusCode === 404 || error.name === "NotFound" || error.name === "NoSuchKey");
}

/** CopyObject's source is `bucket/key`, URL-encoded. */
function copySource(bucket: string, key: string): string {
  return [bucket, ...key.split("/")].map(encodeURIComponent).join("/");
}

/** The first `count` bytes of `source`; the rest is not read (returning ends the loop, which destroys the source). */
function firstBytes(source: Readable, count: number): Readable {
  async function* take() {
    let left = count;
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (chunk.length >= left) {
        yield chunk.subarray(0, left);
        return;
      }
      left -= chunk.length;
      yield chunk;
    }
  }
  return Readable.from(take(), { objectMode: false });
}
