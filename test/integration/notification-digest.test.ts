import { randomUUID } from "node:crypto";
import pg from "pg";
import { required } from "../testkit/config";
import { startFakePush, type FakePush } from "../testkit/fake-push";
import { startFakeSmtp, type FakeSmtp } from "../testkit/fake-smtp";
import { errorCodes, expectData, type GraphQLResponse } from "../testkit/graphql-client";
import { startNotificationStack, type NotificationStack } from "../testkit/notification-stack";
import { eventually } from "../testkit/simulation";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * The daily digest on a whole stack: a player batches a category; its notifications reach the
 * inbox at once but no push until their digest time, when one push lists them all (once, however
 * often the pass runs); other categories, and other players, are pushed at once. The pass is run
 * by the test at a chosen moment (a day later) rather than waiting for the hour.
 */
describe("daily digest", () => {
  let env: NotificationStack;
  let push: FakePush;
  let smtp: FakeSmtp;
  let identityDb: pg.Client;

  beforeAll(async () => {
    push = await startFakePush();
    smtp = await startFakeSmtp();
    env = await startNotificationStack({ PUSH_URL: push.url, PUSH_PROJECT_ID: push.projectId, PUSH_ACCESS_TOKEN: push.accessToken, SMTP_URL: smtp.url });
    identityDb = new pg.Client({ connectionString: required("IDENTITY_DATABASE_URL") });
    await identityDb.connect();
  }, 60_000);
  afterAll(async () => {
    await env?.stop();
    await push?.stop();
    await smtp?.stop();
    await identityDb?.end();
  });

  const call = <T = Record<string, unknown>>(user: TestUser, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<T>> => env.call<T>(user, query, variables);
  const device = async (user: TestUser) => {
    const token = `digest-${randomUUID()}`;
    expectData(await call(user, "mutation($t: String!) { registerPushDevice(input: { platform: ANDROID, token: $t }) { id } }", { t: token }));
    return token;
  };
  const setPreference = (user: TestUser, input: Record<string, unknown>) =>
    call<{ setNotificationPreference: { category: string; push: boolean; digest: boolean } }>(
      user,
      "mutation($i: NotificationPreferenceInput!) { setNotificationPreference(input: $i) { category push digest } }",
      { i: input },
    );
  const send = async (recipients: TestUser[], category: "ANNOUNCEMENT" | "SYSTEM", title: string) =>
    expectData(
      await call<{ sendNotification: { id: string; recipient: { id: string } }[] }>(
        env.admin,
        "mutation($r: [ID!]!, $c: NotificationCategory!, $t: String!, $k: String!) { sendNotification(input: { recipientIds: $r, category: $c, title: $t, body: \"Read it\", idempotencyKey: $k }) { id recipient { id } } }",
        { r: recipients.map((u) => u.user.id), c: category, t: title, k: randomUUID() },
      ),
    ).sendNotification;
  const inbox = async (user: TestUser) =>
    expectData(await call<{ notifications: { notifications: { id: string; title: string }[] } }>(user, "{ notifications(first: 50) { notifications { id title } } }")).notifications.notifications;
  const pushedTo = (token: string) => push.messages.filter((m) => m.token === token);
  const waiting = async (userId: string) =>
    Number((await env.db.query<{ n: string }>("SELECT count(*) AS n FROM digest_entries WHERE user_id = $1 AND digested_at IS NULL", [userId])).rows[0]!.n);

  it("holds a batched category's pushes for one digest push at the player's digest time, and sends it once", async () => {
    const [reader, other] = await Promise.all([registerUser(env.url, "Reader"), registerUser(env.url, "Other")]);
    const readerToken = await device(reader);
    const otherToken = await device(other);
    expect(expectData(await setPreference(reader, { category: "ANNOUNCEMENT", inApp: true, push: true, digest: true })).setNotificationPreference).toEqual({
      category: "ANNOUNCEMENT",
      push: true,
      digest: true,
    });
    // The digest hour is half a day away, so no digest time falls within the test's own minutes.
    const hour = (new Date().getUTCHours() + 12) % 24;
    const schedule = expectData(await call<{ setDigestSchedule: { hour: number; timeZone: string; nextAt: string } }>(reader, "mutation { setDigestSchedule(input: { hour: " + hour + ', timeZone: "UTC" }) { hour timeZone nextAt } }')).setDigestSchedule;
    expect(schedule).toMatchObject({ hour, timeZone: "UTC" });
    expect(new Date(schedule.nextAt).getUTCHours()).toBe(hour);
    expect(expectData(await call(reader, "{ digestSchedule { hour timeZone } }"))).toEqual({ digestSchedule: { hour, timeZone: "UTC" } });

    const titles = ["Fleet week", "Trade fair", "Senate recess"];
    const sent = [];
    for (const title of titles) sent.push(...(await send([reader, other], "ANNOUNCEMENT", title)));
    const [urgent] = await send([reader], "SYSTEM", "Maintenance tonight");

    // SYSTEM, and the player who batches nothing, are pushed at once.
    await eventually("the SYSTEM push", async () => (pushedTo(readerToken).some((m) => m.data.notificationId === urgent!.id) ? true : undefined));
    await eventually("the other player's pushes", async () => (pushedTo(otherToken).length === titles.length ? true : undefined));
    // The batched ones are in the inbox at once, with no delivery of their own, waiting for the digest.
    const mine = sent.filter((n) => n.recipient.id === reader.user.id).map((n) => n.id);
    expect((await inbox(reader)).map((n) => n.id)).toEqual(expect.arrayContaining([...mine, urgent!.id]));
    expect((await env.db.query("SELECT 1 FROM deliveries WHERE notification_id = ANY($1::uuid[])", [mine])).rowCount).toBe(0);
    expect(await waiting(reader.user.id)).toBe(titles.length);
    expect(pushedTo(readerToken).map((m) => m.data.notificationId)).toEqual([urgent!.id]);

    // Before the digest time, a pass sends nothing.
    const worker = env.stack.apps.notificationWorker;
    expect(await worker.digest(new Date())).toBe(0);
    expect(await waiting(reader.user.id)).toBe(titles.length);

    // A day later the digest time has come: one push lists them, once, however often the pass runs.
    const later = new Date(Date.now() + 86_400_000);
    expect(await worker.digest(later)).toBeGreaterThanOrEqual(1);
    expect(await worker.digest(later)).toBe(0);
    const digest = await eventually("the digest push", async () => pushedTo(readerToken).find((m) => m.data.notificationId !== urgent!.id));
    expect(digest.title).toBe("Your daily digest: 3 updates");
    expect(digest.body).toBe(titles.join(" · "));
    expect(JSON.parse(digest.data.data!)).toMatchObject({ digest: true, count: 3, items: titles.map((title) => ({ title, body: "Read it" })) });
    expect(await waiting(reader.user.id)).toBe(0);
    // The inbox lists the news itself, not the digest too.
    expect((await inbox(reader)).map((n) => n.title)).not.toContain(digest.title);
    await eventually("the digest push SENT", async () =>
      (await env.db.query("SELECT 1 FROM deliveries WHERE notification_id = $1::uuid AND status = 'SENT'", [digest.data.notificationId])).rowCount === 1 ? true : undefined,
    );
    expect(pushedTo(readerToken)).toHaveLength(2);
  });

  it("mails one digest listing a mailed category's news instead of a mail each", async () => {
    const reader = await registerUser(env.url, "Letters");
    // Registering mails a verification link; the address then counts as verified (as following it does).
    await smtp.waitFor(reader.email, 1);
    await identityDb.query("UPDATE users SET email_verified_at = now() WHERE id = $1", [reader.user.id]);
    expectData(await setPreference(reader, { category: "ANNOUNCEMENT", inApp: true, push: false, email: true, digest: true }));
    const titles = ["Census results", "New trade routes"];
    const sent = [];
    for (const title of titles) sent.push(...(await send([reader], "ANNOUNCEMENT", title)));
    expect((await env.db.query("SELECT 1 FROM deliveries WHERE notification_id = ANY($1::uuid[])", [sent.map((n) => n.id)])).rowCount).toBe(0);

    expect(await env.stack.apps.notificationWorker.digest(new Date(Date.now() + 86_400_000))).toBeGreaterThanOrEqual(1);
    const [mail] = await smtp.waitFor(reader.email, 2).then((mails) => mails.slice(1));
    expect(mail!.subject).toBe("Your day in Startales: 2 notifications");
    for (const title of titles) {
      expect(mail!.text).toContain(title);
      expect(mail!.html).toContain(title);
    }
    // Its unsubscribe link is the digest's category's, like any mail of it.
    expect(mail!.headers["list-unsubscribe-post"]).toBe("List-Unsubscribe=One-Click");
    // The digest's own deliveries: the one mail, marked SENT once the server took it (the category is not pushed).
    const digestDeliveries = async () =>
      (
        await env.db.query<{ channel: string; status: string }>(
          "SELECT d.channel::text, d.status::text FROM deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.recipient_id = $1 AND n.source_key LIKE 'digest:%'",
          [reader.user.id],
        )
      ).rows;
    await eventually("the digest's mail SENT", async () => ((await digestDeliveries()).some((d) => d.status === "SENT") ? true : undefined));
    expect(await digestDeliveries()).toEqual([{ channel: "EMAIL", status: "SENT" }]);
  });

  it("refuses SYSTEM in a digest, and hours or zones that are not ones", async () => {
    const player = await registerUser(env.url, "Picky");
    const system = await setPreference(player, { category: "SYSTEM", inApp: true, push: true, digest: true });
    expect(errorCodes(system)).toEqual(["BAD_USER_INPUT"]);
    expect(system.errors![0]!.extensions).toMatchObject({ fields: [{ field: "digest", message: expect.stringContaining("never held for a digest") }] });
    for (const input of ['{ hour: 24, timeZone: "UTC" }', '{ hour: -1, timeZone: "UTC" }', '{ hour: 8, timeZone: "UTC+2" }']) {
      expect(errorCodes(await call(player, `mutation { setDigestSchedule(input: ${input}) { hour } }`))).toEqual(["BAD_USER_INPUT"]);
    }
    // Nothing was stored: the default applies (18:00, UTC for a player without quiet hours).
    expect(expectData(await call(player, "{ digestSchedule { hour timeZone } }"))).toEqual({ digestSchedule: { hour: 18, timeZone: "UTC" } });
    expect(expectData(await call(player, "{ notificationPreferences { category digest } }"))).toMatchObject({ notificationPreferences: expect.arrayContaining([{ category: "SYSTEM", digest: false }]) });
  });
});
