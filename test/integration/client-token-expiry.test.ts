import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import {
  JoinCampaignDocument,
  ViewerDocument,
  createStartalesClient,
  type FetchLike,
  type StartalesClient,
} from "@startales/client";
import { followNewCampaign } from "../testkit/client-feed";
import { expectData, postGraphQL } from "../testkit/graphql-client";
import { eventually } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser } from "../testkit/users";

/**
 * The typed client against a stack whose access tokens really expire, after 4 s: the client
 * sends a token until the gateway refuses it (no early refresh here), then renews it and
 * sends again; a subscription whose socket the gateway closes at the token's expiry (4403)
 * reconnects with a new token and resumes where it stopped.
 */
const TOKEN_TTL_SECONDS = 4;
let stack: Stack;
const clients: StartalesClient[] = [];
beforeAll(async () => {
  stack = await startStack({ logLevel: "warn", identityEnv: { ACCESS_TOKEN_TTL_SECONDS: String(TOKEN_TTL_SECONDS) } });
}, 60_000);
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await stack?.stop();
});

function player(extra: { on?: Parameters<typeof createStartalesClient>[0]["on"] } = {}): { client: StartalesClient; refreshes: () => number } {
  let refreshes = 0;
  const counting: FetchLike = async (url, init) => {
    if (init.body.includes("mutation RefreshSession")) refreshes++;
    return fetch(url, init);
  };
  const client = createStartalesClient({ url: stack.graphqlUrl, webSocketImpl: WebSocket, refreshLeewayMs: 0, fetch: counting, ...extra });
  clients.push(client);
  return { client, refreshes: () => refreshes };
}

/** Whether the gateway still accepts an access token. */
const accepted = async (accessToken: string) => (await postGraphQL(stack.graphqlUrl, { query: "{ me { id } }" }, { token: accessToken })).status !== 401;

it("sends a token until the gateway refuses it as expired, then renews it once and sends the request again", async () => {
  const { client, refreshes } = player();
  const session = await client.signUp({ email: `ttl-${randomUUID()}@example.test`, password: `pw-${randomUUID()}`, displayName: "Short Lived" });
  expect((await client.request(ViewerDocument)).me?.id).toBe(session.user.id);
  expect(refreshes()).toBe(0);
  await eventually("the access token to expire", async () => ((await accepted(session.accessToken)) ? undefined : true), 15_000);

  expect((await client.request(ViewerDocument)).me?.id).toBe(session.user.id);
  expect(refreshes()).toBe(1);
  expect(client.session?.accessToken).not.toBe(session.accessToken);
  expect(client.session?.refreshToken).not.toBe(session.refreshToken);
});

it("a subscription closed at the token's expiry reconnects with a renewed token and resumes without gap or repeat", async () => {
  const closes: number[] = [];
  let connects = 0;
  const { client: gm, refreshes } = player({ on: { connected: () => void connects++, closed: (event) => void closes.push((event as { code: number }).code) } });
  await gm.signUp({ email: `gm-${randomUUID()}@example.test`, password: `pw-${randomUUID()}`, displayName: "Expiring GM" });
  const { campaignId, received, failures, stop } = await followNewCampaign(gm, "Expiry");
  // Players registered as needed: their own tokens expire too.
  const join = async () => {
    const joiner = await registerUser(stack.graphqlUrl, "Joiner");
    expectData(await postGraphQL(stack.graphqlUrl, { query: JoinCampaignDocument.toString(), variables: { campaignId } }, { token: joiner.accessToken }));
    return joiner.user.id;
  };
  const joined: string[] = [await join()];
  await eventually("the first join", async () => (received.length >= 1 ? true : undefined));
  joined.push(await join());
  await eventually("the gateway to close the socket as the token expired", async () => (closes.includes(4403) ? true : undefined), 15_000);
  joined.push(await join());
  await eventually("a new connection", async () => (connects >= 2 ? true : undefined));
  joined.push(await join());
  await eventually("every join", async () => (received.length >= joined.length ? true : undefined));
  stop();

  expect(failures).toEqual([]);
  expect(refreshes()).toBeGreaterThanOrEqual(1);
  expect(received.map((event) => [event.type, (event.data as { userId: string }).userId])).toEqual(joined.map((id) => ["PLAYER_JOINED", id]));
}, 60_000);
