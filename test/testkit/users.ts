import { randomUUID } from "node:crypto";
import { RegisterDocument, type RegisterMutation } from "../generated/operations";
import { expectData, graphql } from "./graphql-client";

export type TestUser = RegisterMutation["register"] & { email: string; password: string };

/** Registers a fresh user through the given GraphQL endpoint (unique email per call). */
export async function registerUser(
  graphqlUrl: string,
  displayName = "Player",
  headers?: Record<string, string>,
  email = `${displayName.toLowerCase().replace(/[^a-z0-9]/g, "")}-${randomUUID()}@example.test`,
): Promise<TestUser> {
  const password = `pw-${randomUUID()}`;
  const data = expectData(await graphql(graphqlUrl, RegisterDocument, { input: { email, password, displayName } }, { headers }));
  return { ...data.register, email, password };
}
