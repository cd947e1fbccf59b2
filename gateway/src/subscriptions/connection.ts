import type { GraphQLFormattedError } from "graphql";
import { WebSocket, type RawData } from "ws";
import { ErrorCode, logAnswer, logFailure, type Logger } from "@startales/service-kit";
import type { ConnectionIdentity } from "./connection-auth";
import {
  ACK_FRAME,
  CloseCode,
  PONG_FRAME,
  completeFrame,
  errorFrame,
  nextFrame,
  parseClientMessage,
  type SubscribePayload,
} from "./protocol";

export type ConnectionLimits = {
  initTimeoutMs: number;
  maxSubscriptions: number;
  maxMessagesPerSecond: number;
  maxBufferedBytes: number;
};

/** What a socket may ask of the rest of the gateway; errors it throws are GraphQL errors with codes. */
export type ConnectionHandlers = {
  authenticate(payload: Record<string, unknown>, requestId: string): Promise<ConnectionIdentity>;
  /** After authentication, before the ack: false refuses the connection (its user is over the cap). */
  admit(connection: Connection): Promise<boolean>;
  /**
   * Runs one operation. A query or mutation answers with its result; a subscription
   * delivers through `sink` and answers with the function that stops it.
   */
  operate(connection: Connection, payload: SubscribePayload, sink: OperationSink): Promise<{ result: unknown } | { stop: () => void }>;
  formatError(error: unknown): GraphQLFormattedError;
  /** `code`: the close code when the gateway closed it, null when the client did. */
  closed(connection: Connection, code: number | null): void;
};

export type OperationSink = { next(payloadJson: string): void; fail(errors: readonly GraphQLFormattedError[]): void };

type Slot = { stop: (() => void) | null; cancelled: boolean };

/** Lines about a refused `connection_init` and a failed operation, by whose failure it is (log-levels.ts). */
const CONNECTION_FAILURE = { client: "WebSocket connection refused", dependency: "WebSocket connection refused without a dependency", server: "WebSocket connection failed" };
const OPERATION_FAILURE = { client: "WebSocket operation refused", dependency: "WebSocket operation answered without a dependency", server: "WebSocket operation failed" };

/**
 * One graphql-ws connection: the protocol's state machine (init, ack, subscribe, complete,
 * ping/pong) with the protections a public socket needs: an init deadline, a message rate
 * limit, a cap on concurrent operations, the token's expiry, and a send buffer bound
 * beyond which the client is a slow consumer and is cut, so it never holds up anyone else.
 */
export class Connection {
  identity: ConnectionIdentity | null = null;
  /** The ack was sent: operations are accepted from then on (before, even after a valid init, 4401). */
  private acknowledged = false;
  /** Answered the last ping (cleared when a ping is sent, set by the pong). */
  alive = true;
  private initReceived = false;
  private readonly operations = new Map<string, Slot>();
  private readonly timers: NodeJS.Timeout[] = [];
  private tokens: number;
  private lastRefill = Date.now();
  private closing = false;

  constructor(
    readonly socket: WebSocket,
    readonly address: string,
    private readonly limits: ConnectionLimits,
    private readonly handlers: ConnectionHandlers,
    private readonly logger: Logger,
    readonly id: string,
  ) {
    this.tokens = limits.maxMessagesPerSecond * 2;
    this.timers.push(
      setTimeout(() => {
        if (!this.identity) this.refuse(CloseCode.ConnectionInitTimeout, "Connection initialisation timeout");
      }, limits.initTimeoutMs),
    );
    socket.on("message", (data, isBinary) => this.onMessage(data, isBinary));
    socket.on("pong", () => {
      this.alive = true;
    });
    socket.once("close", () => this.onClosed());
    socket.on("error", (error) => logger.debug({ err: error }, "WebSocket error"));
  }

  get subscriptionCount(): number {
    return this.operations.size;
  }

  /** Sends a frame unless the socket is gone or its send buffer is over the bound (then it is cut). */
  send(frame: string): boolean {
    if (this.closing || this.socket.readyState !== WebSocket.OPEN) return false;
    if (this.socket.bufferedAmount + frame.length > this.limits.maxBufferedBytes) {
      this.refuse(CloseCode.SlowConsumer, "Slow consumer: send buffer full");
      return false;
    }
    this.socket.send(frame);
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.stopAll();
    this.socket.close(code, reason);
    // A peer that never completes the closing handshake does not keep the socket.
    const force = setTimeout(() => this.socket.terminate(), 5_000);
    force.unref();
    this.handlers.closed(this, code);
  }

  /** Closes for what the client did (a 44xx code: the HTTP status plus 4000), with a line at that status's level. */
  private refuse(code: number, reason: string): void {
    if (!this.closing) logAnswer(this.logger, code - 4000, { closeCode: code, reason }, "WebSocket closed by the gateway");
    this.close(code, reason);
  }

  private stopAll(): void {
    for (const slot of this.operations.values()) {
      slot.cancelled = true;
      slot.stop?.();
    }
    this.operations.clear();
    for (const timer of this.timers) clearTimeout(timer);
  }

  private onClosed(): void {
    if (this.closing) return;
    this.closing = true;
    this.stopAll();
    this.handlers.closed(this, null);
  }

  /** A token bucket: `maxMessagesPerSecond`, bursts of twice that. */
  private takeToken(): boolean {
    const now = Date.now();
    const rate = this.limits.maxMessagesPerSecond;
    this.tokens = Math.min(rate * 2, this.tokens + ((now - this.lastRefill) / 1000) * rate);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closing) return;
    if (!this.takeToken()) return this.refuse(CloseCode.TooManyRequests, "Too many messages");
    const message = isBinary ? null : parseClientMessage(data.toString());
    if (!message) return this.refuse(CloseCode.BadRequest, "Invalid message received");
    switch (message.type) {
      case "connection_init":
        if (this.initReceived) return this.refuse(CloseCode.TooManyRequests, "Too many initialisation requests");
        this.initReceived = true;
        void this.initialise(message.payload);
        return;
      case "ping":
        this.send(PONG_FRAME);
        return;
      case "pong":
        return;
      case "complete": {
        const slot = this.operations.get(message.id);
        this.operations.delete(message.id);
        if (slot) {
          slot.cancelled = true;
          slot.stop?.();
        }
        return;
      }
      case "subscribe":
        if (!this.acknowledged) return this.refuse(CloseCode.Unauthorized, "Unauthorized");
        if (this.operations.has(message.id)) return this.refuse(CloseCode.SubscriberAlreadyExists, `Subscriber for ${message.id} already exists`);
        if (this.operations.size >= this.limits.maxSubscriptions) {
          this.send(errorFrame(message.id, [{ message: `At most ${this.limits.maxSubscriptions} operations at once on one connection`, extensions: { code: ErrorCode.RATE_LIMITED } }]));
          return;
        }
        void this.run(message.id, message.payload);
        return;
    }
  }

  private async initialise(payload: Record<string, unknown>): Promise<void> {
    try {
      const identity = await this.handlers.authenticate(payload, this.id);
      if (this.closing) return;
      this.identity = identity;
      if (!(await this.handlers.admit(this))) return this.refuse(CloseCode.TooManyRequests, "Too many connections for this user");
      if (identity.expiresAt !== null) {
        // setTimeout holds at most ~24.8 days; an access token lives minutes.
        const ms = Math.min(Math.max(0, identity.expiresAt - Date.now()), 2 ** 31 - 1);
        this.timers.push(setTimeout(() => this.close(CloseCode.Forbidden, "Access token expired"), ms));
      }
      this.acknowledged = this.send(ACK_FRAME);
    } catch (error) {
      logFailure(this.logger, error, {}, CONNECTION_FAILURE);
      const formatted = this.handlers.formatError(error);
      const code = formatted.extensions?.code;
      // Unavailable: the client should retry (1013); a bad credential: 4403, as graphql-ws expects.
      if (code === ErrorCode.SERVICE_UNAVAILABLE || code === ErrorCode.RATE_LIMITED) this.close(CloseCode.TryAgainLater, formatted.message);
      else this.close(CloseCode.Forbidden, `Forbidden: ${formatted.message}`.slice(0, 120));
    }
  }

  private async run(id: string, payload: SubscribePayload): Promise<void> {
    const slot: Slot = { stop: null, cancelled: false };
    this.operations.set(id, slot);
    const finish = () => {
      if (this.operations.get(id) === slot) this.operations.delete(id);
    };
    const sink: OperationSink = {
      next: (json) => {
        if (!slot.cancelled) this.send(nextFrame(id, json));
      },
      fail: (errors) => {
        if (slot.cancelled) return;
        slot.cancelled = true;
        finish();
        slot.stop?.();
        this.send(errorFrame(id, [...errors]));
      },
    };
    try {
      const outcome = await this.handlers.operate(this, payload, sink);
      if ("stop" in outcome) {
        if (slot.cancelled) outcome.stop();
        else slot.stop = outcome.stop;
        return;
      }
      finish();
      if (slot.cancelled) return;
      const result = outcome.result as { data?: unknown; errors?: unknown[] };
      // Refused before execution (invalid, limits, rate): `error`, as graphql-ws servers answer.
      if (result.data === undefined && result.errors?.length) {
        this.send(errorFrame(id, result.errors));
        return;
      }
      this.send(nextFrame(id, JSON.stringify(result)));
      this.send(completeFrame(id));
    } catch (error) {
      finish();
      logFailure(this.logger, error, { operationId: id }, OPERATION_FAILURE);
      if (!slot.cancelled) this.send(errorFrame(id, [this.handlers.formatError(error)]));
    }
  }
}
