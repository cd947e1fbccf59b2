export { createStartalesClient, type ExecuteResult, type StartalesClient, type StartalesClientOptions } from "./client";
export { operationText, type Operation, type VariablesArgument } from "./document";
export { ERROR_CODES, isErrorCode, type ErrorCode } from "./error-codes";
export { GraphQLRequestError, NetworkError, SubscriptionClosedError, isApiError, type ApiError } from "./errors";
export type { Credentials, FetchLike } from "./http";
export type { Session } from "./session";
export type { SubscribeOptions, SubscriptionError, SubscriptionSink } from "./subscriptions";
// Every operation of the catalogue (…Document) with its result and variables types, the
// schema's enums and input types, and TypedDocumentString for operations of one's own.
export * from "./generated/graphql";
