import type { Readable } from "node:stream";
import type { ReadinessCheck } from "@startales/service-kit";

/** Blobs are addressed by the SHA-256 of their bytes, lower-case hex: no other key exists, so no path can escape. */
export const BLOB_KEY = /^[0-9a-f]{64}$/;

/** An inclusive byte range, as HTTP's `Range: bytes=start-end` names it; `end` < size. */
export type ByteRange = { start: number; end: number };

export class InvalidBlobKeyError extends Error {
  constructor(key: string) {
    super(`not a blob key (64 lower-case hex digits): ${JSON.stringify(key.slice(0, 80))}`);
  }
}

/** The bytes a `put` received did not hash to their key, or were not `size` long: nothing was stored. */
export class BlobDigestMismatchError extends Error {}

export function assertBlobKey(key: string): void {
  if (!BLOB_KEY.test(key)) throw new InvalidBlobKeyError(key);
}

/**
 * Where content keeps bytes: the filesystem (one machine or a shared volume) or an S3 bucket
 * (MinIO, AWS). Metadata (owners, media types, packs) lives in the content database; a driver
 * only keeps immutable, content-addressed blobs. Every driver passes the same contract suite.
 */
export interface StorageDriver {
  readonly kind: "filesystem" | "s3";
  /**
   * Stores `size` bytes read from `body` under `key`, their SHA-256. The bytes become visible
   * whole or not at all: a reader never sees a partial blob, and a body that fails, is short,
   * is long or hashes to another key leaves nothing (BlobDigestMismatchError for the last
   * three). Storing a key that exists already consumes (and checks) the body and refreshes
   * the blob's stored time, so that the orphan sweep, which removes bytes no row names once
   * they are old enough, never removes bytes someone has just put again.
   */
  put(key: string, body: Readable, size: number): Promise<void>;
  /** The blob's size and when it was last stored (put, or put again), or null when there is none. */
  stat(key: string): Promise<{ size: number; storedAt: Date } | null>;
  /** The blob's bytes (only `range`'s when given), or null when there is none. */
  read(key: string, range?: ByteRange): Promise<Readable | null>;
  /** Removes the blob; removing one that is not there is a no-op. */
  delete(key: string): Promise<void>;
  /**
   * Every stored blob and when it was stored, in no particular order: what the orphan sweep
   * compares with the database. `storedAt` may be older than stat's (a put again may not show
   * here): the sweep asks stat before it removes anything.
   */
  list(): AsyncIterable<{ key: string; storedAt: Date }>;
  /**
   * S3 only: a URL at which the bucket itself serves the blob, as `mediaType`, until it expires
   * (a presigned GET), so that a private download's bytes need not pass through content.
   */
  presign?(key: string, options: { expiresInSeconds: number; mediaType: string }): Promise<string>;
  readiness: ReadinessCheck;
  close(): Promise<void>;
}
