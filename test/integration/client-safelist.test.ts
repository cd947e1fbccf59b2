import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import * as catalogue from "@startales/client";
import {
  JoinCampaignDocument,
  TypedDocumentString,
  createStartalesClient,
  operationText,
  type StartalesClient,
} from "@startales/client";
import type { Logger } from "@startales/service-kit";
import { createGatewayApp, type GatewayApp } from "../../gateway/src/app";
import type { OperationManifest } from "../../gateway/src/plugins/persisted-operations";
import { buildManifest, CATALOGUE_DIR, graphqlFilesIn } from "../../scripts/persisted-manifest";
import { gatewayTestConfig } from "../testkit/config";
import { postGraphQL } from "../testkit/graphql-client";
import { followNewCampaign } from "../testkit/client-feed";
import { captureLogs } from "../testkit/logs";
import { untilReady } from "../testkit/ready";
import { eventually } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";

/**
 * The persisted-operation manifest the build writes from the client's catalogue
 * (packages/client/persisted-operations.json) as a gateway's safelist (SAFELIST_MODE=enforce):
 * every catalogue operation runs, as the client sends it or by its id alone; nothing else does.
 */
const MANIFEST = join(__dirname, "..", "..", "packages", "client", "persisted-operations.json");
let stack: Stack;
let gateway: GatewayApp;
let graphqlUrl: string;
const clients: StartalesClient[] = [];

beforeAll(async () => {
  stack = await startStack({ logLevel: "warn" });
  const subgraphs = { identity: stack.identityUrl, campaign: stack.campaignUrl, realtime: stack.realtimeUrl, simulation: stack.simulationUrl, provider: stack.providerUrl, notification: stack.notificationUrl };
  gateway = createGatewayApp(
    // Every catalogue operation once, in one minute, from one user: more than a player's cost budget.
    gatewayTestConfig(subgraphs, `${stack.identityUrl}/.well-known/jwks.json`, { SAFELIST_MODE: "enforce", OPERATION_SAFELIST_PATH: MANIFEST, RATE_LIMIT_COST_PER_MINUTE: "10000000" }),
    captureLogs("gateway", "warn").logger as Logger,
  );
  const origin = await gateway.listen();
  await untilReady(origin);
  graphqlUrl = `${origin}/graphql`;
}, 60_000);
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await gateway?.stop();
  await stack?.stop();
});

const player = () => {
  const client = createStartalesClient({ url: graphqlUrl, webSocketImpl: WebSocket });
  clients.push(client);
  return client;
};
const signedUp = async (name: string) => {
  const client = player();
  await client.signUp({ email: `${name.toLowerCase()}-${randomUUID()}@example.test`, password: `pw-${randomUUID()}`, displayName: name });
  return client;
};
const manifest = () => JSON.parse(readFileSync(MANIFEST, "utf8")) as OperationManifest;
/** The catalogue's documents, by operation name, as the package exports them. */
const documents = new Map(
  Object.entries(catalogue)
    .filter(([name, value]) => name.endsWith("Document") && value instanceof TypedDocumentString)
    .map(([name, value]) => [name.slice(0, -"Document".length), value as TypedDocumentString<unknown, never>]),
);

it("is the build's manifest of the catalogue as it is now, one entry per generated document", () => {
  const fresh = buildManifest(graphqlFilesIn(CATALOGUE_DIR).map((path) => ({ path, text: readFileSync(path, "utf8") })));
  expect(manifest()).toEqual(fresh);
  expect(manifest().operations.map((o) => o.name).sort()).toEqual([...documents.keys()].sort());
});

it("lets every catalogue operation through, as the client sends it and by its id alone, within the query limits", async () => {
  const alice = await signedUp("Alice");
  const token = alice.session!.accessToken;
  const refusals: Record<string, unknown> = {};
  for (const operation of manifest().operations) {
    const byText = await postGraphQL(graphqlUrl, { query: operationText(documents.get(operation.name!)!) }, { token });
    const byId = await postGraphQL(graphqlUrl, { extensions: { persistedQuery: { version: 1, sha256Hash: operation.id } } }, { token });
    for (const [how, reply] of [["text", byText], ["id", byId]] as const) {
      const codes = (reply.errors ?? []).map((e) => e.extensions?.code);
      // Sent without their variables, many answer BAD_USER_INPUT, and subscriptions belong on
      // WebSocket: past the safelist and the query limits all the same.
      if (codes.some((code) => code === "PERSISTED_QUERY_NOT_FOUND" || code === "QUERY_TOO_COMPLEX" || code === "GRAPHQL_VALIDATION_FAILED")) refusals[`${operation.name} by ${how}`] = reply.errors;
    }
  }
  expect(refusals).toEqual({});
}, 60_000);

it("serves a session through the client, subscriptions included", async () => {
  const gm = await signedUp("GM");
  const pilot = await signedUp("Pilot");
  const { campaignId, received: events, failures, stop } = await followNewCampaign(gm, "Safelisted");
  await pilot.request(JoinCampaignDocument, { campaignId });
  await eventually("the join on the feed", async () => (events.length > 0 || failures.length > 0 ? true : undefined));
  stop();
  expect(failures).toEqual([]);
  expect(events.map((e) => [e.type, (e.data as { userId: string }).userId])).toEqual([["PLAYER_JOINED", pilot.session!.user.id]]);
});

it("refuses an operation outside the catalogue, over HTTP and over WebSocket", async () => {
  const alice = await signedUp("Outsider");
  const outside = new TypedDocumentString<unknown, Record<string, never>>("query Outside { me { id } }");
  await expect(alice.request(outside)).rejects.toMatchObject({ name: "GraphQLRequestError", code: "PERSISTED_QUERY_NOT_FOUND", status: 400 });
  const feed = new TypedDocumentString<unknown, { campaignId: string }>("subscription Outside($campaignId: ID!) { campaignEvents(campaignId: $campaignId) { id } }");
  const ended = await new Promise((resolve) => alice.subscribe(feed, { campaignId: randomUUID() }, { next: () => undefined, error: resolve, complete: () => resolve("complete") }));
  expect(ended).toMatchObject({ name: "GraphQLRequestError", code: "PERSISTED_QUERY_NOT_FOUND" });
});
