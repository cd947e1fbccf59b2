import { randomUUID } from "node:crypto";
import pg from "pg";
import { createRedis, type Viewer } from "@startales/service-kit";
import { createCampaignApp } from "../../subgraphs/campaign/src/app";
import { createRealtimeApp, type RealtimeApp } from "../../subgraphs/realtime/src/app";
import { CampaignSubgraphCreateDocument, CampaignSubgraphJoinDocument, RealtimeCampaignChannelDocument, RealtimePostMessageDocument } from "../generated/operations";
import { campaignTestConfig, realtimeTestConfig, required } from "../testkit/config";
import { asUser, gatewayHeaders } from "../testkit/gateway-identity";
import { expectData, graphql } from "../testkit/graphql-client";
import { captureLogs } from "../testkit/logs";
import { deleteKeysMatching } from "../testkit/redis-keys";
import { eventually } from "../testkit/simulation";
import { startTcpProxy, type TcpProxy } from "../testkit/tcp-proxy";

/**
 * A chat message is committed before the realtime subgraph marks its author active in Redis
 * (presence): when Redis hangs, the answer is still the saved message, the late presence
 * write is logged as a warning, and it lands once Redis answers again. Realtime reaches
 * Redis through a TCP proxy the test stalls; everything else uses Redis directly.
 */

/** Far above what answering a post takes, far below the suite's timeout. */
const PROMPTLY_MS = 5_000;
const PRESENCE_KEY_PREFIX = `presence:test:${randomUUID()}:`;
const campaignApp = createCampaignApp(campaignTestConfig(), captureLogs("campaign", "warn").logger);
const logs = captureLogs("realtime", "warn");
const redisUrl = new URL(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const redis = createRedis(redisUrl.toString(), "realtime-slow-redis-test");
const db = new pg.Client({ connectionString: required("REALTIME_DATABASE_URL") });
let proxy: TcpProxy;
let realtimeApp: RealtimeApp;
let campaignUrl: string;
let url: string;

beforeAll(async () => {
  proxy = await startTcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
  const campaignOrigin = await campaignApp.listen();
  campaignUrl = `${campaignOrigin}/graphql`;
  const viaProxy = new URL(redisUrl);
  viaProxy.host = `127.0.0.1:${proxy.port}`;
  realtimeApp = createRealtimeApp(realtimeTestConfig(campaignOrigin, { REDIS_URL: viaProxy.toString(), PRESENCE_KEY_PREFIX }), logs.logger);
  url = `${await realtimeApp.listen()}/graphql`;
  await db.connect();
});
afterAll(async () => {
  proxy.flow();
  await realtimeApp.stop();
  await campaignApp.stop();
  await proxy.close();
  await db.end();
  await deleteKeysMatching(redis, `${PRESENCE_KEY_PREFIX}*`);
  redis.disconnect();
});

const as = async (viewer: Viewer) => ({ headers: await gatewayHeaders(viewer) });

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe("posting a chat message while Redis hangs", () => {
  it("answers with the saved message, warns about the presence write, and completes it once Redis is back", async () => {
    const gm = asUser(randomUUID(), ["GAME_MASTER"]);
    const alice = asUser(randomUUID());
    const aliceId = alice.kind === "user" ? alice.userId : "";
    const campaign = expectData(await graphql(campaignUrl, CampaignSubgraphCreateDocument, { input: { name: `Slow ${randomUUID().slice(0, 8)}` } }, await as(gm))).createCampaign;
    expectData(await graphql(campaignUrl, CampaignSubgraphJoinDocument, { campaignId: campaign.id }, await as(alice)));
    const channelId = expectData(await graphql(url, RealtimeCampaignChannelDocument, { campaignId: campaign.id }, await as(alice))).campaignChannel.id;

    proxy.stall();
    const posted = await within(
      PROMPTLY_MS,
      "answering postMessage",
      graphql(url, RealtimePostMessageDocument, { channelId, text: "Saved while Redis hangs", idempotencyKey: randomUUID() }, await as(alice)),
    );
    const message = expectData(posted).postMessage;
    expect(message).toMatchObject({ text: "Saved while Redis hangs", author: { id: aliceId }, channel: { id: channelId } });
    const { rows } = await db.query("SELECT text FROM chat_messages WHERE id = $1", [message.id]);
    expect(rows).toEqual([{ text: "Saved while Redis hangs" }]);

    const warning = await eventually("a warning about the presence write", async () =>
      logs.lines().find((line) => line.msg === "side work did not finish; the answer stands" && line.work === "mark the author active"),
    );
    expect(warning).toMatchObject({ level: "warn", requestId: expect.any(String) });

    proxy.flow();
    await eventually("the author to be marked active", async () => (await redis.get(`${PRESENCE_KEY_PREFIX}user:${aliceId}:active`)) ?? undefined);
  });
});
