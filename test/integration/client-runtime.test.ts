import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import {
  CampaignEventsDocument,
  CreateCampaignDocument,
  GraphQLRequestError,
  JoinCampaignDocument,
  MyCampaignsDocument,
  NetworkError,
  RefreshSessionDocument,
  StartCampaignDocument,
  TypedDocumentString,
  ViewerDocument,
  createStartalesClient,
  type FetchLike,
  type Session,
  type StartalesClient,
  type StartalesClientOptions,
} from "@startales/client";
import { compareStreamIds } from "@startales/service-kit";
import { expectData, postGraphQL } from "../testkit/graphql-client";
import { eventually } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";
import { followNewCampaign } from "../testkit/client-feed";
import { startTcpProxy } from "../testkit/tcp-proxy";
import { registerUser } from "../testkit/users";

/**
 * The typed client (packages/client) against a whole stack: typed errors, access tokens
 * renewed once however many requests saw them refused, sessions that end when their
 * refresh token is turned down, and subscriptions that resume across a cut connection.
 */
let stack: Stack;
const clients: StartalesClient[] = [];
beforeAll(async () => {
  stack = await startStack({ logLevel: "warn" });
}, 60_000);
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await stack?.stop();
});

/** The operations a client sent, by name, as the gateway received them. */
function recordingFetch(): { fetch: FetchLike; sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    fetch: async (url, init) => {
      sent.push(/(?:query|mutation)\s+(\w+)/.exec((JSON.parse(init.body) as { query: string }).query)?.[1] ?? "anonymous");
      return fetch(url, init);
    },
  };
}

function client(options: Partial<StartalesClientOptions> = {}): StartalesClient {
  const made = createStartalesClient({ url: stack.graphqlUrl, webSocketImpl: WebSocket, ...options });
  clients.push(made);
  return made;
}

async function signedUp(name: string): Promise<Session> {
  return client().signUp({ email: `${name.toLowerCase()}-${randomUUID()}@example.test`, password: `pw-${randomUUID()}`, displayName: name });
}

const rejection = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

describe("typed errors", () => {
  it("carry the contract's code, the fields of bad input, and the HTTP status", async () => {
    const alice = client();
    await alice.signUp({ email: `alice-${randomUUID()}@example.test`, password: `pw-${randomUUID()}`, displayName: "Alice" });
    const bad = await rejection(alice.request(CreateCampaignDocument, { input: { name: "x" } }));
    expect(bad).toBeInstanceOf(GraphQLRequestError);
    expect(bad).toMatchObject({ code: "BAD_USER_INPUT", status: 200 });
    expect((bad as GraphQLRequestError).errors[0]?.extensions?.fields).toEqual([expect.objectContaining({ field: "name" })]);

    const { createCampaign } = await alice.request(CreateCampaignDocument, { input: { name: "Typed Errors" } });
    const bob = client();
    await bob.signUp({ email: `bob-${randomUUID()}@example.test`, password: `pw-${randomUUID()}`, displayName: "Bob" });
    expect(await rejection(bob.request(StartCampaignDocument, { id: createCampaign.id }))).toMatchObject({ name: "GraphQLRequestError", code: "FORBIDDEN" });

    const invalid = new TypedDocumentString<unknown, Record<string, never>>("query Invalid { me { nickname } }");
    expect(await rejection(alice.request(invalid))).toMatchObject({ code: "GRAPHQL_VALIDATION_FAILED", status: 400 });

    // Signed out, an @authenticated field is UNAUTHENTICATED; there is no session to renew.
    const { fetch, sent } = recordingFetch();
    expect(await rejection(client({ fetch }).request(MyCampaignsDocument))).toMatchObject({ code: "UNAUTHENTICATED" });
    expect(sent).toEqual(["MyCampaigns"]);

    // execute() hands back what came, errors included.
    const result = await alice.execute(CreateCampaignDocument, { input: { name: "x" } });
    expect(result.errors?.map((e) => e.extensions?.code)).toEqual(["BAD_USER_INPUT"]);
  });

  it("tell an unreachable API apart: NetworkError", async () => {
    const nowhere = createStartalesClient({ url: "http://127.0.0.1:9/graphql" });
    expect(await rejection(nowhere.request(ViewerDocument))).toBeInstanceOf(NetworkError);
  });
});

describe("access tokens", () => {
  it("refreshes once for concurrent requests whose token the gateway refused, then sends them again", async () => {
    const session = await signedUp("Concurrent");
    const { fetch, sent } = recordingFetch();
    const changes: (Session | null)[] = [];
    // A token the gateway refuses (401), as an expired one would be.
    const player = client({ session: { ...session, accessToken: "not-a-valid-token" }, fetch, onSessionChange: (s) => changes.push(s) });
    const answers = await Promise.all(Array.from({ length: 5 }, () => player.request(ViewerDocument)));
    expect(answers.map((a) => a.me?.id)).toEqual(Array(5).fill(session.user.id));
    expect(sent.filter((name) => name === "RefreshSession")).toHaveLength(1);
    expect(sent.filter((name) => name === "Viewer")).toHaveLength(10);
    expect(changes).toHaveLength(1);
    expect(changes[0]?.refreshToken).not.toBe(session.refreshToken);
    expect(player.session?.accessToken).toBe(changes[0]?.accessToken);
  });

  it("refreshes shortly before the token expires, once for concurrent requests, without a refusal", async () => {
    const session = await signedUp("Early");
    const { fetch, sent } = recordingFetch();
    // The client's clock says the token has 30 s left, within the 60 s leeway.
    const clock = { skew: Date.parse(session.expiresAt) - Date.now() - 30_000 };
    const player = client({ session, fetch, now: () => Date.now() + clock.skew });
    const answers = await Promise.all(Array.from({ length: 4 }, () => player.request(ViewerDocument)));
    expect(answers.every((a) => a.me?.id === session.user.id)).toBe(true);
    expect(sent).toEqual(["RefreshSession", "Viewer", "Viewer", "Viewer", "Viewer"]);
    clock.skew = 0;
    await player.request(ViewerDocument);
    expect(sent.filter((name) => name === "RefreshSession")).toHaveLength(1);
  });

  it("ends the session with UNAUTHENTICATED once its refresh token was revoked", async () => {
    const session = await signedUp("Revoked");
    const changes: (Session | null)[] = [];
    const first = client({ session: { ...session, accessToken: "not-a-valid-token" } });
    await first.request(ViewerDocument); // rotates: session.refreshToken is used up
    // Someone presents the used-up refresh token: identity revokes the whole sign-in.
    const reuse = await postGraphQL(stack.graphqlUrl, { query: RefreshSessionDocument.toString(), variables: { refreshToken: session.refreshToken } });
    expect(reuse.errors?.map((e) => e.extensions?.code)).toEqual(["UNAUTHENTICATED"]);
    // Access tokens work until they expire; once one is refused, the refresh fails for good.
    const player = client({ session: { ...first.session!, accessToken: "not-a-valid-token" }, onSessionChange: (s) => changes.push(s) });
    const ended = await rejection(player.request(ViewerDocument));
    expect(ended).toMatchObject({ name: "GraphQLRequestError", code: "UNAUTHENTICATED", message: "The session has ended: sign in again" });
    expect(player.session).toBeNull();
    expect(changes.at(-1)).toBeNull();
  });

  it("signs out: the refresh token stops working", async () => {
    const player = client();
    const session = await player.signUp({ email: `leaving-${randomUUID()}@example.test`, password: `pw-${randomUUID()}`, displayName: "Leaving" });
    await player.signOut();
    expect(player.session).toBeNull();
    const refused = await postGraphQL(stack.graphqlUrl, { query: RefreshSessionDocument.toString(), variables: { refreshToken: session.refreshToken } });
    expect(refused.errors?.map((e) => e.extensions?.code)).toEqual(["UNAUTHENTICATED"]);
  });
});

describe("subscriptions", () => {
  /** Resolves with how a subscription ended. */
  const ending = (player: StartalesClient, campaignId: string) =>
    new Promise<unknown>((resolve) => player.subscribe(CampaignEventsDocument, { campaignId }, { next: () => undefined, error: resolve, complete: () => resolve("complete") }));

  it("end with the API's typed error", async () => {
    const gm = client();
    await gm.signUp({ email: `owner-${randomUUID()}@example.test`, password: `pw-${randomUUID()}`, displayName: "Owner" });
    const { createCampaign } = await gm.request(CreateCampaignDocument, { input: { name: "Private" } });
    const outsider = client();
    await outsider.signUp({ email: `outsider-${randomUUID()}@example.test`, password: `pw-${randomUUID()}`, displayName: "Outsider" });
    expect(await ending(outsider, createCampaign.id)).toMatchObject({ name: "GraphQLRequestError", code: "FORBIDDEN" });
  });

  it("end with UNAUTHENTICATED when the session cannot be renewed to connect, rather than retrying", async () => {
    const session = await signedUp("Expired");
    expectData(await postGraphQL(stack.graphqlUrl, { query: "mutation($t: String!) { logout(refreshToken: $t) }", variables: { t: session.refreshToken } }));
    // Its access token has expired (by its expiresAt): connecting needs a refresh, which identity refuses.
    const stale = client({ session: { ...session, expiresAt: new Date(Date.now() - 1000).toISOString() } });
    expect(await ending(stale, randomUUID())).toMatchObject({ name: "GraphQLRequestError", code: "UNAUTHENTICATED" });
    expect(stale.session).toBeNull();
  });

  it("resume after the connection is cut: every event once, in order, the missed ones replayed", async () => {
    const proxy = await startTcpProxy({ host: "127.0.0.1", port: Number(new URL(stack.gatewayUrl).port) });
    const connections = { opened: 0, closed: 0 };
    const gm = client({
      url: `http://127.0.0.1:${proxy.port}/graphql`,
      on: { connected: () => void connections.opened++, closed: () => void connections.closed++ },
    });
    try {
      await gm.signUp({ email: `gm-${randomUUID()}@example.test`, password: `pw-${randomUUID()}`, displayName: "Resuming GM" });
      const { campaignId, received, failures, stop } = await followNewCampaign(gm, "Resume");
      const players = await Promise.all(Array.from({ length: 9 }, (_, i) => registerUser(stack.graphqlUrl, `Joiner ${i}`)));
      const join = async (from: number, to: number) => {
        for (const player of players.slice(from, to)) {
          expectData(await postGraphQL(stack.graphqlUrl, { query: JoinCampaignDocument.toString(), variables: { campaignId } }, { token: player.accessToken }));
        }
      };
      const joined = () => received.filter((e) => e.type === "PLAYER_JOINED").length;

      await join(0, 3);
      await eventually("the first three joins", async () => (joined() >= 3 ? true : undefined));
      await proxy.refuse();
      await eventually("the client to see its socket closed", async () => (connections.closed >= 1 ? true : undefined));
      await join(3, 6); // while it is disconnected
      await proxy.restore();
      await join(6, 9);
      await eventually("all nine joins", async () => (joined() >= 9 ? true : undefined));
      stop();

      expect(failures).toEqual([]);
      expect(connections.opened).toBeGreaterThanOrEqual(2);
      expect(received.map((e) => (e.data as { userId: string }).userId)).toEqual(players.map((p) => p.user.id));
      const ids = received.map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect([...ids].sort(compareStreamIds)).toEqual(ids);
    } finally {
      await proxy.close();
    }
  });
});
