import { randomUUID } from "node:crypto";
import { errorCodes, expectData, postGraphQL } from "../testkit/graphql-client";
import { startFakeOpenAi, type FakeOpenAi } from "../testkit/fake-openai";
import { startStack, type Stack } from "../testkit/stack";
import { activeSubscriptions, subscribe, subscriptionErrorCodes, untilSubscribed, wsClient } from "../testkit/subscriptions";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * The AI narrator through the gateway, as a game client uses it: with no keys configured the
 * offline engines answer; a vendor deployment ("storyteller") streams its text to a
 * subscription over graphql-ws.
 */
let stack: Stack;
let fake: FakeOpenAi;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  fake = await startFakeOpenAi({ reply: "The old pilot squints at you and says the jump gate has been dark for a week." });
  stack = await startStack({
    logLevel: "warn",
    providerEnv: {
      PROVIDER_DEPLOYMENTS: JSON.stringify([
        { name: "storyteller-1", kind: "TEXT", modelGroup: "storyteller", model: "fake-gpt", baseUrl: fake.baseUrl, priority: 0 },
        { name: "storyteller-2", kind: "TEXT", modelGroup: "storyteller", model: "fake-gpt-backup", baseUrl: fake.baseUrl, priority: 1 },
      ]),
      PROVIDER_BUDGET_CAMPAIGN_REQUESTS: "3",
    },
  });
  alice = await registerUser(stack.graphqlUrl, "Alice");
  bob = await registerUser(stack.graphqlUrl, "Bob");
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await fake?.stop();
});

const call = (user: TestUser, query: string, variables: Record<string, unknown> = {}) => postGraphQL<Record<string, unknown>>(stack.graphqlUrl, { query, variables }, { token: user.accessToken });

const JOB = "id status text contentUrl contentType deployment errorCode usage { totalTokens cached } owner { id displayName }";
async function finished(user: TestUser, id: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 400; i++) {
    const job = expectData(await call(user, `query($id: ID!) { job(id: $id) { ${JOB} } }`, { id })).job as Record<string, unknown>;
    if (job.status === "SUCCEEDED" || job.status === "FAILED") return job;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`job ${id} did not finish`);
}

describe("the AI narrator through the gateway", () => {
  it("with no keys, an NPC dialogue returns narration, speech audio and a portrait from the offline providers", async () => {
    const npc = "Captain Mara Voss";
    const line = expectData(
      await call(alice, "mutation($i: GenerateTextInput!) { generateText(input: $i) { id status } }", {
        i: { idempotencyKey: randomUUID(), style: "DIALOGUE", speaker: npc, prompt: "Can you smuggle us past the blockade?" },
      }),
    ).generateText as { id: string };
    const dialogue = await finished(alice, line.id);
    expect(dialogue).toMatchObject({ status: "SUCCEEDED", deployment: "offline-narrator", owner: { id: alice.user.id, displayName: "Alice" } });
    expect(dialogue.text).toMatch(new RegExp(`^${npc}: "`));

    const voice = expectData(
      await call(alice, "mutation($i: SynthesizeSpeechInput!) { synthesizeSpeech(input: $i) { id } }", { i: { idempotencyKey: randomUUID(), text: dialogue.text } }),
    ).synthesizeSpeech as { id: string };
    const face = expectData(
      await call(alice, "mutation($i: GenerateImageInput!) { generateImage(input: $i) { id } }", { i: { idempotencyKey: randomUUID(), subject: "PORTRAIT", prompt: npc } }),
    ).generateImage as { id: string };
    const [audio, portrait] = await Promise.all([finished(alice, voice.id), finished(alice, face.id)]);
    expect(audio).toMatchObject({ status: "SUCCEEDED", contentType: "audio/wav" });
    expect(portrait).toMatchObject({ status: "SUCCEEDED", contentType: "image/png", deployment: "offline-images" });
    const wav = Buffer.from(await (await fetch(audio.contentUrl as string)).arrayBuffer());
    expect(wav.subarray(0, 4).toString("ascii")).toBe("RIFF");
    const png = await fetch(portrait.contentUrl as string);
    expect(png.headers.get("content-type")).toBe("image/png");
    const pngBytes = Buffer.from(await png.arrayBuffer());
    expect(pngBytes.subarray(1, 4).toString("ascii")).toBe("PNG");

    // Clients reach content only through the gateway: the same bytes and caching headers there.
    const path = new URL(portrait.contentUrl as string).pathname;
    const viaGateway = await fetch(`${stack.gatewayUrl}${path}`);
    expect(viaGateway.status).toBe(200);
    expect(viaGateway.headers.get("content-type")).toBe("image/png");
    expect(viaGateway.headers.get("cache-control")).toMatch(/immutable/);
    expect(Buffer.from(await viaGateway.arrayBuffer()).equals(pngBytes)).toBe(true);
    const etag = viaGateway.headers.get("etag");
    expect((await fetch(`${stack.gatewayUrl}${path}`, { headers: { "if-none-match": etag ?? "" } })).status).toBe(304);
    expect((await fetch(`${stack.gatewayUrl}/content/not-a-digest`)).status).toBe(404);
    expect((await fetch(`${stack.gatewayUrl}/content/${"0".repeat(64)}`)).status).toBe(404);

    // Bob may not read Alice's job.
    expect(errorCodes(await call(bob, "query($id: ID!) { job(id: $id) { id } }", { id: line.id }))).toEqual(["FORBIDDEN"]);
  });

  it("streams a vendor's text to a subscription chunk by chunk, and replays it from streamStartId", async () => {
    let release!: () => void;
    fake.queue({ kind: "gate", until: new Promise<void>((resolve) => (release = resolve)) });
    const job = expectData(
      await call(alice, "mutation($i: GenerateTextInput!) { generateText(input: $i) { id streamStartId } }", {
        i: { idempotencyKey: randomUUID(), model: "storyteller", prompt: "What happened to the jump gate?", stream: true },
      }),
    ).generateText as { id: string; streamStartId: string };
    expect(job.streamStartId).toMatch(/^\d+-\d+$/);

    const SUB = "subscription($id: ID!, $after: ID) { textStream(jobId: $id, after: $after) { id attempt index text done job { id } } }";
    const client = wsClient(stack.graphqlUrl, { token: alice.accessToken });
    const intruder = wsClient(stack.graphqlUrl, { token: bob.accessToken });
    try {
      const before = await activeSubscriptions(stack.gatewayUrl);
      const live = subscribe<{ textStream: { text: string; done: boolean; attempt: number; job: { id: string } } }>(client, SUB, { id: job.id });
      await untilSubscribed(stack.gatewayUrl, before);
      release();
      const chunks = () => live.results.map((r) => r.data!.textStream);
      for (let i = 0; i < 400 && !chunks().some((c) => c.done); i++) await new Promise((r) => setTimeout(r, 25));
      expect(chunks().length).toBeGreaterThan(3); // word by word, not one blob
      expect(chunks().every((c) => c.job.id === job.id && c.attempt === 1)).toBe(true);
      expect(chunks().map((c) => c.text).join("")).toBe(fake.reply);
      live.stop();

      const done = await finished(alice, job.id);
      expect(done).toMatchObject({ status: "SUCCEEDED", deployment: "storyteller-1", text: fake.reply });

      // A client that connects late passes streamStartId and receives every chunk.
      const replay = subscribe<{ textStream: { text: string; done: boolean } }>(client, SUB, { id: job.id, after: job.streamStartId });
      await replay.waitFor(chunks().length);
      expect(replay.results.map((r) => r.data!.textStream.text).join("")).toBe(fake.reply);
      replay.stop();

      // Someone else's job: refused when subscribing.
      const refused = subscribe(intruder, SUB, { id: job.id, after: job.streamStartId });
      await refused.ended();
      expect(subscriptionErrorCodes(refused)).toEqual(["FORBIDDEN"]);
    } finally {
      await client.dispose();
      await intruder.dispose();
    }
  });

  it("a stream that stops midway fails over: the subscriber sees attempt 1 cut short, then attempt 2 whole", async () => {
    fake.queue({ kind: "cut", afterChunks: 3 });
    const job = expectData(
      await call(alice, "mutation($i: GenerateTextInput!) { generateText(input: $i) { id streamStartId } }", {
        i: { idempotencyKey: randomUUID(), model: "storyteller", prompt: "Tell me about the dark gate", stream: true },
      }),
    ).generateText as { id: string; streamStartId: string };
    const client = wsClient(stack.graphqlUrl, { token: alice.accessToken });
    try {
      const stream = subscribe<{ textStream: { attempt: number; index: number; text: string; done: boolean } }>(
        client,
        "subscription($id: ID!, $after: ID) { textStream(jobId: $id, after: $after) { attempt index text done } }",
        { id: job.id, after: job.streamStartId },
      );
      const chunks = () => stream.results.map((r) => r.data!.textStream);
      for (let i = 0; i < 400 && !chunks().some((c) => c.done); i++) await new Promise((r) => setTimeout(r, 25));
      const [first, second] = [1, 2].map((attempt) => chunks().filter((c) => c.attempt === attempt));
      expect(first!.map((c) => c.text).join("")).toBe(fake.reply.match(/\S+\s*/g)!.slice(0, 3).join(""));
      expect(second!.map((c) => c.text).join("")).toBe(fake.reply);
      expect(chunks().at(-1)).toMatchObject({ attempt: 2, done: true });
      stream.stop();
    } finally {
      await client.dispose();
    }
    expect(await finished(alice, job.id)).toMatchObject({ status: "SUCCEEDED", deployment: "storyteller-2", text: fake.reply });
  });

  it("a job that charges a campaign's budget needs its caller to belong to the campaign", async () => {
    const created = expectData(await call(alice, 'mutation { createCampaign(input: { name: "Narrated" }) { id } }')).createCampaign as { id: string };
    const input = (campaignId: string) => ({ i: { idempotencyKey: randomUUID(), prompt: "Narrate our arrival", campaignId } });
    const TEXT = "mutation($i: GenerateTextInput!) { generateText(input: $i) { id campaign { id name } } }";
    const ok = expectData(await call(alice, TEXT, input(created.id))).generateText as { campaign: { id: string; name: string } };
    expect(ok.campaign).toEqual({ id: created.id, name: "Narrated" });
    expect(errorCodes(await call(bob, TEXT, input(created.id)))).toEqual(["FORBIDDEN"]);

    // Once Bob joins he may; the campaign's budget (3 requests here) is shared by its members.
    expectData(await call(bob, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: created.id }));
    expectData(await call(bob, TEXT, input(created.id)));
    expectData(await call(bob, TEXT, input(created.id)));
    const over = await call(alice, TEXT, input(created.id));
    expect(over.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED", reason: "BUDGET_EXCEEDED" });
    expect(over.errors?.[0]?.message).toContain("campaign");
    expectData(await call(alice, TEXT, { i: { idempotencyKey: randomUUID(), prompt: "Outside the campaign" } })); // her own budget is not spent
  });
});
