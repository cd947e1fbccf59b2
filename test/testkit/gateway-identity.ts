import { randomUUID } from "node:crypto";
import { IDENTITY_HEADER, createIdentitySigner, signedIn, type Role, type Scope, type Viewer } from "@startales/service-kit";
import { required } from "./config";

/**
 * Headers that make a direct subgraph call look as if it came through the gateway: what
 * subgraph integration tests (and `_entities` calls) need. Signed with the run's secret.
 */
export async function gatewayHeaders(viewer: Viewer, secret = required("TEST_GATEWAY_SIGNING_SECRET")): Promise<Record<string, string>> {
  const sign = createIdentitySigner(secret);
  return { [IDENTITY_HEADER]: await sign(viewer, randomUUID()) };
}

export const asUser = (userId: string, roles: Role[] = ["PLAYER"], scopes?: Scope[]): Viewer =>
  signedIn(userId, roles, scopes ? { credential: "api_key", scopes } : {});
