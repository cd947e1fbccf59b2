/**
 * A short game session against a running gateway, played the way a game client plays it,
 * with nothing but @startales/client (and `ws`, Node 20's WebSocket):
 *
 *   npm start                                   # in another terminal: the whole backend
 *   npx tsx examples/game-client/play.ts        # GATEWAY_URL=http://127.0.0.1:4000 by default
 *
 * Two players sign up; Alice creates a campaign, Bob joins, Alice starts it and follows its
 * events live; she sends a command to her civilization, they chat, the AI narrates, Bob reads
 * his notifications, and Alice ends the campaign. Prints what happens; exits 0 when the
 * session went through, 1 with the reason when it did not.
 */
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import {
  CampaignChannelDocument,
  CampaignEventsDocument,
  CampaignOverviewDocument,
  CommandsDocument,
  CreateCampaignDocument,
  EndCampaignDocument,
  GenerateTextDocument,
  InboxDocument,
  JobDocument,
  JoinCampaignDocument,
  LeaderboardDocument,
  MarkAllNotificationsReadDocument,
  MessageAddedDocument,
  MessagesDocument,
  MyCivilizationDocument,
  SendMessageDocument,
  StartCampaignDocument,
  SubmitCommandDocument,
  TextStreamDocument,
  createStartalesClient,
  type CampaignEventsSubscription,
  type StartalesClient,
  type TextStreamSubscription,
} from "@startales/client";

const gateway = (process.env.GATEWAY_URL ?? "http://127.0.0.1:4000").replace(/\/+$/, "");
/** Makes the players' emails unique (and known to whoever runs this, e.g. a test). */
const run = process.env.EXAMPLE_RUN_ID ?? randomUUID().slice(0, 8);
const timeoutMs = Number(process.env.EXAMPLE_TIMEOUT_MS ?? 90_000);
const PASSWORD = "correct horse battery staple";

const say = (line: string) => void process.stdout.write(`${line}\n`);
const clients: StartalesClient[] = [];
/** A subscription that failed: every wait below gives up with it. */
let broken: Error | undefined;

function player(): StartalesClient {
  const client = createStartalesClient({
    url: `${gateway}/graphql`,
    webSocketImpl: WebSocket,
    clientName: "startales-example",
    clientVersion: "1.0.0",
  });
  clients.push(client);
  return client;
}

/** Asks `check` until it returns something; gives up when a subscription broke or the session timed out. */
async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (broken) throw broken;
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

async function play(): Promise<void> {
  say(`Playing against ${gateway}`);
  const alice = player();
  const bob = player();
  await alice.signUp({ email: `alice-${run}@example.test`, password: PASSWORD, displayName: "Alice" });
  await bob.signUp({ email: `bob-${run}@example.test`, password: PASSWORD, displayName: "Bob" });
  say(`Alice and Bob signed up (${alice.session!.user.id}, ${bob.session!.user.id})`);

  // The lobby: Alice creates a campaign, Bob joins it.
  const { createCampaign: campaign } = await alice.request(CreateCampaignDocument, { input: { name: `Orion Rising ${run}`, tickRateMs: 250 } });
  say(`Alice created campaign "${campaign.name}" (${campaign.status}, id ${campaign.id})`);
  const { joinCampaign: membership } = await bob.request(JoinCampaignDocument, { campaignId: campaign.id });
  say(`Bob joined as ${membership.role}; the campaign has ${membership.campaign.memberCount} members`);

  // Alice reads where the campaign's feed stands and follows it from there: nothing in between is missed.
  const { campaign: overview } = await alice.request(CampaignOverviewDocument, { id: campaign.id });
  const events: CampaignEventsSubscription["campaignEvents"][] = [];
  const stopEvents = alice.subscribe(
    CampaignEventsDocument,
    { campaignId: campaign.id, after: overview?.latestEventId },
    {
      next: ({ campaignEvents: event }) => {
        events.push(event);
        // Lifecycle events, and the first ticks; a tick's notable events (PRICE_SHOCK, …) are only counted.
        const ticks = events.filter((e) => e.type === "TICK_COMPLETED").length;
        const tickEvent = event.tick != null && event.type !== "WORLD_CREATED";
        if (!tickEvent || (event.type === "TICK_COMPLETED" && ticks <= 3)) say(`  event ${event.type}${event.tick != null ? ` (tick ${event.tick})` : ""}`);
      },
      error: (error) => (broken = error),
    },
    // Each reconnect resumes after the last event received.
    { resumeFrom: (data) => data.campaignEvents.id },
  );

  const { startCampaign } = await alice.request(StartCampaignDocument, { id: campaign.id });
  say(`Alice started the campaign: ${startCampaign.status}`);
  await until("the world to be created", () => events.find((e) => e.type === "WORLD_CREATED"));

  // A command to her civilization, applied at the next tick.
  const { myCivilization } = await alice.request(MyCivilizationDocument, { campaignId: campaign.id });
  say(`Alice leads ${myCivilization?.name} (${myCivilization?.species}), tax rate ${myCivilization?.taxRate}%`);
  const rate = myCivilization?.taxRate === 30 ? 25 : 30;
  const { submitCommand: command } = await alice.request(SubmitCommandDocument, {
    input: { campaignId: campaign.id, type: "SET_TAX", payload: { rate }, idempotencyKey: randomUUID() },
  });
  say(`Alice ordered SET_TAX ${rate}%: ${command.status}`);
  const decided = await until("the command to be decided", async () => {
    const { commands } = await alice.request(CommandsDocument, { campaignId: campaign.id });
    const mine = commands.find((c) => c.id === command.id);
    return mine && mine.status !== "PENDING" ? mine : undefined;
  });
  say(`The command was ${decided.status} at tick ${decided.tick}${decided.error ? `: ${decided.error}` : ""}`);

  // Chat: Bob watches the campaign's channel; Alice writes. Like any chat screen, Bob also
  // reads the latest messages, so he sees hers even if it was sent before his subscription was live.
  const { campaignChannel: channel } = await bob.request(CampaignChannelDocument, { campaignId: campaign.id });
  const live = new Map<string, { text: string | null; author: string }>();
  const stopChat = bob.subscribe(
    MessageAddedDocument,
    { channelId: channel.id },
    { next: ({ messageAdded: m }) => void live.set(m.id, { text: m.text, author: m.author.displayName }), error: (error) => (broken = error) },
  );
  const { postMessage: sent } = await alice.request(SendMessageDocument, { channelId: channel.id, text: "Bob, the jump gate is ours.", idempotencyKey: randomUUID() });
  const seen = await until("Bob to see Alice's message", async () => {
    if (live.has(sent.id)) return live.get(sent.id);
    const { messages } = await bob.request(MessagesDocument, { channelId: channel.id, first: 10 });
    const found = messages.find((m) => m.id === sent.id);
    return found ? { text: found.text, author: found.author.displayName } : undefined;
  });
  say(`Bob's chat (${channel.name}): ${seen.author}: ${seen.text}`);

  // The AI narrates, streamed word by word; the stream is read from its first chunk.
  const { generateText: job } = await alice.request(GenerateTextDocument, {
    input: { idempotencyKey: randomUUID(), style: "NARRATION", prompt: "Narrate our fleet arriving at the jump gate.", campaignId: campaign.id, stream: true },
  });
  const chunks: TextStreamSubscription["textStream"][] = [];
  const stopStream = alice.subscribe(
    TextStreamDocument,
    { jobId: job.id, after: job.streamStartId },
    { next: ({ textStream }) => void chunks.push(textStream), error: (error) => (broken = error) },
    { resumeFrom: (data) => data.textStream.id },
  );
  await until("the narration to be complete", () => chunks.find((c) => c.done));
  // When a vendor failed midway, the stream starts again with the next attempt: keep the last one.
  const lastAttempt = Math.max(...chunks.map((c) => c.attempt));
  say(`Narrator: ${chunks.filter((c) => c.attempt === lastAttempt).map((c) => c.text).join("").trim()}`);
  const finished = await until("the narration job to finish", async () => {
    const { job: current } = await alice.request(JobDocument, { id: job.id });
    return current && (current.status === "SUCCEEDED" || current.status === "FAILED") ? current : undefined;
  });
  say(`The narration job ${finished.status} on ${finished.deployment} (${finished.usage.totalTokens} tokens)`);

  // Bob's inbox: he was told that the campaign started.
  const inbox = await until("Bob's notification", async () => {
    const page = await bob.request(InboxDocument, { first: 10 });
    return page.notifications.notifications.some((n) => n.campaign?.id === campaign.id) ? page : undefined;
  });
  for (const notification of inbox.notifications.notifications) say(`Bob's inbox: [${notification.category}] ${notification.title}`);
  const { markAllNotificationsRead } = await bob.request(MarkAllNotificationsReadDocument);
  say(`Bob marked ${markAllNotificationsRead} notification(s) read`);

  const { leaderboard } = await bob.request(LeaderboardDocument, { campaignId: campaign.id, first: 3 });
  for (const entry of leaderboard) say(`Leaderboard ${entry.rank}. ${entry.name}${entry.player ? ` (${entry.player.displayName})` : ""}: ${entry.score}`);

  const { endCampaign } = await alice.request(EndCampaignDocument, { id: campaign.id });
  await until("the campaign's end on its feed", () => events.find((e) => e.type === "CAMPAIGN_ENDED"));
  say(`Alice ended the campaign: ${endCampaign.status}, after ${events.length} events and ${events.filter((e) => e.type === "TICK_COMPLETED").length} ticks`);
  stopEvents();
  stopChat();
  stopStream();
  await Promise.all([alice.signOut(), bob.signOut()]);
  say(`summary ${JSON.stringify({ campaignId: campaign.id, commandId: command.id, messageId: sent.id, jobId: job.id })}`);
  say("Session complete");
}

const timer = setTimeout(() => {
  console.error(`example failed: the session did not finish within ${timeoutMs} ms`);
  process.exit(1);
}, timeoutMs + 5_000);

play()
  .catch((error: unknown) => {
    const code = (error as { code?: unknown }).code;
    console.error(`example failed: ${(error as Error).message ?? String(error)}${typeof code === "string" ? ` (${code})` : ""}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await Promise.all(clients.map((client) => client.close()));
    clearTimeout(timer);
  });
