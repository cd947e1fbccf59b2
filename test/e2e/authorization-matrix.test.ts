import { createECDH, randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildASTSchema, parse } from "graphql";
import { latestMailToken, verifyAddress } from "../testkit/account-mail";
import { required } from "../testkit/config";
import { errorCodes, expectData, postGraphQL, type GraphQLResponse } from "../testkit/graphql-client";
import { signInAtProvider } from "../testkit/oidc-browser";
import { OIDC_PROVIDER_STARTUP_TIMEOUT_MS, oidcIdentityEnv, startOidcProvider, type OidcTestProvider } from "../testkit/oidc-provider";
import { startStack, type Stack } from "../testkit/stack";
import { activeSubscriptions, untilUnsubscribed, subscribe, untilSubscribed, wsClient } from "../testkit/subscriptions";
import { registerUser } from "../testkit/users";
import { zipOf } from "../testkit/zip";

/**
 * Every root field of the public API × every kind of caller, through the gateway: the
 * authorization the subgraph schemas declare (@authenticated, @requiresScopes, @policy) is
 * what callers get. "outsider" is a player who is not in the campaign the operation is
 * about: the IDOR column. A new root field without a row here fails the first test.
 */

const ACTORS = ["anonymous", "player", "gameMaster", "outsider", "admin", "analyst", "service"] as const;
type Actor = (typeof ACTORS)[number];
type Outcome = "ok" | "UNAUTHENTICATED" | "FORBIDDEN" | "CONFLICT" | "NOT_FOUND" | "SERVICE_UNAVAILABLE" | "BAD_USER_INPUT";

/** Player-level access: anyone signed in, except what analysts may not do. */
const signedIn = (analyst: Outcome = "ok"): Record<Actor, Outcome> => ({
  anonymous: "UNAUTHENTICATED",
  player: "ok",
  gameMaster: "ok",
  outsider: "ok",
  admin: "ok",
  analyst,
  service: "ok",
});
const everyone: Record<Actor, Outcome> = { ...signedIn(), anonymous: "ok" };
const gameMasterOnly: Record<Actor, Outcome> = {
  anonymous: "UNAUTHENTICATED",
  player: "FORBIDDEN",
  gameMaster: "ok",
  outsider: "FORBIDDEN",
  admin: "ok",
  analyst: "FORBIDDEN",
  service: "FORBIDDEN",
};
const adminOnly: Record<Actor, Outcome> = { ...gameMasterOnly, gameMaster: "FORBIDDEN" };
/** Reads of a campaign's data: its members, admins and analysts. */
const campaignReaders: Record<Actor, Outcome> = { ...signedIn(), outsider: "FORBIDDEN", service: "FORBIDDEN" };
/** Writes within a campaign: its members only (admins and analysts are not members). */
const campaignMembers: Record<Actor, Outcome> = { ...gameMasterOnly, player: "ok", admin: "FORBIDDEN" };

/** The last day, as analytics' range arguments take it. */
const dayRange = () => ({ f: new Date(Date.now() - 86_400_000).toISOString(), t: new Date().toISOString() });

const ADMIN_EMAIL = `admin-${randomUUID()}@example.test`;
const OIDC_REDIRECT_URI = "https://app.startales.test/oidc/callback";
let stack: Stack;
let url: string;
let idp: OidcTestProvider;
const tokens = {} as Record<Exclude<Actor, "anonymous">, string>;
const emails = {} as Record<Exclude<Actor, "anonymous">, string>;
const ids = {} as Record<"player" | "gameMaster", string>;
const userIds = {} as Record<Exclude<Actor, "anonymous">, string>;

async function call(actor: Actor, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<Record<string, unknown>>> {
  return postGraphQL(url, { query, variables }, actor === "anonymous" ? {} : { token: tokens[actor] });
}

/**
 * A campaign run by the game master with the player in it, brought to `status`. Its ticks an
 * hour apart: no row waits for one, and the campaigns the lifecycle rows start would otherwise
 * tick every second (a dozen at once) for the rest of the suite.
 */
async function campaignIn(status: "DRAFT" | "RUNNING" | "PAUSED"): Promise<string> {
  const created = expectData(await call("gameMaster", `mutation { createCampaign(input: { name: "Matrix ${randomUUID().slice(0, 6)}", tickRateMs: 3600000 }) { id } }`));
  const id = (created.createCampaign as { id: string }).id;
  expectData(await call("player", "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id }));
  const steps = { DRAFT: [], RUNNING: ["startCampaign"], PAUSED: ["startCampaign", "pauseCampaign"] }[status];
  for (const step of steps) expectData(await call("gameMaster", `mutation($id: ID!) { ${step}(id: $id) { id } }`, { id }));
  return id;
}

/**
 * A subscription, over graphql-ws: "ok" once its first result arrives, else the code of the
 * error it ended with. `trigger` runs once the gateway counts the subscription as active.
 */
async function subscribeAs(
  actor: Actor,
  query: string,
  variables: Record<string, unknown>,
  trigger: () => Promise<unknown> = async () => undefined,
): Promise<GraphQLResponse<Record<string, unknown>>> {
  const client = wsClient(url, actor === "anonymous" ? {} : { token: tokens[actor] });
  const before = await activeSubscriptions(stack.gatewayUrl);
  try {
    const subscription = subscribe(client, query, variables);
    await untilSubscribed(stack.gatewayUrl, before, { unless: () => subscription.error !== null });
    if (subscription.error === null) await trigger();
    await Promise.race([subscription.waitFor(1), subscription.ended()]).catch(() => undefined);
    const ended = subscription.error;
    const errors = Array.isArray(ended) ? ended : ended && "code" in ended ? [{ message: "closed", extensions: { code: `CLOSED_${ended.code}` } }] : [];
    return { status: 0, headers: new Headers(), data: subscription.results[0]?.data ?? null, errors: subscription.results.length ? [] : errors };
  } finally {
    await client.dispose();
    // The gateway counts the close a moment later: the next actor's count must not include this
    // one, or its subscription would never be seen (its `before` one too high). On a loaded
    // machine that moment can be seconds.
    await untilUnsubscribed(stack.gatewayUrl, before);
  }
}

/** A campaign the player joined after its creation, and the id of its creation event. */
async function campaignWithHistory(): Promise<{ id: string; createdEventId: string }> {
  const created = expectData(await call("gameMaster", `mutation { createCampaign(input: { name: "Feed ${randomUUID().slice(0, 6)}" }) { id } }`));
  const { id } = created.createCampaign as { id: string };
  // The outbox relay publishes just after the commit: the creation event appears shortly.
  let createdEventId: string | null = null;
  for (let i = 0; i < 100 && !createdEventId; i++) {
    const read = expectData(await call("gameMaster", "query($id: ID!) { campaign(id: $id) { latestEventId } }", { id }));
    createdEventId = (read.campaign as { latestEventId: string | null }).latestEventId;
    if (!createdEventId) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (!createdEventId) throw new Error("the campaign's creation event was not published");
  expectData(await call("player", "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id }));
  return { id, createdEventId };
}

const lifecycle = (field: string, from: "DRAFT" | "RUNNING" | "PAUSED") => async (actor: Actor) =>
  call(actor, `mutation($id: ID!) { ${field}(id: $id) { id status } }`, { id: await campaignIn(from) });

const freshUser = async () => registerUser(url, "Matrix");

/** The token of a user's latest account mail of `kind`, as its link carries it. */
const mailToken = (userId: string, kind: string) => latestMailToken(stack.identityUrl, required("IDENTITY_DATABASE_URL"), userId, kind);

/** Changes to a draft: its owner (the player) and admins; anyone else does not see it (NOT_FOUND); analysts are refused as readers. */
const packDraftWriters: Record<Actor, Outcome> = { anonymous: "UNAUTHENTICATED", player: "ok", gameMaster: "NOT_FOUND", outsider: "NOT_FOUND", admin: "ok", analyst: "FORBIDDEN", service: "NOT_FOUND" };

/** A JSON file the player uploaded for a pack: its asset id. */
async function playerPackFile(): Promise<string> {
  const response = await fetch(`${stack.gatewayUrl}/content/assets?kind=PACK_FILE`, { method: "POST", headers: { authorization: `Bearer ${tokens.player}` }, body: JSON.stringify({ rule: randomUUID() }) });
  if (response.status !== 201) throw new Error(`the player's pack file was answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { asset: { id: string } }).asset.id;
}

/** A zip of one JSON file the player uploaded to unpack into a pack: its asset id. */
async function playerPackArchive(): Promise<string> {
  const zip = await zipOf({ "data/rules.json": Buffer.from(JSON.stringify({ rule: randomUUID() })) });
  const response = await fetch(`${stack.gatewayUrl}/content/assets?kind=PACK_ARCHIVE`, { method: "POST", headers: { authorization: `Bearer ${tokens.player}` }, body: zip });
  if (response.status !== 201) throw new Error(`the player's pack archive was answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { asset: { id: string } }).asset.id;
}

/** A fresh pack of the player's: its name. */
async function playerPack(): Promise<string> {
  const name = `matrix-${randomUUID().slice(0, 8)}`;
  expectData(await call("player", "mutation($i: CreateContentPackInput!) { createContentPack(input: $i) { id } }", { i: { name, title: "Matrix" } }));
  return name;
}

/** A fresh DRAFT of a fresh pack of the player's, with a file at data/rules.json when `withFile`: its id. */
async function playerDraft(withFile: boolean, pack?: string, version = "1.0.0"): Promise<string> {
  const created = expectData(await call("player", "mutation($n: String!, $v: String!) { createPackVersion(input: { pack: $n, version: $v }) { id } }", { n: pack ?? (await playerPack()), v: version }));
  const id = (created.createPackVersion as { id: string }).id;
  if (withFile) expectData(await call("player", 'mutation($v: ID!, $a: ID!) { setPackFile(versionId: $v, path: "data/rules.json", assetId: $a) { id } }', { v: id, a: await playerPackFile() }));
  return id;
}

/** One pack of the player's with versions 1.0.0 and 1.1.0 published, for every row that reads or enables one. */
let sharedPackMade: Promise<{ name: string }> | undefined;
const sharedPack = () => (sharedPackMade ??= (async () => {
  const name = await playerPack();
  for (const version of ["1.0.0", "1.1.0"]) {
    const draft = await playerDraft(true, name, version);
    expectData(await call("player", "mutation($v: ID!) { publishPackVersion(versionId: $v) { status } }", { v: draft }));
  }
  return { name };
})());

/** A tenth of a second of 16 kHz mono 16-bit silence: a WAV the offline speech-to-text engine reads. */
function silentWav(): Buffer {
  const data = Buffer.alloc(3_200);
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "latin1");
  header.writeUInt32LE(36 + data.length, 4);
  header.write("WAVEfmt ", 8, "latin1");
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(16_000, 24);
  header.writeUInt32LE(32_000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36, "latin1");
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** A fresh avatar of the player's, uploaded through the gateway: its id. */
async function playerAsset(): Promise<string> {
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(32)]);
  const response = await fetch(`${stack.gatewayUrl}/content/assets`, { method: "POST", headers: { authorization: `Bearer ${tokens.player}` }, body: png });
  if (response.status !== 201) throw new Error(`the player's upload was answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { asset: { id: string } }).asset.id;
}

/** A finished streamed narration job of the player's (offline narrator), one for every row and actor. */
let sharedPlayerJob: Promise<{ id: string; streamStartId: string }> | undefined;
const playerJob = () => (sharedPlayerJob ??= createPlayerJob());
async function createPlayerJob(): Promise<{ id: string; streamStartId: string }> {
  const created = expectData(
    await call("player", "mutation($i: GenerateTextInput!) { generateText(input: $i) { id streamStartId } }", {
      i: { idempotencyKey: randomUUID(), prompt: `Matrix ${randomUUID()}`, stream: true },
    }),
  ).generateText as { id: string; streamStartId: string };
  for (let i = 0; i < 200; i++) {
    const read = expectData(await call("player", "query($id: ID!) { job(id: $id) { status } }", { id: created.id })).job as { status: string };
    if (read.status === "SUCCEEDED" || read.status === "FAILED") break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return created;
}
/** Reads of a provider job: whoever created it (the player here) and admins. */
const jobOwner: Record<Actor, Outcome> = { ...adminOnly, player: "ok" };
const providerDeploymentInput = (actor: Actor) => ({
  name: `matrix-${actor.toLowerCase()}`,
  kind: "TEXT",
  modelGroup: "matrix",
  model: "m",
  baseUrl: "http://127.0.0.1:9/v1",
});

/** The campaign channel of a fresh campaign (see campaignIn), and a message the player posted there. */
async function chatIn(): Promise<{ campaignId: string; channelId: string; messageId: string }> {
  const campaignId = await campaignIn("DRAFT");
  const channel = expectData(await call("player", "query($id: ID!) { campaignChannel(campaignId: $id) { id } }", { id: campaignId }));
  const channelId = (channel.campaignChannel as { id: string }).id;
  const posted = expectData(
    await call("player", 'mutation($c: ID!, $k: String!) { postMessage(channelId: $c, text: "Hello", idempotencyKey: $k) { id } }', { c: channelId, k: randomUUID() }),
  );
  return { campaignId, channelId, messageId: (posted.postMessage as { id: string }).id };
}

/** An OIDC sign-in by `actor`, at the test provider, as a user whose verified email is `email`. */
async function oidcSignIn(actor: Actor, email = `oidc-${randomUUID()}@example.test`) {
  const account = await idp.addAccount({ email, email_verified: true });
  const begun = expectData(await call(actor, "mutation($r: String!) { beginOidcSignIn(provider: \"corp\", redirectUri: $r) { authorizationUrl } }", { r: OIDC_REDIRECT_URI }));
  const { code, state } = await signInAtProvider((begun.beginOidcSignIn as { authorizationUrl: string }).authorizationUrl, account, OIDC_REDIRECT_URI);
  return call(actor, "mutation($s: String!, $c: String!) { completeOidcSignIn(state: $s, code: $c) { user { id } } }", { s: state, c: code });
}

/** A browser's push subscription as pushManager.subscribe makes one: a P-256 key and 16 auth bytes. */
function browserSubscription() {
  const ecdh = createECDH("prime256v1");
  return { endpoint: `https://push.example.test/${randomUUID()}`, keys: { p256dh: ecdh.generateKeys().toString("base64url"), auth: randomBytes(16).toString("base64url") } };
}

/** A notification of the player's (sent by the admin), one for every row and actor. */
let sharedPlayerNotification: Promise<string> | undefined;
const playerNotification = () =>
  (sharedPlayerNotification ??= (async () => {
    const sent = expectData(
      await call("admin", 'mutation($r: ID!, $k: String!) { sendNotification(input: { recipientIds: [$r], category: SYSTEM, title: "Matrix", body: "Hello", idempotencyKey: $k }) { id } }', {
        r: ids.player,
        k: randomUUID(),
      }),
    );
    return (sent.sendNotification as { id: string }[])[0]!.id;
  })());
/** Only the recipient (and, for reading, admins): never another player, analysts or services. */
const recipientOnly: Record<Actor, Outcome> = { ...gameMasterOnly, player: "ok", gameMaster: "FORBIDDEN", admin: "FORBIDDEN" };

const cases: Record<string, { expect: Record<Actor, Outcome>; run: (actor: Actor) => Promise<GraphQLResponse<Record<string, unknown>>> }> = {
  "Query.me": { expect: everyone, run: (actor) => call(actor, "{ me { id } }") },
  "Query.user": { expect: signedIn(), run: (actor) => call(actor, "query($id: ID!) { user(id: $id) { id displayName } }", { id: ids.player }) },
  "Query.campaign": {
    expect: { ...signedIn(), outsider: "FORBIDDEN", service: "FORBIDDEN" },
    run: async (actor) => call(actor, "query($id: ID!) { campaign(id: $id) { id name members { role } } }", { id: await campaignIn("DRAFT") }),
  },
  "Query.myCampaigns": { expect: signedIn(), run: (actor) => call(actor, "{ myCampaigns { id } }") },
  "Query.campaignEvent": {
    expect: { ...signedIn(), outsider: "FORBIDDEN", service: "FORBIDDEN" },
    run: async (actor) => {
      const { id, createdEventId } = await campaignWithHistory();
      return call(actor, "query($c: ID!, $e: ID!) { campaignEvent(campaignId: $c, id: $e) { id type campaign { id } } }", { c: id, e: createdEventId });
    },
  },
  "Subscription.campaignEvents": {
    expect: { ...signedIn(), outsider: "FORBIDDEN", service: "FORBIDDEN" },
    run: async (actor) => {
      const { id, createdEventId } = await campaignWithHistory();
      return subscribeAs(actor, "subscription($c: ID!, $a: ID) { campaignEvents(campaignId: $c, after: $a) { id type } }", { c: id, a: createdEventId });
    },
  },
  "Mutation.register": {
    expect: everyone,
    run: (actor) =>
      call(actor, "mutation($input: RegisterInput!) { register(input: $input) { user { id } } }", {
        input: { email: `m-${randomUUID()}@example.test`, password: "correct horse", displayName: "Fresh" },
      }),
  },
  "Mutation.login": {
    expect: everyone,
    run: async (actor) => {
      const user = await freshUser();
      return call(actor, "mutation($input: LoginInput!) { login(input: $input) { user { id } } }", { input: { email: user.email, password: user.password } });
    },
  },
  "Mutation.refreshToken": {
    expect: everyone,
    run: async (actor) => call(actor, "mutation($t: String!) { refreshToken(refreshToken: $t) { user { id } } }", { t: (await freshUser()).refreshToken }),
  },
  "Mutation.logout": {
    expect: everyone,
    run: async (actor) => call(actor, "mutation($t: String!) { logout(refreshToken: $t) }", { t: (await freshUser()).refreshToken }),
  },
  "Mutation.resendVerificationEmail": {
    // Analysts are read-only; service accounts have no address.
    expect: { ...signedIn("FORBIDDEN"), service: "FORBIDDEN" },
    run: (actor) => call(actor, "mutation { resendVerificationEmail }"),
  },
  // The token is the credential: anyone holding a working one may use it.
  "Mutation.verifyEmail": {
    expect: everyone,
    run: async (actor) => {
      const user = await freshUser();
      return call(actor, "mutation($t: String!) { verifyEmail(token: $t) { id } }", { t: await mailToken(user.user.id, "VERIFY_EMAIL") });
    },
  },
  "Mutation.requestPasswordReset": {
    expect: everyone,
    run: async (actor) => call(actor, "mutation($e: String!) { requestPasswordReset(email: $e) }", { e: (await freshUser()).email }),
  },
  "Mutation.resetPassword": {
    expect: everyone,
    run: async (actor) => {
      const user = await freshUser();
      expectData(await call("anonymous", "mutation($e: String!) { requestPasswordReset(email: $e) }", { e: user.email }));
      return call(actor, "mutation($t: String!) { resetPassword(token: $t, newPassword: \"a new password\") }", { t: await mailToken(user.user.id, "RESET_PASSWORD") });
    },
  },
  "Mutation.requestEmailChange": {
    // Without the password it asks for, like deleteAccount: who may ask gets that far.
    expect: { ...signedIn("FORBIDDEN"), player: "BAD_USER_INPUT", gameMaster: "BAD_USER_INPUT", outsider: "BAD_USER_INPUT", admin: "BAD_USER_INPUT", service: "FORBIDDEN" },
    run: (actor) => call(actor, "mutation($e: String!) { requestEmailChange(newEmail: $e) }", { e: `moved-${randomUUID()}@example.test` }),
  },
  "Mutation.confirmEmailChange": {
    expect: everyone,
    run: async (actor) => {
      const user = await freshUser();
      const asked = await postGraphQL(url, { query: "mutation($e: String!, $p: String) { requestEmailChange(newEmail: $e, password: $p) }", variables: { e: `moved-${randomUUID()}@example.test`, p: user.password } }, { token: user.accessToken });
      expectData(asked);
      return call(actor, "mutation($t: String!) { confirmEmailChange(token: $t) { id } }", { t: await mailToken(user.user.id, "CONFIRM_EMAIL_CHANGE") });
    },
  },
  "Mutation.setUserRoles": {
    expect: adminOnly,
    run: async (actor) =>
      call(actor, "mutation($id: ID!) { setUserRoles(userId: $id, roles: [PLAYER]) { id } }", { id: (await freshUser()).user.id }),
  },
  "Mutation.createCampaign": {
    expect: signedIn("FORBIDDEN"),
    run: (actor) => call(actor, `mutation { createCampaign(input: { name: "By ${actor}" }) { id } }`),
  },
  "Mutation.joinCampaign": {
    expect: signedIn("FORBIDDEN"),
    run: async (actor) => call(actor, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id role } }", { id: await campaignIn("DRAFT") }),
  },
  "Mutation.leaveCampaign": {
    expect: { ...signedIn("FORBIDDEN"), gameMaster: "CONFLICT" },
    run: async (actor) => call(actor, "mutation($id: ID!) { leaveCampaign(campaignId: $id) }", { id: await campaignIn("DRAFT") }),
  },
  "Mutation.deleteAccount": {
    // Without the password it asks for: whoever may delete their account gets that far and
    // no further (the deletion itself is account-deletion.test.ts's). Analysts are read-only;
    // service accounts are deleted by their admins.
    expect: { ...signedIn("FORBIDDEN"), player: "BAD_USER_INPUT", gameMaster: "BAD_USER_INPUT", outsider: "BAD_USER_INPUT", admin: "BAD_USER_INPUT", service: "FORBIDDEN" },
    run: (actor) => call(actor, "mutation { deleteAccount }"),
  },
  "Query.myApiKeys": { expect: signedIn(), run: (actor) => call(actor, "{ myApiKeys { id prefix } }") },
  "Query.apiKeys": { expect: adminOnly, run: (actor) => call(actor, "query($id: ID!) { apiKeys(ownerId: $id) { id } }", { id: ids.player }) },
  "Mutation.createApiKey": {
    expect: signedIn("FORBIDDEN"),
    run: (actor) => call(actor, 'mutation { createApiKey(input: { name: "matrix tool", scopes: [READ] }) { key apiKey { id } } }'),
  },
  "Mutation.revokeApiKey": {
    // Each caller revokes its own key; anonymous callers and analysts (who cannot create
    // keys) try the player's.
    expect: signedIn("FORBIDDEN"),
    run: async (actor) => {
      const owner = actor === "anonymous" || actor === "analyst" ? "player" : actor;
      const created = expectData(await call(owner, 'mutation { createApiKey(input: { name: "to revoke", scopes: [READ] }) { apiKey { id } } }'));
      const id = (created.createApiKey as { apiKey: { id: string } }).apiKey.id;
      return call(actor, "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }", { id });
    },
  },
  "Mutation.createServiceAccount": {
    expect: adminOnly,
    run: (actor) => call(actor, 'mutation { createServiceAccount(input: { name: "matrix bot" }) { id roles } }'),
  },
  "Mutation.createServiceApiKey": {
    expect: adminOnly,
    run: async (actor) => {
      const account = expectData(await call("admin", 'mutation { createServiceAccount(input: { name: "matrix svc" }) { id } }'));
      const serviceAccountId = (account.createServiceAccount as { id: string }).id;
      return call(actor, 'mutation($id: ID!) { createServiceApiKey(serviceAccountId: $id, input: { name: "k", scopes: [READ] }) { key } }', {
        id: serviceAccountId,
      });
    },
  },
  "Query.identityAuditLog": {
    expect: adminOnly,
    run: (actor) => call(actor, "{ identityAuditLog(first: 5) { id action outcome actor { id } details } }"),
  },
  "Query.campaignAuditLog": {
    expect: adminOnly,
    run: (actor) => call(actor, "{ campaignAuditLog(first: 5) { id action outcome actor { id } details } }"),
  },
  "Query.oidcProviders": { expect: everyone, run: (actor) => call(actor, "{ oidcProviders }") },
  "Query.myLinkedIdentities": { expect: signedIn(), run: (actor) => call(actor, "{ myLinkedIdentities { id provider } }") },
  "Mutation.beginOidcSignIn": {
    expect: everyone,
    run: (actor) => call(actor, "mutation($r: String!) { beginOidcSignIn(provider: \"corp\", redirectUri: $r) { state } }", { r: OIDC_REDIRECT_URI }),
  },
  // Signing in, like login: whoever calls it (a new user each time here).
  "Mutation.completeOidcSignIn": { expect: everyone, run: (actor) => oidcSignIn(actor) },
  "Mutation.unlinkOidcIdentity": {
    // Each caller first verifies their address and links the provider to their account (an
    // email verified at both ends links); a SERVICE user cannot be linked that way, so it has
    // nothing to unlink. (After Mutation.resendVerificationEmail's row, which needs them unverified.)
    expect: { ...signedIn("FORBIDDEN"), service: "NOT_FOUND" },
    run: async (actor) => {
      if (actor !== "anonymous") {
        await verifyAddress({ identityUrl: stack.identityUrl, graphqlUrl: url }, userIds[actor]);
        await oidcSignIn("anonymous", emails[actor]);
      }
      return call(actor, 'mutation { unlinkOidcIdentity(provider: "corp") { id } }');
    },
  },
  "Mutation.startCampaign": { expect: gameMasterOnly, run: lifecycle("startCampaign", "DRAFT") },
  "Mutation.pauseCampaign": { expect: gameMasterOnly, run: lifecycle("pauseCampaign", "RUNNING") },
  "Mutation.resumeCampaign": { expect: gameMasterOnly, run: lifecycle("resumeCampaign", "PAUSED") },
  "Mutation.endCampaign": { expect: gameMasterOnly, run: lifecycle("endCampaign", "RUNNING") },
  "Query.channel": {
    expect: campaignReaders,
    run: async (actor) => call(actor, "query($id: ID!) { channel(id: $id) { id kind } }", { id: (await chatIn()).channelId }),
  },
  "Query.channels": {
    expect: campaignReaders,
    run: async (actor) => call(actor, "query($id: ID!) { channels(campaignId: $id) { id } }", { id: (await chatIn()).campaignId }),
  },
  "Query.campaignChannel": {
    expect: campaignReaders,
    run: async (actor) => call(actor, "query($id: ID!) { campaignChannel(campaignId: $id) { id } }", { id: await campaignIn("DRAFT") }),
  },
  "Query.messages": {
    expect: campaignReaders,
    run: async (actor) => call(actor, "query($id: ID!) { messages(channelId: $id) { id text author { id } } }", { id: (await chatIn()).channelId }),
  },
  "Query.chatMessage": {
    expect: campaignReaders,
    run: async (actor) => call(actor, "query($id: ID!) { chatMessage(id: $id) { id text } }", { id: (await chatIn()).messageId }),
  },
  "Query.presence": {
    expect: campaignReaders,
    run: async (actor) => call(actor, "query($id: ID!) { presence(campaignId: $id) { status user { id } } }", { id: await campaignIn("DRAFT") }),
  },
  "Query.simulationEvent": {
    // The simulation-written events of a campaign's feed, read through their owner: its readers only.
    expect: campaignReaders,
    run: async (actor) => call(actor, 'query($id: ID!) { simulationEvent(campaignId: $id, id: "1-0") { id type } }', { id: await campaignIn("DRAFT") }),
  },
  "Query.presenceEvent": {
    expect: campaignReaders,
    run: async (actor) => call(actor, 'query($id: ID!) { presenceEvent(campaignId: $id, id: "1-0") { id status } }', { id: await campaignIn("DRAFT") }),
  },
  "Mutation.createAllianceChannel": {
    expect: campaignMembers,
    run: async (actor) =>
      call(actor, 'mutation($id: ID!) { createAllianceChannel(campaignId: $id, name: "Pact", memberIds: []) { id } }', { id: await campaignIn("DRAFT") }),
  },
  "Mutation.openDirectChannel": {
    expect: campaignMembers,
    run: async (actor) =>
      call(actor, "mutation($id: ID!, $u: ID!) { openDirectChannel(campaignId: $id, userId: $u) { id } }", {
        id: await campaignIn("DRAFT"),
        u: actor === "player" ? ids.gameMaster : ids.player,
      }),
  },
  "Mutation.postMessage": {
    expect: campaignMembers,
    run: async (actor) =>
      call(actor, 'mutation($c: ID!, $k: String!) { postMessage(channelId: $c, text: "Hi", idempotencyKey: $k) { id } }', {
        c: (await chatIn()).channelId,
        k: randomUUID(),
      }),
  },
  "Mutation.editMessage": {
    // Members edit their own message; everyone else tries the player's.
    expect: campaignMembers,
    run: async (actor) => {
      const chat = await chatIn();
      let id = chat.messageId;
      if (actor === "gameMaster") {
        const posted = expectData(
          await call(actor, 'mutation($c: ID!, $k: String!) { postMessage(channelId: $c, text: "GM", idempotencyKey: $k) { id } }', { c: chat.channelId, k: randomUUID() }),
        );
        id = (posted.postMessage as { id: string }).id;
      }
      return call(actor, 'mutation($id: ID!) { editMessage(id: $id, text: "Edited") { id } }', { id });
    },
  },
  "Mutation.deleteMessage": {
    // The player's message: its author, the game master (moderation) and admins may delete it.
    expect: { ...campaignMembers, admin: "ok" },
    run: async (actor) => call(actor, "mutation($id: ID!) { deleteMessage(id: $id) { id deleted } }", { id: (await chatIn()).messageId }),
  },
  "Subscription.messageAdded": {
    expect: campaignReaders,
    run: async (actor) => {
      const { channelId } = await chatIn();
      return subscribeAs(actor, "subscription($id: ID!) { messageAdded(channelId: $id) { id text author { id } } }", { id: channelId }, () =>
        call("gameMaster", 'mutation($c: ID!, $k: String!) { postMessage(channelId: $c, text: "Live", idempotencyKey: $k) { id } }', { c: channelId, k: randomUUID() }),
      );
    },
  },
  "Subscription.presenceChanged": {
    expect: campaignReaders,
    run: async (actor) => {
      const campaignId = await campaignIn("DRAFT");
      // The game master comes online: the gateway reports the socket, realtime announces it.
      return subscribeAs(actor, "subscription($id: ID!) { presenceChanged(campaignId: $id) { id status user { id } } }", { id: campaignId }, async () => {
        const online = wsClient(url, { token: tokens.gameMaster });
        // Acknowledged means signed in and counted: the gateway reports it to realtime.
        await new Promise<void>((resolve) => online.on("connected", () => resolve()));
        await online.dispose();
      });
    },
  },
  "Mutation.setPresence": {
    expect: campaignMembers,
    run: async (actor) => call(actor, "mutation($id: ID!) { setPresence(campaignId: $id, status: AWAY) { status } }", { id: await campaignIn("DRAFT") }),
  },
  // Simulation: reads of a campaign's world for its members, admins and analysts (non-members
  // get null where the answer is "your civilization"); commands for members only.
  "Query.myCivilization": {
    expect: campaignReaders,
    run: async (actor) => call(actor, "query($id: ID!) { myCivilization(campaignId: $id) { id } }", { id: await campaignIn("DRAFT") }),
  },
  "Query.galaxyMap": {
    expect: campaignReaders,
    run: async (actor) => call(actor, "query($id: ID!) { galaxyMap(campaignId: $id) { tick } }", { id: await campaignIn("DRAFT") }),
  },
  "Query.leaderboard": {
    expect: campaignReaders,
    run: async (actor) => call(actor, "query($id: ID!) { leaderboard(campaignId: $id) { rank } }", { id: await campaignIn("DRAFT") }),
  },
  "Query.commands": {
    expect: campaignReaders,
    run: async (actor) => call(actor, "query($id: ID!) { commands(campaignId: $id) { id } }", { id: await campaignIn("DRAFT") }),
  },
  "Query.worldIntegrity": {
    expect: gameMasterOnly,
    run: async (actor) => call(actor, "query($id: ID!) { worldIntegrity(campaignId: $id) { matches } }", { id: await campaignIn("DRAFT") }),
  },
  "Mutation.submitCommand": {
    expect: campaignMembers,
    run: async (actor) =>
      call(actor, "mutation($input: SubmitCommandInput!) { submitCommand(input: $input) { id status } }", {
        input: { campaignId: await campaignIn("DRAFT"), type: "SET_TAX", payload: { rate: 10 }, idempotencyKey: randomUUID() },
      }),
  },
  // Provider: jobs for anyone who may write; a job's result for its owner and admins.
  "Mutation.generateText": {
    expect: signedIn("FORBIDDEN"),
    run: (actor) => call(actor, "mutation($i: GenerateTextInput!) { generateText(input: $i) { id status } }", { i: { idempotencyKey: randomUUID(), prompt: "Hello" } }),
  },
  "Mutation.synthesizeSpeech": {
    expect: signedIn("FORBIDDEN"),
    run: (actor) => call(actor, "mutation($i: SynthesizeSpeechInput!) { synthesizeSpeech(input: $i) { id } }", { i: { idempotencyKey: randomUUID(), text: "Hello" } }),
  },
  "Mutation.generateImage": {
    expect: signedIn("FORBIDDEN"),
    run: (actor) =>
      call(actor, "mutation($i: GenerateImageInput!) { generateImage(input: $i) { id } }", { i: { idempotencyKey: randomUUID(), subject: "PLANET", prompt: "Hello", size: 64 } }),
  },
  "Mutation.transcribeAudio": {
    // The offline engine (pocketsphinx, installed by the test setup) takes a readable WAV from any writer.
    expect: signedIn("FORBIDDEN"),
    run: (actor) =>
      call(actor, "mutation($i: TranscribeAudioInput!) { transcribeAudio(input: $i) { id } }", {
        i: { idempotencyKey: randomUUID(), audioBase64: silentWav().toString("base64"), contentType: "audio/wav" },
      }),
  },
  "Query.job": { expect: jobOwner, run: async (actor) => call(actor, "query($id: ID!) { job(id: $id) { id status text } }", { id: (await playerJob()).id }) },
  "Query.jobChunk": {
    expect: jobOwner,
    run: async (actor) => {
      const job = await playerJob();
      return call(actor, "query($j: ID!, $id: ID!) { jobChunk(jobId: $j, id: $id) { id text } }", { j: job.id, id: job.streamStartId });
    },
  },
  "Subscription.textStream": {
    expect: jobOwner,
    run: async (actor) => {
      const job = await playerJob();
      return subscribeAs(actor, "subscription($j: ID!, $a: ID) { textStream(jobId: $j, after: $a) { id text done } }", { j: job.id, a: job.streamStartId });
    },
  },
  "Query.providerDeployments": { expect: adminOnly, run: (actor) => call(actor, "{ providerDeployments { name health } }") },
  "Query.providerUsage": {
    expect: { ...adminOnly, analyst: "ok" },
    run: (actor) => call(actor, "{ providerUsage(groupBy: KIND) { totals { requests costMicros } rows { key } } }"),
  },
  "Mutation.upsertProviderDeployment": {
    expect: adminOnly,
    run: (actor) => call(actor, "mutation($i: ProviderDeploymentInput!) { upsertProviderDeployment(input: $i) { name } }", { i: providerDeploymentInput(actor) }),
  },
  "Query.notifications": { expect: signedIn(), run: (actor) => call(actor, "{ notifications(first: 5) { notifications { id title } nextCursor } }") },
  "Query.unreadNotificationCount": { expect: signedIn(), run: (actor) => call(actor, "{ unreadNotificationCount }") },
  "Query.notification": {
    expect: { ...recipientOnly, admin: "ok" },
    run: async (actor) => call(actor, "query($id: ID!) { notification(id: $id) { id title deliveries { status } } }", { id: await playerNotification() }),
  },
  "Query.notificationPreferences": { expect: signedIn(), run: (actor) => call(actor, "{ notificationPreferences { category inApp push } }") },
  "Query.quietHours": { expect: signedIn(), run: (actor) => call(actor, "{ quietHours { start end timeZone } }") },
  "Query.digestSchedule": { expect: signedIn(), run: (actor) => call(actor, "{ digestSchedule { hour timeZone nextAt } }") },
  "Query.pushDevices": { expect: signedIn(), run: (actor) => call(actor, "{ pushDevices { id active } }") },
  "Subscription.notificationAdded": {
    // Everyone signed in has an inbox of their own; the trigger is a notification to the subscriber.
    expect: signedIn(),
    run: (actor) =>
      subscribeAs(actor, "subscription { notificationAdded { id title recipient { id } } }", {}, async () => {
        const me = expectData(await call(actor, "{ me { id } }")).me as { id: string };
        expectData(
          await call("admin", 'mutation($r: ID!, $k: String!) { sendNotification(input: { recipientIds: [$r], category: SYSTEM, title: "Live", body: "Now", idempotencyKey: $k }) { id } }', {
            r: me.id,
            k: randomUUID(),
          }),
        );
      }),
  },
  "Query.failedNotificationDeliveries": { expect: adminOnly, run: (actor) => call(actor, "{ failedNotificationDeliveries(first: 5) { id status notification { id } } }") },
  "Mutation.retryNotificationDeliveries": {
    expect: adminOnly,
    run: (actor) => call(actor, "mutation($ids: [ID!]!) { retryNotificationDeliveries(ids: $ids) }", { ids: [randomUUID()] }),
  },
  // Outgoing webhooks: admins only (writers: analysts are refused). Each row's webhook is made by an admin first.
  "Query.webhooks": { expect: adminOnly, run: (actor) => call(actor, "{ webhooks { id url } }") },
  "Query.webhookDeliveries": {
    expect: adminOnly,
    run: async (actor) => call(actor, "query($id: ID!) { webhookDeliveries(webhookId: $id) { deliveries { id } } }", { id: await adminWebhook() }),
  },
  "Mutation.createWebhook": {
    expect: adminOnly,
    run: (actor) => call(actor, 'mutation { createWebhook(input: { url: "http://127.0.0.1:9/matrix", events: [PING] }) { secret webhook { id } } }'),
  },
  "Mutation.updateWebhook": {
    expect: adminOnly,
    run: async (actor) => call(actor, 'mutation($id: ID!) { updateWebhook(id: $id, input: { description: "matrix" }) { id } }', { id: await adminWebhook() }),
  },
  "Mutation.setWebhookEnabled": {
    expect: adminOnly,
    run: async (actor) => call(actor, "mutation($id: ID!) { setWebhookEnabled(id: $id, enabled: false) { id } }", { id: await adminWebhook() }),
  },
  "Mutation.deleteWebhook": { expect: adminOnly, run: async (actor) => call(actor, "mutation($id: ID!) { deleteWebhook(id: $id) }", { id: await adminWebhook() }) },
  "Mutation.rotateWebhookSecret": {
    expect: adminOnly,
    run: async (actor) => call(actor, "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }", { id: await adminWebhook() }),
  },
  "Mutation.pingWebhook": { expect: adminOnly, run: async (actor) => call(actor, "mutation($id: ID!) { pingWebhook(id: $id) { id } }", { id: await adminWebhook() }) },
  "Mutation.redeliverWebhook": {
    expect: adminOnly,
    run: async (actor) => {
      const ping = expectData(await call("admin", "mutation($id: ID!) { pingWebhook(id: $id) { id } }", { id: await adminWebhook() })).pingWebhook as { id: string };
      return call(actor, "mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }", { id: ping.id });
    },
  },
  "Mutation.sendNotification": {
    // Admins and services to anyone; a game master to their campaign's members.
    expect: { ...gameMasterOnly, service: "ok" },
    run: async (actor) => {
      const campaignId = await campaignIn("DRAFT");
      return call(actor, 'mutation($c: ID!, $r: ID!, $k: String!) { sendNotification(input: { campaignId: $c, recipientIds: [$r], category: ANNOUNCEMENT, title: "Muster", body: "All hands", idempotencyKey: $k }) { id } }', {
        c: campaignId,
        r: ids.player,
        k: randomUUID(),
      });
    },
  },
  "Mutation.markNotificationsRead": {
    expect: recipientOnly,
    run: async (actor) => call(actor, "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) }", { ids: [await playerNotification()] }),
  },
  "Mutation.markAllNotificationsRead": { expect: signedIn("FORBIDDEN"), run: (actor) => call(actor, "mutation { markAllNotificationsRead }") },
  "Mutation.setNotificationPreference": {
    expect: signedIn("FORBIDDEN"),
    run: (actor) => call(actor, "mutation { setNotificationPreference(input: { category: SYSTEM, inApp: true, push: false }) { category push } }"),
  },
  "Mutation.setQuietHours": {
    expect: signedIn("FORBIDDEN"),
    run: (actor) => call(actor, 'mutation { setQuietHours(input: { start: "22:00", end: "07:30", timeZone: "Europe/Paris" }) { start end timeZone } }'),
  },
  "Mutation.setDigestSchedule": {
    expect: signedIn("FORBIDDEN"),
    run: (actor) => call(actor, 'mutation { setDigestSchedule(input: { hour: 8, timeZone: "Europe/Paris" }) { hour timeZone } }'),
  },
  "Mutation.registerPushDevice": {
    expect: signedIn("FORBIDDEN"),
    run: (actor) => call(actor, "mutation($t: String!) { registerPushDevice(input: { platform: WEB, token: $t }) { id } }", { t: `matrix-${randomUUID()}` }),
  },
  "Mutation.unregisterPushDevice": { expect: signedIn("FORBIDDEN"), run: (actor) => call(actor, "mutation($id: ID!) { unregisterPushDevice(id: $id) }", { id: randomUUID() }) },
  // Web push is off in this stack (no VAPID keys): the key is null, and whoever may register a
  // subscription gets that far and is told so (web-push.test.ts has it on).
  "Query.webPushApplicationServerKey": { expect: signedIn(), run: (actor) => call(actor, "{ webPushApplicationServerKey }") },
  "Mutation.registerWebPushSubscription": {
    expect: { ...signedIn("FORBIDDEN"), player: "SERVICE_UNAVAILABLE", gameMaster: "SERVICE_UNAVAILABLE", outsider: "SERVICE_UNAVAILABLE", admin: "SERVICE_UNAVAILABLE", service: "SERVICE_UNAVAILABLE" },
    run: (actor) =>
      call(actor, "mutation($i: RegisterWebPushSubscriptionInput!) { registerWebPushSubscription(input: $i) { id } }", { i: browserSubscription() }),
  },
  "Mutation.unregisterWebPushSubscription": {
    expect: signedIn("FORBIDDEN"),
    run: (actor) => call(actor, "mutation($e: String!) { unregisterWebPushSubscription(endpoint: $e) }", { e: `https://push.example.test/${randomUUID()}` }),
  },
  // Content: a player's own assets; someone else's is unknown (NOT_FOUND) to all but admins.
  "Query.asset": { expect: signedIn(), run: async (actor) => call(actor, "query($id: ID!) { asset(id: $id) { id url } }", { id: await playerAsset() }) },
  "Query.myAssets": { expect: signedIn(), run: (actor) => call(actor, "{ myAssets(first: 5) { assets { id } nextCursor } }") },
  "Query.myContentQuota": { expect: signedIn(), run: (actor) => call(actor, "{ myContentQuota { usedBytes limitBytes } }") },
  "Mutation.deleteAsset": {
    expect: { anonymous: "UNAUTHENTICATED", player: "ok", gameMaster: "NOT_FOUND", outsider: "NOT_FOUND", admin: "ok", analyst: "FORBIDDEN", service: "NOT_FOUND" },
    run: async (actor) => call(actor, "mutation($id: ID!) { deleteAsset(id: $id) { id } }", { id: await playerAsset() }),
  },
  // Content packs: anyone who may write makes packs; only a pack's owner (the player here) and admins change it,
  // a draft is unknown to anyone else; a campaign's packs are its readers', changed by its game master and admins.
  "Query.contentPack": { expect: signedIn(), run: async (actor) => call(actor, "query($n: String!) { contentPack(name: $n) { name versions { version } } }", { n: (await sharedPack()).name }) },
  "Query.contentPacks": { expect: signedIn(), run: (actor) => call(actor, "{ contentPacks(first: 5) { name } }") },
  "Query.contentPackDiff": {
    expect: signedIn(),
    run: async (actor) => call(actor, 'query($n: String!) { contentPackDiff(pack: $n, from: "1.0.0", to: "1.1.0") { added { path } removed } }', { n: (await sharedPack()).name }),
  },
  "Query.campaignContent": { expect: campaignReaders, run: async (actor) => call(actor, "query($c: ID!) { campaignContent(campaignId: $c) { packs { id } } }", { c: await campaignIn("DRAFT") }) },
  "Mutation.createContentPack": {
    expect: signedIn("FORBIDDEN"),
    run: (actor) => call(actor, "mutation($i: CreateContentPackInput!) { createContentPack(input: $i) { id } }", { i: { name: `matrix-${randomUUID().slice(0, 8)}`, title: "Matrix" } }),
  },
  "Mutation.createPackVersion": {
    expect: { ...adminOnly, player: "ok" },
    run: async (actor) => call(actor, 'mutation($n: String!) { createPackVersion(input: { pack: $n, version: "1.0.0" }) { id } }', { n: await playerPack() }),
  },
  "Mutation.setPackFile": {
    expect: packDraftWriters,
    run: async (actor) => call(actor, "mutation($v: ID!, $a: ID!) { setPackFile(versionId: $v, path: \"data/rules.json\", assetId: $a) { id } }", { v: await playerDraft(false), a: await playerPackFile() }),
  },
  "Mutation.importPackArchive": {
    expect: packDraftWriters,
    run: async (actor) => call(actor, "mutation($v: ID!, $a: ID!) { importPackArchive(versionId: $v, assetId: $a) { files } }", { v: await playerDraft(false), a: await playerPackArchive() }),
  },
  "Mutation.removePackFile": {
    expect: packDraftWriters,
    run: async (actor) => call(actor, 'mutation($v: ID!) { removePackFile(versionId: $v, path: "data/rules.json") { id } }', { v: await playerDraft(true) }),
  },
  "Mutation.publishPackVersion": { expect: packDraftWriters, run: async (actor) => call(actor, "mutation($v: ID!) { publishPackVersion(versionId: $v) { status } }", { v: await playerDraft(true) }) },
  "Mutation.deprecatePackVersion": {
    expect: { ...adminOnly, player: "ok" },
    run: async (actor) => {
      const version = await playerDraft(true);
      expectData(await call("player", "mutation($v: ID!) { publishPackVersion(versionId: $v) { status } }", { v: version }));
      return call(actor, "mutation($v: ID!) { deprecatePackVersion(versionId: $v) { status } }", { v: version });
    },
  },
  "Mutation.enableContentPack": {
    expect: gameMasterOnly,
    run: async (actor) => call(actor, 'mutation($c: ID!, $n: String!) { enableContentPack(campaignId: $c, pack: $n, version: "1.0.0") { packs { id } } }', { c: await campaignIn("DRAFT"), n: (await sharedPack()).name }),
  },
  "Mutation.disableContentPack": {
    expect: gameMasterOnly,
    run: async (actor) => {
      const campaignId = await campaignIn("DRAFT");
      const { name } = await sharedPack();
      expectData(await call("gameMaster", 'mutation($c: ID!, $n: String!) { enableContentPack(campaignId: $c, pack: $n, version: "1.0.0") { packs { id } } }', { c: campaignId, n: name }));
      return call(actor, "mutation($c: ID!, $n: String!) { disableContentPack(campaignId: $c, pack: $n) { packs { id } } }", { c: campaignId, n: name });
    },
  },
  "Subscription.campaignContentChanged": {
    expect: campaignReaders,
    run: async (actor) => {
      const campaignId = await campaignIn("DRAFT");
      const { name } = await sharedPack();
      return subscribeAs(actor, "subscription($c: ID!) { campaignContentChanged(campaignId: $c) { packs { version } } }", { c: campaignId }, async () =>
        expectData(await call("gameMaster", 'mutation($c: ID!, $n: String!) { enableContentPack(campaignId: $c, pack: $n, version: "1.0.0") { packs { id } } }', { c: campaignId, n: name })),
      );
    },
  },
  // Analytics: the analysts' read-only graph (admins too); a player reads only their own figures.
  "Query.activeUsers": {
    expect: { ...adminOnly, analyst: "ok" },
    run: (actor) => call(actor, "query($f: DateTime!, $t: DateTime!) { activeUsers(from: $f, to: $t, window: WEEK) { day users } }", dayRange()),
  },
  "Query.eventSeries": {
    expect: { ...adminOnly, analyst: "ok" },
    run: (actor) => call(actor, "query($f: DateTime!, $t: DateTime!) { eventSeries(from: $f, to: $t, bucket: HOUR) { producer type start counts } }", dayRange()),
  },
  "Query.retention": {
    expect: { ...adminOnly, analyst: "ok" },
    run: (actor) => call(actor, "query($f: DateTime!, $t: DateTime!) { retention(from: $f, to: $t) { day users day1 day7 day30 } }", dayRange()),
  },
  "Query.campaignTickHistory": {
    expect: { ...adminOnly, analyst: "ok" },
    run: (actor) => call(actor, "query($c: ID!) { campaignTickHistory(campaignId: $c) { tick battles campaign { id } } }", { c: randomUUID() }),
  },
  "Query.chatActivity": {
    expect: { ...adminOnly, analyst: "ok" },
    run: (actor) => call(actor, "query($f: DateTime!, $t: DateTime!) { chatActivity(from: $f, to: $t) { user { id } messages activeDays } }", dayRange()),
  },
  "Query.myStats": { expect: signedIn(), run: (actor) => call(actor, "query($f: DateTime!, $t: DateTime!) { myStats(from: $f, to: $t) { activeDays events messages } }", dayRange()) },
  "Query.campaignEconomyHistory": {
    expect: { ...adminOnly, analyst: "ok" },
    run: (actor) => call(actor, "query($c: ID!) { campaignEconomyHistory(campaignId: $c) { tick population prices { good price } } }", { c: randomUUID() }),
  },
  "Query.leaderboardHistory": {
    expect: { ...adminOnly, analyst: "ok" },
    run: (actor) => call(actor, "query($c: ID!) { leaderboardHistory(campaignId: $c) { tick standings { civId rank score } } }", { c: randomUUID() }),
  },
  "Query.commandActivity": {
    expect: { ...adminOnly, analyst: "ok" },
    run: (actor) => call(actor, "query($f: DateTime!, $t: DateTime!) { commandActivity(from: $f, to: $t) { user { id } commands } }", dayRange()),
  },
  "Query.sessionLengths": {
    expect: { ...adminOnly, analyst: "ok" },
    run: (actor) => call(actor, "query($f: DateTime!, $t: DateTime!) { sessionLengths(from: $f, to: $t) { day sessions p95Minutes } }", dayRange()),
  },
  "Query.signupFunnel": {
    expect: { ...adminOnly, analyst: "ok" },
    run: (actor) => call(actor, "query($f: DateTime!, $t: DateTime!) { signupFunnel(from: $f, to: $t) { registered joinRate day7Rate } }", dayRange()),
  },
  "Query.aiUsage": {
    expect: { ...adminOnly, analyst: "ok" },
    run: (actor) => call(actor, "query($f: DateTime!, $t: DateTime!) { aiUsage(from: $f, to: $t) { kind deployment requests costUsd p95Ms } }", dayRange()),
  },
  "Query.aiUsageByCampaign": {
    expect: { ...adminOnly, analyst: "ok" },
    run: (actor) => call(actor, "query($f: DateTime!, $t: DateTime!) { aiUsageByCampaign(from: $f, to: $t) { campaign { id } requests costUsd } }", dayRange()),
  },
  "Query.aiSeries": {
    expect: { ...adminOnly, analyst: "ok" },
    run: (actor) => call(actor, "query($f: DateTime!, $t: DateTime!) { aiSeries(from: $f, to: $t, bucket: HOUR) { start requests costUsd p95Ms } }", dayRange()),
  },
  "Query.apiOperations": {
    expect: { ...adminOnly, analyst: "ok" },
    run: (actor) => call(actor, "query($f: DateTime!, $t: DateTime!) { apiOperations(from: $f, to: $t) { operation requests p95Ms } }", dayRange()),
  },
  "Query.apiSeries": {
    expect: { ...adminOnly, analyst: "ok" },
    run: (actor) => call(actor, "query($f: DateTime!, $t: DateTime!) { apiSeries(from: $f, to: $t, bucket: HOUR) { start requests } }", dayRange()),
  },
  "Query.deprecatedFieldUsage": {
    expect: { ...adminOnly, analyst: "ok" },
    run: (actor) => call(actor, "query($f: DateTime!, $t: DateTime!) { deprecatedFieldUsage(from: $f, to: $t, bucket: DAY) { field total } }", dayRange()),
  },
  "Mutation.forgetUser": {
    expect: adminOnly,
    run: async (actor) => call(actor, "mutation($id: ID!) { forgetUser(userId: $id) { user { id } held { rawEvents activityDays chatDays cohort } } }", { id: (await freshUser()).user.id }),
  },
  "Mutation.deleteProviderDeployment": {
    expect: adminOnly,
    run: (actor) => call(actor, "mutation($n: String!) { deleteProviderDeployment(name: $n) }", { n: providerDeploymentInput(actor).name }),
  },
};

/** A webhook an admin made (its URL a closed loopback port: its pings are never answered), for a row to act on. */
async function adminWebhook(): Promise<string> {
  const created = expectData(await call("admin", 'mutation { createWebhook(input: { url: "http://127.0.0.1:9/matrix", events: [PING] }) { webhook { id } } }')).createWebhook as {
    webhook: { id: string };
  };
  return created.webhook.id;
}

beforeAll(async () => {
  idp = await startOidcProvider([{ client_id: "startales-web", redirect_uris: [OIDC_REDIRECT_URI] }]);
  const oidcEnv = oidcIdentityEnv(idp.issuer, { corp: { clientId: "startales-web" } }, [OIDC_REDIRECT_URI]);
  stack = await startStack({ logLevel: "warn", identityEnv: { BOOTSTRAP_ADMIN_EMAILS: ADMIN_EMAIL, ...oidcEnv } });
  url = stack.graphqlUrl;
  const admin = await registerUser(url, "Admin", undefined, ADMIN_EMAIL);
  tokens.admin = admin.accessToken;
  emails.admin = ADMIN_EMAIL;
  userIds.admin = admin.user.id;
  for (const actor of ["player", "gameMaster", "outsider"] as const) {
    const user = await registerUser(url, actor);
    tokens[actor] = user.accessToken;
    emails[actor] = user.email;
    userIds[actor] = user.user.id;
    if (actor !== "outsider") ids[actor] = user.user.id;
  }
  // Analysts and services get their role from an admin, then sign in again to carry it.
  for (const [actor, role] of [["analyst", "ANALYST"], ["service", "SERVICE"]] as const) {
    const user = await registerUser(url, actor);
    emails[actor] = user.email;
    userIds[actor] = user.user.id;
    expectData(await call("admin", "mutation($id: ID!, $roles: [Role!]!) { setUserRoles(userId: $id, roles: $roles) { id } }", { id: user.user.id, roles: [role] }));
    const login = expectData(
      await call("anonymous", "mutation($input: LoginInput!) { login(input: $input) { accessToken user { roles } } }", {
        input: { email: user.email, password: user.password },
      }),
    ).login as { accessToken: string; user: { roles: string[] } };
    expect(login.user.roles).toEqual([role]);
    tokens[actor] = login.accessToken;
  }
}, OIDC_PROVIDER_STARTUP_TIMEOUT_MS + 30_000);
afterAll(async () => {
  await stack?.stop();
  await idp?.stop();
});

describe("who may call what: every root field × every role", () => {
  it("has an expectation for every root field of the public API", () => {
    const schema = buildASTSchema(parse(readFileSync(join(__dirname, "..", "..", "supergraph.graphql"), "utf8")), { assumeValidSDL: true });
    const rootFields = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]
      .flatMap((type) => (type ? Object.keys(type.getFields()).map((field) => `${type.name}.${field}`) : []))
      .filter((name) => !name.endsWith("._entities") && !name.endsWith("._service"));
    expect(Object.keys(cases).sort()).toEqual(rootFields.sort());
  });

  it.each(Object.keys(cases))("%s", async (field) => {
    const { expect: expected, run } = cases[field]!;
    const outcomeOf = async (actor: Actor) => {
      const codes = errorCodes(await run(actor));
      return [actor, codes.length === 0 ? "ok" : String(codes[0])] as const;
    };
    // Queries and mutations: the actors at once, as players would be (each row's setup is per
    // call: its own campaign, user or job, so no actor's call changes what another's meets).
    // Subscriptions one actor at a time: subscribeAs knows a subscription is live by the
    // gateway's count of them, which only one at a time can tell.
    const rows = field.startsWith("Subscription.")
      ? await ACTORS.reduce<Promise<(readonly [Actor, string])[]>>(async (done, actor) => [...(await done), await outcomeOf(actor)], Promise.resolve([]))
      : await Promise.all(ACTORS.map(outcomeOf));
    const outcomes = Object.fromEntries(rows) as Record<Actor, Outcome | string>;
    expect(outcomes).toEqual(expected);
  });
});
