import { createHash } from "node:crypto";
import { type Readable, Transform, type TransformCallback, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BlobDigestMismatchError } from "./storage-driver";

/**
 * Passes a put's bytes through while hashing and counting them. It fails the stream at the
 * first byte beyond `size` (before passing that chunk on) and at an end short of `size`; a
 * digest other than `key` fails it at the end too, unless `digestFailsStream` is off, for a
 * reader that must receive the whole body and asks `mismatch()` afterwards. Both drivers
 * stream through it, so a bad body fails the same way on either.
 */
export class BlobVerifier extends Transform {
  private readonly hash = createHash("sha256");
  private received = 0;
  private digest: string | undefined;

  constructor(
    private readonly key: string,
    private readonly size: number,
    private readonly digestFailsStream = true,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.size) return done(new BlobDigestMismatchError(`blob ${this.key}: the body is longer than the ${this.size} bytes announced`));
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.received !== this.size) return done(new BlobDigestMismatchError(`blob ${this.key}: the body ended after ${this.received} of ${this.size} bytes`));
    this.digest = this.hash.digest("hex");
    done(this.digestFailsStream ? this.mismatch() : null);
  }

  /** Once the body has ended: why its bytes are not the blob's, or null when they are. */
  mismatch(): BlobDigestMismatchError | null {
    if (this.digest === undefined) return new BlobDigestMismatchError(`blob ${this.key}: the body has not ended`);
    return this.digest === this.key ? null : new BlobDigestMismatchError(`blob ${this.key}: the body hashes to ${this.digest}`);
  }
}

/** Consumes a body through the verifier and keeps nothing: a put of a key that is stored already. */
export async function verifyAndDiscard(key: string, body: Readable, size: number): Promise<void> {
  await pipeline(body, new BlobVerifier(key, size), new Writable({ write: (_chunk, _encoding, done) => done() }));
}
