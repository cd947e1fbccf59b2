import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import pg from "pg";
import webpush from "web-push";
import { Redis } from "ioredis";
import { DELIVERY_QUEUE } from "../../subgraphs/notification/src/delivery/queue";
import { required } from "../testkit/config";
import { startFakeSmtp, type FakeSmtp, type ReceivedMail } from "../testkit/fake-smtp";
import { startFakeWebPush, type FakeWebPush } from "../testkit/fake-web-push";
import { expectData, postGraphQL } from "../testkit/graphql-client";
import { eventually } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * The email channel on a whole stack, its mail server a real SMTP server on loopback: the
 * game's events and sendNotification reach players' verified addresses (asked of identity
 * when sent) per their preferences, identity's account mail arrives with its link, a busy
 * server (4xx) is retried, a dead address (5xx) is never tried again until it changes, and
 * each mail's one-click unsubscribe link, through the gateway, stops its category.
 */
describe("email channel", () => {
  const ADMIN_EMAIL = `admin-${randomUUID()}@example.test`;
  const vapid = webpush.generateVAPIDKeys();
  let stack: Stack;
  let smtp: FakeSmtp;
  let push: FakeWebPush;
  let url: string;
  let notificationDb: pg.Client;
  let identityDb: pg.Client;
  let admin: TestUser;
  let queue: Queue | undefined;
  let redis: Redis;
  let queueConnection: Redis | undefined;

  beforeAll(async () => {
    smtp = await startFakeSmtp();
    push = await startFakeWebPush({ vapidPublicKey: vapid.publicKey });
    stack = await startStack({
      logLevel: "warn",
      identityEnv: { BOOTSTRAP_ADMIN_EMAILS: ADMIN_EMAIL },
      notificationEnv: {
        SMTP_URL: smtp.url,
        SMTP_FROM: "Startales <no-reply@startales.test>",
        WEB_PUSH_VAPID_PUBLIC_KEY: vapid.publicKey,
        WEB_PUSH_VAPID_PRIVATE_KEY: vapid.privateKey,
        DELIVERY_ATTEMPTS: "5",
      },
    });
    url = stack.graphqlUrl;
    notificationDb = new pg.Client({ connectionString: required("NOTIFICATION_DATABASE_URL") });
    identityDb = new pg.Client({ connectionString: required("IDENTITY_DATABASE_URL") });
    await Promise.all([notificationDb.connect(), identityDb.connect()]);
    redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
    admin = await registerUser(url, "Admin", undefined, ADMIN_EMAIL);
  });
  afterAll(async () => {
    await queue?.close();
    queueConnection?.disconnect();
    redis?.disconnect();
    await stack?.stop();
    await smtp?.stop();
    await push?.stop();
    await notificationDb?.end();
    await identityDb?.end();
  });

  const call = <T = Record<string, unknown>>(user: TestUser, query: string, variables: Record<string, unknown> = {}) =>
    postGraphQL<T>(url, { query, variables }, { token: user.accessToken });
  /** A player whose address identity counts as verified (as following their verification link does). */
  const verifiedUser = async (name: string, locale = "en") => {
    const user = await registerUser(url, name);
    // Registering sends a verification mail (moot, so dropped, once verified): the tests below count what comes after it.
    await smtp.waitFor(user.email, 1);
    await identityDb.query("UPDATE users SET email_verified_at = now(), locale = $2 WHERE id = $1", [user.user.id, locale]);
    return user;
  };
  const send = async (to: TestUser, category: string, title = "Maintenance") =>
    (
      expectData(
        await call<{ sendNotification: { id: string }[] }>(admin, "mutation($i: SendNotificationInput!) { sendNotification(input: $i) { id } }", {
          i: { recipientIds: [to.user.id], category, title, body: "Back soon", idempotencyKey: randomUUID() },
        }),
      ).sendNotification[0]!
    ).id;
  const emailDelivery = async (notificationId: string) =>
    (
      await notificationDb.query<{ status: string; attempts: number; last_error: string | null }>(
        "SELECT status, attempts, last_error FROM deliveries WHERE notification_id = $1 AND channel = 'EMAIL'",
        [notificationId],
      )
    ).rows;
  const settled = (notificationId: string, status: string) =>
    eventually(`an EMAIL delivery ${status}`, async () => {
      const [row] = await emailDelivery(notificationId);
      return row?.status === status ? row : undefined;
    });
  const mailsAbout = (user: TestUser, subject: string) => smtp.mailsTo(user.email).filter((mail) => mail.subject === subject);
  const unsubscribeLink = (mail: ReceivedMail) => /^<(.+)>$/.exec(mail.headers["list-unsubscribe"] ?? "")?.[1];

  it("sends identity's verification mail with its link, and no unsubscribe link", async () => {
    const user = await registerUser(url, "Newcomer");
    const [mail] = await smtp.waitFor(user.email, 1);
    expect(mail!.subject).toBe("Confirm your email address");
    expect(mail!.from).toContain("no-reply@startales.test");
    const link = /Confirm my address: (\S+)/.exec(mail!.text)?.[1];
    expect(link).toMatch(/^https?:\/\//);
    expect(mail!.html).toContain("Hello Newcomer,");
    expect(mail!.headers["list-unsubscribe"]).toBeUndefined();
  });

  it("mails a campaign's start to members per their preferences, beside the inbox and web push, escaped in HTML", async () => {
    const gm = await verifiedUser("Gm");
    const mailed = await verifiedUser("Mailed", "fr");
    const quiet = await verifiedUser("Quiet");
    const unverified = await registerUser(url, "Unverified");
    expectData(await call(quiet, "mutation { setNotificationPreference(input: { category: CAMPAIGN, inApp: true, push: true, email: false }) { email } }"));
    const browser = push.subscribe();
    expectData(
      await call(mailed, "mutation($i: RegisterWebPushSubscriptionInput!) { registerWebPushSubscription(input: $i) { id } }", { i: { endpoint: browser.endpoint, keys: browser.keys } }),
    );
    const name = `<script>alert(1)</script> ${randomUUID().slice(0, 8)}`;
    const created = expectData(await call(gm, "mutation($n: String!) { createCampaign(input: { name: $n }) { id } }", { n: name })).createCampaign as { id: string };
    for (const player of [mailed, quiet, unverified]) expectData(await call(player, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: created.id }));
    expectData(await call(gm, "mutation($id: ID!) { startCampaign(id: $id) { id } }", { id: created.id }));

    // In French (identity's locale for them), the name as the game master wrote it, escaped in the HTML.
    const [mail] = await eventually("the start mail", async () => (mailsAbout(mailed, `${name} a commencé`).length > 0 ? mailsAbout(mailed, `${name} a commencé`) : undefined));
    expect(mail!.text).toContain("La galaxie s'éveille");
    expect(mail!.text).toContain(name);
    expect(mail!.html).not.toContain("<script>");
    expect(mail!.html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(mail!.headers["list-unsubscribe-post"]).toBe("List-Unsubscribe=One-Click");
    await push.waitFor(browser.endpoint, 1);

    const notificationOf = async (user: TestUser) =>
      eventually(`${user.user.id}'s notification`, async () => {
        const inbox = expectData(await call(user, "{ notifications(first: 5) { notifications { id title } } }")).notifications as { notifications: { id: string; title: string }[] };
        return inbox.notifications.find((n) => n.title === `${name} has started`);
      });
    // Email off: in the inbox, no email delivery at all (decided with the notification, in its transaction).
    expect(await emailDelivery((await notificationOf(quiet)).id)).toEqual([]);
    // Not verified: never mailed.
    expect(await settled((await notificationOf(unverified)).id, "SKIPPED")).toMatchObject({ last_error: "EMAIL_UNVERIFIED" });
    expect(await settled((await notificationOf(mailed)).id, "SENT")).toMatchObject({ attempts: 1 });
    // The game master is not a member: the mail went to players only.
    expect(mailsAbout(gm, `${name} has started`)).toEqual([]);
  });

  it("retries a mail server that answers 4xx until it takes the mail", async () => {
    const user = await verifiedUser("Patient");
    const before = smtp.attemptsTo(user.email);
    smtp.deferTimes(user.email, 2);
    const id = await send(user, "SYSTEM", "Eventually");
    await eventually("the mail", async () => (mailsAbout(user, "Eventually").length === 1 ? true : undefined));
    expect(await settled(id, "SENT")).toMatchObject({ attempts: 3, last_error: null });
    expect(smtp.attemptsTo(user.email) - before).toBe(3);
  });

  it("stops mailing an address the server refuses for good (5xx) until identity's address changes", async () => {
    const user = await verifiedUser("Bounced");
    const before = smtp.attemptsTo(user.email);
    smtp.reject(user.email);
    const first = await send(user, "SYSTEM", "First");
    expect(await settled(first, "FAILED")).toMatchObject({ attempts: 1, last_error: "SMTP_550" });
    expect(smtp.attemptsTo(user.email) - before).toBe(1);
    const { rows: suppressions } = await notificationDb.query("SELECT email_version, reason FROM email_suppressions WHERE user_id = $1", [user.user.id]);
    expect(suppressions).toEqual([{ email_version: expect.any(Number), reason: "SMTP_550" }]);

    const second = await send(user, "SYSTEM", "Second");
    expect(await settled(second, "SKIPPED")).toMatchObject({ last_error: "EMAIL_SUPPRESSED" });
    expect(smtp.attemptsTo(user.email) - before).toBe(1);

    // A new address (a new emailVersion in identity) lifts it.
    const fresh = `fresh-${randomUUID()}@example.test`;
    await identityDb.query("UPDATE users SET email = $2, email_version = email_version + 1 WHERE id = $1", [user.user.id, fresh]);
    const third = await send(user, "SYSTEM", "Third");
    const [mail] = await smtp.waitFor(fresh, 1);
    expect(mail!.subject).toBe("Third");
    expect(await settled(third, "SENT")).toMatchObject({ attempts: 1 });
  });

  it("unsubscribes a category with the one-click link through the gateway, never with a GET", async () => {
    const gm = await verifiedUser("Host");
    const user = await verifiedUser("Unsubscriber");
    const name = `Unsubscribed ${randomUUID().slice(0, 8)}`;
    const created = expectData(await call(gm, "mutation($n: String!) { createCampaign(input: { name: $n }) { id } }", { n: name })).createCampaign as { id: string };
    expectData(await call(user, "mutation($id: ID!) { joinCampaign(campaignId: $id) { id } }", { id: created.id }));
    expectData(await call(gm, "mutation($id: ID!) { startCampaign(id: $id) { id } }", { id: created.id }));
    const [mail] = await eventually("the start mail", async () => (mailsAbout(user, `${name} has started`).length > 0 ? mailsAbout(user, `${name} has started`) : undefined));
    const link = unsubscribeLink(mail!)!;
    expect(link.startsWith(`${stack.gatewayUrl}/email/unsubscribe/`)).toBe(true);
    expect(mail!.text).toContain(link);
    const emailPreference = async (category: string) =>
      (expectData(await call(user, "{ notificationPreferences { category email } }")).notificationPreferences as { category: string; email: boolean }[]).find((p) => p.category === category)!.email;

    // What a link scanner does: nothing changes.
    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post">');
    expect(await emailPreference("CAMPAIGN")).toBe(true);

    const post = (body: string, to = link) => fetch(to, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body });
    expect((await post("something=else")).status).toBe(400);
    expect((await post("List-Unsubscribe=One-Click", `${link}0`)).status).toBe(400);
    expect(await emailPreference("CAMPAIGN")).toBe(true);
    expect((await post("List-Unsubscribe=One-Click")).status).toBe(200);
    expect((await post("List-Unsubscribe=One-Click")).status).toBe(200);
    expect(await emailPreference("CAMPAIGN")).toBe(false);

    // The campaign's next event makes no email delivery for them (in the inbox still); SYSTEM still mails.
    expectData(await call(gm, "mutation($id: ID!) { pauseCampaign(id: $id) { id } }", { id: created.id }));
    const paused = await eventually("the pause notification", async () => {
      const inbox = expectData(await call(user, "{ notifications(first: 5) { notifications { id title } } }")).notifications as { notifications: { id: string; title: string }[] };
      return inbox.notifications.find((n) => n.title === `${name} is paused`);
    });
    expect(await emailDelivery(paused.id)).toEqual([]);
    const system = await send(user, "SYSTEM", "Still mailed");
    expect(await settled(system, "SENT")).toMatchObject({ attempts: 1 });
    expect(mailsAbout(user, `${name} is paused`)).toEqual([]);
  });

  it("holds mail in the player's quiet hours until they end, except SYSTEM", async () => {
    const user = await verifiedUser("Sleeper");
    expectData(await call(user, "mutation { setNotificationPreference(input: { category: ANNOUNCEMENT, inApp: true, push: true, email: true }) { email } }"));
    const hhmm = (minute: number) => `${String(Math.floor(minute / 60) % 24).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;
    const nowMinute = Math.floor(Date.now() / 60_000);
    const window = { start: hhmm((nowMinute - 1) % 1440), end: hhmm((nowMinute + 3) % 1440), timeZone: "UTC" };
    expectData(await call(user, "mutation($i: QuietHoursInput) { setQuietHours(input: $i) { start } }", { i: window }));

    const held = await send(user, "ANNOUNCEMENT", "Held till morning");
    const urgent = await send(user, "SYSTEM", "Urgent");
    await eventually("the SYSTEM mail", async () => (mailsAbout(user, "Urgent").length === 1 ? true : undefined));
    expect(await settled(urgent, "SENT")).toMatchObject({ attempts: 1 });

    // The announcement's mail waits, PENDING, in a job delayed until the window's end.
    const [{ id: deliveryId }] = (await notificationDb.query<{ id: string }>("SELECT id::text FROM deliveries WHERE notification_id = $1 AND channel = 'EMAIL'", [held])).rows as [{ id: string }];
    const job = await eventually("the delayed mail job", async () => {
      // The stack's queue prefix is its own: found from the job's key.
      const [key] = await redis.keys(`*:${DELIVERY_QUEUE}:${deliveryId}`);
      if (!key) return undefined;
      queueConnection ??= redis.duplicate();
      queue ??= new Queue(DELIVERY_QUEUE, { connection: queueConnection, prefix: key.slice(0, key.indexOf(`:${DELIVERY_QUEUE}:`)) });
      const found = await queue.getJob(deliveryId);
      return found && (await found.getState()) === "delayed" ? found : undefined;
    });
    expect((await emailDelivery(held))[0]).toMatchObject({ status: "PENDING", attempts: 0 });
    expect(mailsAbout(user, "Held till morning")).toEqual([]);

    // The window ends (brought forward: cleared, and the job run now).
    expectData(await call(user, "mutation { setQuietHours(input: null) { start } }"));
    await job.promote();
    await eventually("the held mail", async () => (mailsAbout(user, "Held till morning").length === 1 ? true : undefined));
    expect(await settled(held, "SENT")).toMatchObject({ attempts: 1 });
  });
});
