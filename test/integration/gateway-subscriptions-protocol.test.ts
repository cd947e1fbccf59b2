import { createHash, randomUUID } from "node:crypto";
import WebSocket from "ws";
import { Topics, createRedis, newestStreamId, publishEnvelope, type Logger, type Redis } from "@startales/service-kit";
import { createGatewayApp, type GatewayApp } from "../../gateway/src/app";
import { gatewayTestConfig } from "../testkit/config";
import { startGatewayProcess } from "../testkit/gateway-process";
import { expectData, postGraphQL } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { fetchMetrics, metricValue } from "../testkit/metrics";
import { startStack, type Stack } from "../testkit/stack";
import { activeSubscriptions, rawSocket, untilSubscribed, wsUrlOf } from "../testkit/subscriptions";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * The graphql-ws protocol at the gateway, frame by frame, and the protections of a public
 * socket: every misuse gets the protocol's close code (or an `error` with a GraphQL code)
 * and the gateway goes on serving.
 */

let stack: Stack;
let user: TestUser;
const gateways: GatewayApp[] = [];

beforeAll(async () => {
  stack = await startStack({ logLevel: "warn" });
  user = await registerUser(stack.graphqlUrl, "Socket");
});
afterAll(async () => {
  for (const gateway of gateways) await gateway.stop();
  await stack?.stop();
});

/** A gateway of its own in front of the stack's subgraphs, with these settings. */
async function gatewayWith(env: Record<string, string>): Promise<string> {
  const subgraphs = Object.fromEntries(
    Object.entries({ identity: stack.identityUrl, campaign: stack.campaignUrl, realtime: (stack as { realtimeUrl?: string }).realtimeUrl }).filter(([, url]) => url),
  ) as Record<string, string>;
  const gateway = createGatewayApp(gatewayTestConfig(subgraphs, `${stack.identityUrl}/.well-known/jwks.json`, env), captureLogs("gateway", "warn").logger as Logger);
  gateways.push(gateway);
  return `${await gateway.listen()}/graphql`;
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const init = (token = user.accessToken) => ({ type: "connection_init", payload: { authorization: `Bearer ${token}` } });

async function acknowledged(url = stack.graphqlUrl, token = user.accessToken) {
  const socket = await rawSocket(url);
  socket.send(init(token));
  await socket.message("connection_ack");
  return socket;
}

describe("graphql-ws protocol", () => {
  it("closes 4406 without the graphql-transport-ws subprotocol", async () => {
    const socket = await rawSocket(stack.graphqlUrl, []);
    expect(await socket.closed()).toMatchObject({ code: 4406 });
    // The legacy subscriptions-transport-ws protocol is not chosen: its client cannot even open.
    await expect(rawSocket(stack.graphqlUrl, "graphql-ws")).rejects.toThrow("Server sent no subprotocol");
  });

  it("closes 4408 when connection_init does not come in time", async () => {
    const url = await gatewayWith({ WS_INIT_TIMEOUT_MS: "300" });
    const socket = await rawSocket(url);
    expect(await socket.closed()).toMatchObject({ code: 4408 });
  });

  it("closes 4401 on a subscribe before the ack, 4429 on a second init, 4400 on a malformed message, 4409 on a reused id", async () => {
    const early = await rawSocket(stack.graphqlUrl);
    early.send({ id: "1", type: "subscribe", payload: { query: "{ me { id } }" } });
    expect(await early.closed()).toMatchObject({ code: 4401 });
    // The ack, not the init, opens the socket to operations.
    const eager = await rawSocket(stack.graphqlUrl);
    eager.send(init());
    eager.send({ id: "1", type: "subscribe", payload: { query: "{ me { id } }" } });
    expect(await eager.closed()).toMatchObject({ code: 4401 });

    const twice = await acknowledged();
    twice.send(init());
    expect(await twice.closed()).toMatchObject({ code: 4429 });

    for (const bad of ["not json", JSON.stringify({ type: "subscribe", id: "x" }), JSON.stringify({ type: "unknown" }), JSON.stringify([1])]) {
      const socket = await acknowledged();
      socket.send(bad);
      expect(await socket.closed()).toMatchObject({ code: 4400 });
    }

    const reused = await acknowledged();
    const campaign = expectData(
      await postGraphQL<{ createCampaign: { id: string } }>(stack.graphqlUrl, { query: 'mutation { createCampaign(input: { name: "Ids" }) { id } }' }, { token: user.accessToken }),
    ).createCampaign.id;
    const feed = { query: "subscription($id: ID!) { campaignEvents(campaignId: $id) { id } }", variables: { id: campaign } };
    reused.send({ id: "same", type: "subscribe", payload: feed });
    reused.send({ id: "same", type: "subscribe", payload: feed });
    expect(await reused.closed()).toMatchObject({ code: 4409 });
  });

  it("closes 4403 for an invalid token and answers ping with pong", async () => {
    const forged = await rawSocket(stack.graphqlUrl);
    forged.send(init(`${user.accessToken.slice(0, -4)}AAAA`));
    expect(await forged.closed()).toMatchObject({ code: 4403 });

    const socket = await acknowledged();
    socket.send({ type: "ping" });
    await socket.message("pong");
    socket.close();
  });

  it("answers ping with pong, also before the ack, and takes an unprompted pong as a heartbeat", async () => {
    const socket = await rawSocket(stack.graphqlUrl);
    socket.send({ type: "ping", payload: { at: 1 } });
    await socket.message("pong");
    socket.send({ type: "pong" });
    socket.send(init());
    await socket.message("connection_ack");
    socket.send({ id: "alive", type: "subscribe", payload: { query: "{ me { id } }" } });
    expect(await socket.message("next")).toMatchObject({ id: "alive", payload: { data: { me: { id: user.user.id } } } });
    socket.close();
  });

  it("closes 4400 on a subscribe without a query unless it names a persisted query, and on a binary frame", async () => {
    const withoutQuery = [{}, { variables: {} }, { query: "" }, { extensions: { persistedQuery: { version: 1 } } }, { extensions: { persistedQuery: { version: 1, sha256Hash: 42 } } }];
    for (const payload of withoutQuery) {
      const socket = await acknowledged();
      socket.send({ id: "1", type: "subscribe", payload });
      expect(await socket.closed()).toMatchObject({ code: 4400 });
    }
    const binary = await acknowledged();
    binary.socket.send(Buffer.from(JSON.stringify({ type: "ping" })));
    expect(await binary.closed()).toMatchObject({ code: 4400 });

    // APQ: the hash alone is an operation (refused until the query is registered, then served).
    const query = `{ me { id } } # ${randomUUID()}`;
    const persistedQuery = { version: 1, sha256Hash: createHash("sha256").update(query).digest("hex") };
    const socket = await acknowledged();
    socket.send({ id: "hash", type: "subscribe", payload: { extensions: { persistedQuery } } });
    expect(await socket.message("error")).toMatchObject({ id: "hash", payload: [{ extensions: { code: "PERSISTED_QUERY_NOT_FOUND" } }] });
    socket.send({ id: "register", type: "subscribe", payload: { query, extensions: { persistedQuery } } });
    await socket.message("complete");
    const from = socket.messages.length;
    socket.send({ id: "again", type: "subscribe", payload: { extensions: { persistedQuery } } });
    expect(await socket.message("next", from)).toEqual({ id: "again", type: "next", payload: { data: { me: { id: user.user.id } } } });
    socket.close();
  });

  it("does not deliver an event that breaks its contract: it is counted, and the events after it still come", async () => {
    const campaignId = expectData(
      await postGraphQL<{ createCampaign: { id: string } }>(stack.graphqlUrl, { query: 'mutation { createCampaign(input: { name: "Contract" }) { id } }' }, { token: user.accessToken }),
    ).createCampaign.id;
    const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "contract-test");
    try {
      const socket = await acknowledged();
      const before = await activeSubscriptions(stack.gatewayUrl);
      socket.send({ id: "feed", type: "subscribe", payload: { query: "subscription($id: ID!) { campaignEvents(campaignId: $id) { id type data } }", variables: { id: campaignId } } });
      await untilSubscribed(stack.gatewayUrl, before);
      const rejectedBefore = metricValue(await fetchMetrics(stack.gatewayUrl), "gateway_subscription_events_rejected_total", { field: "campaignEvents" }) ?? 0;
      const event = (data: Record<string, unknown>) => ({ id: randomUUID(), type: "CAMPAIGN_CREATED", topic: Topics.campaign(campaignId), occurredAt: new Date().toISOString(), aggregateId: campaignId, version: 9, data, traceparent: null });
      // A producer bypassing eventData(): its gameMasterId is not an id.
      await publishEnvelope(redis, event({ name: "broken", gameMasterId: "bob" }), { streamMaxLen: 1000 });
      await publishEnvelope(redis, event({ name: "sound", gameMasterId: user.user.id }), { streamMaxLen: 1000 });
      const next = (await socket.message("next")) as { payload: { data: { campaignEvents: { data: { name: string } } } } };
      expect(next.payload.data.campaignEvents.data.name).toBe("sound");
      expect(socket.messages.filter((m) => m.type === "next")).toHaveLength(1);
      expect(metricValue(await fetchMetrics(stack.gatewayUrl), "gateway_subscription_events_rejected_total", { field: "campaignEvents" })).toBe(rejectedBefore + 1);
      socket.close();
    } finally {
      redis.disconnect();
    }
  });

  it("stops a subscription on complete: nothing more is sent for its id, and the id may be used again", async () => {
    const campaignId = expectData(
      await postGraphQL<{ createCampaign: { id: string } }>(stack.graphqlUrl, { query: 'mutation { createCampaign(input: { name: "Complete" }) { id } }' }, { token: user.accessToken }),
    ).createCampaign.id;
    const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "complete-test");
    try {
      const feed = { query: "subscription($id: ID!) { campaignEvents(campaignId: $id) { id data } }", variables: { id: campaignId } };
      const socket = await acknowledged();
      const before = await activeSubscriptions(stack.gatewayUrl);
      socket.send({ id: "done", type: "subscribe", payload: feed });
      socket.send({ id: "sentinel", type: "subscribe", payload: feed });
      await untilSubscribed(stack.gatewayUrl, before, { count: 2 });
      socket.send({ id: "done", type: "complete" });
      await until(async () => (await activeSubscriptions(stack.gatewayUrl)) === before + 1, "the completed subscription to stop");
      const event = (i: number) => ({ id: randomUUID(), type: "CAMPAIGN_CREATED", topic: Topics.campaign(campaignId), occurredAt: new Date().toISOString(), aggregateId: campaignId, version: i, data: { name: "synthetic", gameMasterId: campaignId,  i }, traceparent: null });
      await publishEnvelope(redis, event(1), { streamMaxLen: 1000 });
      await publishEnvelope(redis, event(2), { streamMaxLen: 1000 });
      // One socket, events in order: once the sentinel has the second, anything for "done" would be here.
      await until(async () => socket.messages.filter((m) => m.id === "sentinel" && m.type === "next").length === 2, "both events for the sentinel");
      expect(socket.messages.filter((m) => m.id === "done")).toEqual([]);

      const from = socket.messages.length;
      socket.send({ id: "done", type: "subscribe", payload: { query: "{ me { id } }" } });
      expect(await socket.message("next", from)).toMatchObject({ id: "done", payload: { data: { me: { id: user.user.id } } } });
      socket.close();
    } finally {
      redis.disconnect();
    }
  });

  it("runs queries and mutations over the socket like HTTP, limits and errors included", async () => {
    const socket = await acknowledged();
    socket.send({ id: "q", type: "subscribe", payload: { query: "{ me { id displayName } }" } });
    const next = await socket.message("next");
    expect(next).toEqual({ id: "q", type: "next", payload: { data: { me: { id: user.user.id, displayName: "Socket" } } } });
    await socket.message("complete");

    const from = socket.messages.length;
    socket.send({ id: "m", type: "subscribe", payload: { query: 'mutation { createCampaign(input: { name: "" }) { id } }' } });
    const failed = (await socket.message("next", from)) as { payload: { errors: { extensions: { code: string } }[] } };
    expect(failed.payload.errors[0]!.extensions.code).toBe("BAD_USER_INPUT");

    const deep = `{ me { ${"campaigns: myCampaigns { members { campaign { ".repeat(10)} id ${"} } }".repeat(10)} } }`;
    socket.send({ id: "deep", type: "subscribe", payload: { query: deep } });
    const refused = (await socket.message("error", from)) as { id: string; payload: { extensions: { code: string } }[] };
    expect(refused.id).toBe("deep");
    expect(refused.payload[0]!.extensions.code).toBe("QUERY_TOO_COMPLEX");

    socket.send({ id: "bad", type: "subscribe", payload: { query: "{ nope }" } });
    const invalid = (await socket.message("error", socket.messages.length)) as { payload: { extensions: { code: string } }[] };
    expect(invalid.payload[0]!.extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    socket.close();
  });

  it("serves anonymous connections public queries only", async () => {
    const socket = await rawSocket(stack.graphqlUrl);
    socket.send({ type: "connection_init" });
    await socket.message("connection_ack");
    socket.send({ id: "me", type: "subscribe", payload: { query: "{ me { id } }" } });
    expect(await socket.message("next")).toMatchObject({ payload: { data: { me: null } } });
    socket.send({ id: "feed", type: "subscribe", payload: { query: `subscription { campaignEvents(campaignId: "${randomUUID()}") { id } }` } });
    expect(await socket.message("error")).toMatchObject({ id: "feed", payload: [{ extensions: { code: "UNAUTHENTICATED" } }] });
    socket.close();
  });
});

describe("flood protection", () => {
  it("closes 4429 on a message flood", async () => {
    const url = await gatewayWith({ WS_MAX_MESSAGES_PER_SECOND: "5" });
    const socket = await acknowledged(url);
    for (let i = 0; i < 30; i++) socket.send({ type: "ping" });
    expect(await socket.closed()).toMatchObject({ code: 4429, reason: "Too many messages" });
  });

  it("caps sockets per user across the cap's window (4429), and frees the slot on close", async () => {
    const url = await gatewayWith({ WS_MAX_CONNECTIONS_PER_USER: "2" });
    const capped = await registerUser(stack.graphqlUrl, "Tabs");
    const first = await acknowledged(url, capped.accessToken);
    await acknowledged(url, capped.accessToken);
    const third = await rawSocket(url);
    third.send(init(capped.accessToken));
    expect(await third.closed()).toMatchObject({ code: 4429, reason: "Too many connections for this user" });
    first.close();
    await first.closed();
    // The gateway releases the slot once it has seen the close: a new socket is admitted
    // then, and until then is refused with 4429 (never anything else).
    for (let attempt = 0; ; attempt++) {
      const again = await rawSocket(url);
      again.send(init(capped.accessToken));
      const answer = await Promise.race([again.message("connection_ack").then(() => "ack"), again.closed().then((c) => c.code)]);
      if (answer === "ack") break;
      expect(answer).toBe(4429);
      if (attempt === 200) throw new Error("the closed socket's slot was never freed");
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  });

  it("refuses the upgrade over the per-address cap with HTTP 429 and Retry-After", async () => {
    const url = await gatewayWith({ WS_MAX_CONNECTIONS_PER_IP: "2", RATE_LIMIT_KEY_PREFIX: `rate-limit:test:${randomUUID()}:` });
    await rawSocket(url);
    await rawSocket(url);
    const refused = await new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
      const socket = new WebSocket(wsUrlOf(url), "graphql-transport-ws");
      socket.on("unexpected-response", (_req, res) => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] as string | undefined }));
      socket.on("open", () => reject(new Error("the upgrade was accepted")));
      socket.on("error", () => undefined);
    });
    expect(refused).toEqual({ status: 429, retryAfter: expect.stringMatching(/^\d+$/) });
  });

  it("limits operations per socket and charges each one to the caller's rate limit", async () => {
    const url = await gatewayWith({ WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: "1", RATE_LIMIT_USER_PER_MINUTE: "3" });
    const limited = await registerUser(stack.graphqlUrl, "Limited");
    const campaign = expectData(
      await postGraphQL<{ createCampaign: { id: string } }>(url, { query: 'mutation { createCampaign(input: { name: "Cap" }) { id } }' }, { token: limited.accessToken }),
    ).createCampaign.id;
    const socket = await acknowledged(url, limited.accessToken);
    const feed = { query: "subscription($id: ID!) { campaignEvents(campaignId: $id) { id } }", variables: { id: campaign } };
    socket.send({ id: "a", type: "subscribe", payload: feed });
    socket.send({ id: "b", type: "subscribe", payload: feed });
    expect(await socket.message("error")).toMatchObject({ id: "b", payload: [{ extensions: { code: "RATE_LIMITED" } }] });
    socket.send({ id: "a", type: "complete" });
    // Two requests of the user's budget of 3 are spent (the HTTP mutation and "a").
    socket.send({ id: "c", type: "subscribe", payload: { query: "{ me { id } }" } });
    await socket.message("complete");
    const from = socket.messages.length;
    socket.send({ id: "d", type: "subscribe", payload: { query: "{ me { id } }" } });
    const refused = (await socket.message("error", from)) as { payload: { extensions: { code: string; retryAfter: number } }[] };
    expect(refused.payload[0]!.extensions).toMatchObject({ code: "RATE_LIMITED", retryAfter: expect.any(Number) });
  });

  it("closes 1009 on a message over the body limit", async () => {
    const url = await gatewayWith({ BODY_LIMIT_BYTES: "10000" });
    const socket = await acknowledged(url);
    socket.send({ id: "big", type: "subscribe", payload: { query: `{ me { id } } # ${"x".repeat(20_000)}` } });
    expect(await socket.closed()).toMatchObject({ code: 1009 });
  });
});

describe("bounded work per subscriber", () => {
  const publish = (redis: Redis, campaignId: string, count: number) => {
    const pipeline = redis.pipeline();
    for (let i = 0; i < count; i++) {
      const envelope = { id: randomUUID(), type: "CAMPAIGN_CREATED", topic: Topics.campaign(campaignId), occurredAt: new Date().toISOString(), aggregateId: campaignId, version: i, data: { name: "synthetic", gameMasterId: campaignId,  i }, traceparent: null };
      void publishEnvelope(pipeline as unknown as Redis, envelope, { streamMaxLen: 100_000 });
    }
    return pipeline.exec();
  };
  const feedOf = async (url: string, after?: string) => {
    const campaignId = expectData(
      await postGraphQL<{ createCampaign: { id: string } }>(url, { query: 'mutation { createCampaign(input: { name: "Bounded" }) { id } }' }, { token: user.accessToken }),
    ).createCampaign.id;
    return { campaignId, payload: { query: "subscription($id: ID!, $after: ID) { campaignEvents(campaignId: $id, after: $after) { id data } }", variables: { id: campaignId, after } } };
  };

  it("replays at most WS_MAX_REPLAY_EVENTS missed events; further behind is RESUME_POINT_EXPIRED", async () => {
    const url = await gatewayWith({ WS_MAX_REPLAY_EVENTS: "3" });
    const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "bounded-test");
    try {
      const { campaignId } = await feedOf(url);
      await publish(redis, campaignId, 1);
      const [first] = (await redis.xrange(`events:${Topics.campaign(campaignId)}`, "-", "+")).slice(-1);
      await publish(redis, campaignId, 5);
      const socket = await acknowledged(url);
      socket.send({ id: "far", type: "subscribe", payload: { query: "subscription($id: ID!, $after: ID) { campaignEvents(campaignId: $id, after: $after) { id } }", variables: { id: campaignId, after: first![0] } } });
      expect(await socket.message("error")).toMatchObject({ id: "far", payload: [{ extensions: { code: "NOT_FOUND", reason: "RESUME_POINT_EXPIRED" } }] });
    } finally {
      redis.disconnect();
    }
  });

  it("tells subscribers to resume (SERVICE_UNAVAILABLE, reason BACKLOG) when events come faster than they resolve", async () => {
    const url = await gatewayWith({ WS_MAX_GROUP_BACKLOG: "1" });
    const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "backlog-test");
    try {
      const { campaignId, payload } = await feedOf(url);
      await until(async () => (await newestStreamId(redis, Topics.campaign(campaignId))) !== null, "the campaign's creation event");
      const created = await newestStreamId(redis, Topics.campaign(campaignId));
      const socket = await acknowledged(url);
      const origin = url.replace(/\/graphql$/, "");
      const before = await activeSubscriptions(origin);
      socket.send({ id: "flood", type: "subscribe", payload });
      await untilSubscribed(origin, before);
      await publish(redis, campaignId, 20);
      const error = (await socket.message("error")) as { id: string; payload: { extensions: Record<string, unknown> }[] };
      expect(error).toMatchObject({ id: "flood", payload: [{ extensions: { code: "SERVICE_UNAVAILABLE", reason: "BACKLOG" } }] });
      // What was delivered before is in order and complete up to the cut: resuming from it loses nothing.
      const nexts = socket.messages.filter((m) => m.type === "next").map((m) => (m.payload as { data: { campaignEvents: { id: string; data: { i: number } } } }).data.campaignEvents);
      const delivered = nexts.map((e) => e.data.i);
      expect(delivered).toEqual([...delivered.keys()]);
      // The resume point: the last event delivered, or where the feed stood when it subscribed.
      expect(error.payload[0]!.extensions.lastEventId).toBe(nexts.at(-1)?.id ?? created);
    } finally {
      redis.disconnect();
    }
  });
});

describe("credentials on a socket", () => {
  it("accepts an API key, and closes its sockets (4403) when it is revoked", async () => {
    const created = expectData(
      await postGraphQL<{ createApiKey: { key: string; apiKey: { id: string } } }>(
        stack.graphqlUrl,
        { query: 'mutation { createApiKey(input: { name: "socket tool", scopes: [READ] }) { key apiKey { id } } }' },
        { token: user.accessToken },
      ),
    ).createApiKey;
    const socket = await rawSocket(stack.graphqlUrl);
    socket.send({ type: "connection_init", payload: { "X-Api-Key": created.key } });
    await socket.message("connection_ack");
    socket.send({ id: "me", type: "subscribe", payload: { query: "{ me { id } }" } });
    expect(await socket.message("next")).toMatchObject({ payload: { data: { me: { id: user.user.id } } } });

    expectData(await postGraphQL(stack.graphqlUrl, { query: "mutation($id: ID!) { revokeApiKey(id: $id) { id } }", variables: { id: created.apiKey.id } }, { token: user.accessToken }));
    expect(await socket.closed()).toMatchObject({ code: 4403, reason: "API key revoked" });
  });

  it("closes the socket (4403) when its access token expires", async () => {
    const shortLived = await startStack({ logLevel: "warn", identityEnv: { ACCESS_TOKEN_TTL_SECONDS: "2" } });
    try {
      const player = await registerUser(shortLived.graphqlUrl, "Brief");
      const socket = await acknowledged(shortLived.graphqlUrl, player.accessToken);
      expect(await socket.closed(10_000)).toMatchObject({ code: 4403, reason: "Access token expired" });
    } finally {
      await shortLived.stop();
    }
    // A whole stack of its own starts and stops inside the test: the 60 s every stack start gets.
  }, 60_000);

  it("closes every socket with 1001 at once on SIGTERM, subscribed or not yet initialised, and exits 0", async () => {
    const replica = await startGatewayProcess(stack);
    const campaignId = expectData(
      await postGraphQL<{ createCampaign: { id: string } }>(stack.graphqlUrl, { query: 'mutation { createCampaign(input: { name: "Sigterm" }) { id } }' }, { token: user.accessToken }),
    ).createCampaign.id;
    const subscribed = await acknowledged(replica.graphqlUrl);
    const before = await activeSubscriptions(replica.gatewayUrl);
    subscribed.send({ id: "feed", type: "subscribe", payload: { query: "subscription($id: ID!) { campaignEvents(campaignId: $id) { id } }", variables: { id: campaignId } } });
    await untilSubscribed(replica.gatewayUrl, before);
    const fresh = await rawSocket(replica.graphqlUrl);

    const exited = replica.stop();
    // Told to reconnect elsewhere (graphql-ws retries 1001), not dropped (1006) nor ended (an `error`).
    expect(await subscribed.closed()).toEqual({ code: 1001, reason: "Server shutting down" });
    expect(await fresh.closed()).toEqual({ code: 1001, reason: "Server shutting down" });
    expect(subscribed.messages.filter((m) => m.type === "error" || m.type === "complete")).toEqual([]);
    expect(await exited).toBe(0);
  }, 60_000);

  it("closes open sockets with 1001 on shutdown and refuses new ones", async () => {
    const url = await gatewayWith({});
    const socket = await acknowledged(url);
    const gateway = gateways.pop()!;
    const stopping = gateway.stop();
    expect(await socket.closed()).toMatchObject({ code: 1001 });
    await stopping;
    await expect(rawSocket(url)).rejects.toThrow();
  });
});
