/**
 * The graphql-ws protocol (GraphQL over WebSocket, subprotocol `graphql-transport-ws`):
 * https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md. Close codes 44xx are the
 * protocol's; 4413 (slow consumer) is ours, and like 1001/1013 a client retries after it.
 */
export const SUBPROTOCOL = "graphql-transport-ws";

export const CloseCode = {
  GoingAway: 1001,
  TryAgainLater: 1013,
  BadRequest: 4400,
  Unauthorized: 4401,
  Forbidden: 4403,
  SubprotocolNotAcceptable: 4406,
  ConnectionInitTimeout: 4408,
  SubscriberAlreadyExists: 4409,
  SlowConsumer: 4413,
  TooManyRequests: 4429,
  InternalServerError: 4500,
} as const;

export type SubscribePayload = {
  query?: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
};

export type ClientMessage =
  | { type: "connection_init"; payload: Record<string, unknown> }
  | { type: "ping"; payload?: unknown }
  | { type: "pong"; payload?: unknown }
  | { type: "subscribe"; id: string; payload: SubscribePayload }
  | { type: "complete"; id: string };

const MAX_ID_LENGTH = 128;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const isOptional = (value: unknown, check: (v: unknown) => boolean) => value === undefined || value === null || check(value);
const isId = (value: unknown): value is string => typeof value === "string" && value.length > 0 && value.length <= MAX_ID_LENGTH;
const isText = (value: unknown): value is string => typeof value === "string" && value.length > 0;

/**
 * The protocol requires `query`; with APQ (or the safelist) the operation is named by
 * `extensions.persistedQuery.sha256Hash` instead, and the pipeline looks it up.
 */
function namesAnOperation(payload: Record<string, unknown>): boolean {
  if (isText(payload.query)) return true;
  const persisted = isRecord(payload.extensions) ? payload.extensions.persistedQuery : undefined;
  return payload.query == null && isRecord(persisted) && isText(persisted.sha256Hash);
}

/** A client message, or null when the text is not a well-formed one (the connection is then closed 4400). */
export function parseClientMessage(text: string): ClientMessage | null {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(message)) return null;
  switch (message.type) {
    case "connection_init":
      if (!isOptional(message.payload, isRecord)) return null;
      return { type: "connection_init", payload: (message.payload as Record<string, unknown> | undefined) ?? {} };
    case "ping":
    case "pong":
      return { type: message.type, payload: message.payload };
    case "complete":
      return isId(message.id) ? { type: "complete", id: message.id } : null;
    case "subscribe": {
      const payload = message.payload;
      if (!isId(message.id) || !isRecord(payload)) return null;
      const valid =
        isOptional(payload.query, (q) => typeof q === "string") &&
        isOptional(payload.operationName, (n) => typeof n === "string") &&
        isOptional(payload.variables, isRecord) &&
        isOptional(payload.extensions, isRecord) &&
        namesAnOperation(payload);
      return valid ? { type: "subscribe", id: message.id, payload: payload as SubscribePayload } : null;
    }
    default:
      return null;
  }
}

/** A server message, serialized. `payloadJson` is already JSON (serialized once for many sockets). */
export const nextFrame = (id: string, payloadJson: string) => `{"id":${JSON.stringify(id)},"type":"next","payload":${payloadJson}}`;
export const errorFrame = (id: string, errors: unknown[]) => JSON.stringify({ id, type: "error", payload: errors });
export const completeFrame = (id: string) => JSON.stringify({ id, type: "complete" });
export const ACK_FRAME = JSON.stringify({ type: "connection_ack" });
export const PONG_FRAME = JSON.stringify({ type: "pong" });
