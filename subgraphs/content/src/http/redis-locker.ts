import { randomBytes } from "node:crypto";
import type { Lock, Locker, RequestRelease } from "@tus/server" with { "resolution-mode": "import" };
import type { Logger, Redis } from "@startales/service-kit";

/*
 * Our own rather than a package: npm has no Redis locker for @tus/server 2 (the @tus scope
 * publishes the server, its utils and data stores only; @tus/server ships MemoryLocker alone),
 * and the generic Redis lock packages (redlock, ioredis-lock, simple-redis-mutex, …) cannot ask
 * a holder to let go, which tus's Lock must: a client's retry has to end its stalled request.
 */

/** Compare-and-extend: only the holder (its token) keeps the lock alive. */
const RENEW = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) end return 0`;
/** Compare-and-delete, telling waiters at once rather than at their next poll. */
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then redis.call("del", KEYS[1]) redis.call("publish", ARGV[2], ARGV[3]) return 1 end return 0`;

export type RedisLockerOptions = {
  /** Content's connection; the one subscriber connection per process is its duplicate(), made at the first lock. */
  redis: Redis;
  /** How long a lock outlives a holder that stops renewing it (a replica that died). Renewed every third of it. */
  ttlMs?: number;
  /** How long a request waits for the lock before it fails with tus's ERR_LOCK_TIMEOUT (MemoryLocker's default). */
  acquireTimeoutMs?: number;
  /** How often a waiter tries again and asks the holder again: release requests are not queued, so one that missed the holder's subscription is repeated. */
  retryMs?: number;
  /** Keys are `<prefix><upload id>`, the channels `<prefix>release` and `<prefix>released`. */
  prefix?: string;
  logger?: Logger;
};

/** Redis did not answer while a lock was taken (down, or unreachable): a dependency's outage, not a busy upload. */
export class LockStoreUnavailableError extends Error {
  override readonly name = "LockStoreUnavailableError";
}

export const DEFAULT_LOCK_PREFIX = "content:tus-lock:";
const ANSWER_GRACE_MS = 2_000;

type Outcome<T> = { settled: true; value: T } | { settled: false; why: "deadline" | "aborted" };

/** `promise`'s value, unless the deadline passes or the request ends first (the promise goes on). */
function until<T>(promise: Promise<T>, deadline: number, signal: AbortSignal): Promise<Outcome<T>> {
  if (signal.aborted) return Promise.resolve({ settled: false, why: "aborted" });
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      done();
      resolve({ settled: false, why: "aborted" });
    };
    const timer = setTimeout(() => {
      done();
      resolve({ settled: false, why: "deadline" });
    }, Math.max(0, deadline - Date.now()));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        done();
        resolve({ settled: true, value });
      },
      (error: unknown) => {
        done();
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

// @tus/server is ES modules only (see resumable-uploads.ts): its errors are loaded when needed.
const lockTimeout = async () => (await import("@tus/server")).ERRORS.ERR_LOCK_TIMEOUT;

/**
 * tus's per-upload lock across replicas: a PATCH may reach another replica than the request
 * before it, and two requests appending to one staged file at once would corrupt it. The
 * semantics are MemoryLocker's (@tus/server): a request that wants a held lock asks its holder
 * to let go (tus then ends the older request after its lockDrainTimeout) and takes the lock
 * once it is free, or fails with ERR_LOCK_TIMEOUT. The lock is a Redis key set only if absent
 * with a token of the holder's own, renewed while held and deleted only by that token, so a
 * holder that died stops blocking its upload after `ttlMs`. Release requests cross replicas on
 * pub/sub: every process listens on one channel, and the holder's process calls its callback.
 */
export class RedisLocker implements Locker {
  readonly redis: Redis;
  readonly ttlMs: number;
  readonly acquireTimeoutMs: number;
  readonly retryMs: number;
  readonly prefix: string;
  readonly logger: Logger | undefined;
  /** The locks this process holds, by upload id: whom a release request is for. */
  readonly holders = new Map<string, RedisLock>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private subscriber: Redis | undefined;
  private listening: Promise<void> | undefined;
  private closed = false;

  constructor(options: RedisLockerOptions) {
    this.redis = options.redis;
    this.ttlMs = options.ttlMs ?? 10_000;
    this.acquireTimeoutMs = options.acquireTimeoutMs ?? 30_000;
    this.retryMs = options.retryMs ?? Math.min(250, Math.ceil(this.ttlMs / 4));
    this.prefix = options.prefix ?? DEFAULT_LOCK_PREFIX;
    this.logger = options.logger;
    // The app disconnects its connection when it stops and knows nothing of this one: it goes too.
    this.redis.once("end", () => this.close());
  }

  newLock(id: string): Lock {
    return new RedisLock(this, id);
  }

  keyOf(id: string): string {
    return `${this.prefix}${id}`;
  }

  get releaseChannel(): string {
    return `${this.prefix}release`;
  }

  get releasedChannel(): string {
    return `${this.prefix}released`;
  }

  /** Subscribes this process once; a lock is taken only after, so no release request for it can pass unheard. */
  listen(): Promise<void> {
    if (this.closed) return Promise.reject(new LockStoreUnavailableError("the locker is closed"));
    this.listening ??= (async () => {
      const subscriber = this.redis.duplicate();
      this.subscriber = subscriber;
      // An 'error' event nobody listens to ends the process; ioredis reconnects by itself.
      subscriber.on("error", (error: Error) => this.logger?.warn({ err: error }, "upload lock subscriber: Redis connection error"));
      subscriber.on("message", (channel: string, id: string) => this.onMessage(channel, id));
      await subscriber.subscribe(this.releaseChannel, this.releasedChannel);
    })().catch((error: unknown) => {
      this.listening = undefined;
      throw error;
    });
    return this.listening;
  }

  private onMessage(channel: string, id: string): void {
    if (channel === this.releaseChannel) this.holders.get(id)?.askToRelease();
    else if (channel === this.releasedChannel) for (const wake of this.waiters.get(id) ?? []) wake();
  }

  /** Resolves when `id` is released (as far as this process hears), after `ms`, or when `signal` aborts. */
  released(id: string, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const waiting = this.waiters.get(id) ?? new Set<() => void>();
      this.waiters.set(id, waiting);
      const wake = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", wake);
        waiting.delete(wake);
        if (waiting.size === 0 && this.waiters.get(id) === waiting) this.waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, ms));
      waiting.add(wake);
      signal.addEventListener("abort", wake, { once: true });
    });
  }

  /** Stops listening and renewing (what this process holds expires after ttlMs). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const lock of this.holders.values()) lock.stopRenewing();
    this.holders.clear();
    this.subscriber?.disconnect();
  }
}

class RedisLock implements Lock {
  private readonly token = randomBytes(16).toString("base64url");
  private held = false;
  private renewal: NodeJS.Timeout | undefined;
  private requestRelease: RequestRelease | undefined;

  constructor(
    private readonly locker: RedisLocker,
    private readonly id: string,
  ) {}

  async lock(stopSignal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    const { locker, id } = this;
    const { redis } = locker;
    const key = locker.keyOf(id);
    const deadline = Date.now() + locker.acquireTimeoutMs;
    const ask = async <T>(command: Promise<T>, late?: (value: T) => void): Promise<T> => {
      let outcome: Outcome<T>;
      try {
        // A command sent at the deadline (the last try) still gets its answer: only Redis's silence is an outage.
        outcome = await until(command, Math.max(deadline, Date.now() + ANSWER_GRACE_MS), stopSignal);
      } catch (error) {
        throw new LockStoreUnavailableError(`the upload's lock could not be taken: ${(error as Error).message}`, { cause: error });
      }
      if (outcome.settled) return outcome.value;
      if (late) command.then(late, () => undefined);
      // An ended request gets what MemoryLocker gives it; nobody reads the answer.
      if (outcome.why === "aborted") throw await lockTimeout();
      throw new LockStoreUnavailableError(`Redis did not answer within ${locker.acquireTimeoutMs} ms`);
    };

    await ask(locker.listen());
    for (;;) {
      // A SET that answers after this request gave up must not leave a lock nobody renews or releases.
      const taken = await ask(redis.set(key, this.token, "PX", locker.ttlMs, "NX"), (late) => {
        if (late === "OK") void this.release();
      });
      if (taken === "OK") {
        if (stopSignal.aborted) {
          await this.release();
          throw await lockTimeout();
        }
        this.held = true;
        this.requestRelease = requestRelease;
        locker.holders.set(id, this);
        this.startRenewing();
        return;
      }
      if (stopSignal.aborted || Date.now() >= deadline) throw await lockTimeout();
      await ask(redis.publish(locker.releaseChannel, id));
      await locker.released(id, Math.min(locker.retryMs, deadline - Date.now()), stopSignal);
    }
  }

  /** A no-op unless this lock holds the key: another's lock is never released by it. */
  async unlock(): Promise<void> {
    if (!this.held) return;
    this.forget();
    await this.release();
  }

  askToRelease(): void {
    if (!this.held || !this.requestRelease) return;
    Promise.resolve()
      .then(this.requestRelease)
      .catch((error: unknown) => this.locker.logger?.warn({ err: error, upload: this.id }, "an upload lock's holder failed to release it"));
  }

  stopRenewing(): void {
    clearInterval(this.renewal);
    this.renewal = undefined;
  }

  private forget(): void {
    this.held = false;
    this.stopRenewing();
    if (this.locker.holders.get(this.id) === this) this.locker.holders.delete(this.id);
  }

  /** Deletes the key if it is still ours; if Redis does not answer in time, the key expires on its own. */
  private async release(): Promise<void> {
    const { locker } = this;
    const never = new AbortController().signal;
    try {
      await until(locker.redis.eval(RELEASE, 1, locker.keyOf(this.id), this.token, locker.releasedChannel, this.id), Date.now() + locker.ttlMs, never);
    } catch (error) {
      locker.logger?.warn({ err: error, upload: this.id }, "an upload lock was not released: it expires on its own");
    }
  }

  private startRenewing(): void {
    const { locker } = this;
    let lastRenewed = Date.now();
    let renewing = false;
    const lost = (why: string) => {
      // Another request may hold it now: this one must stop writing (tus ends it after its lockDrainTimeout).
      locker.logger?.warn({ upload: this.id, why }, "an upload's lock was lost while held; its request is ended");
      const requestRelease = this.requestRelease;
      this.forget();
      void Promise.resolve()
        .then(requestRelease)
        .catch(() => undefined);
    };
    this.renewal = setInterval(() => {
      // Checked before a renewal still on its way: Redis may hold it forever (an offline queue).
      if (Date.now() - lastRenewed >= locker.ttlMs) return lost("not renewed within its ttl");
      if (renewing) return;
      renewing = true;
      (locker.redis.eval(RENEW, 1, locker.keyOf(this.id), this.token, String(locker.ttlMs)) as Promise<number>)
        .then((renewed) => {
          if (!this.held) return;
          if (renewed === 1) lastRenewed = Date.now();
          else lost("its key expired or was taken");
        })
        .catch((error: unknown) => locker.logger?.warn({ err: error, upload: this.id }, "an upload lock could not be renewed"))
        .finally(() => {
          renewing = false;
        });
    }, Math.max(1, Math.floor(locker.ttlMs / 3)));
    this.renewal.unref();
  }
}
