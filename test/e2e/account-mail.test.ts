import { startFakeSmtp, type FakeSmtp, type ReceivedMail } from "../testkit/fake-smtp";
import { errorCodes, expectData, postGraphQL } from "../testkit/graphql-client";
import { eventually } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser } from "../testkit/users";

/**
 * The account's mail, end to end through the gateway and a loopback SMTP server, as a player
 * lives it: they register, the verification mail arrives, they follow its link and their
 * address is verified; later they forget their password, the reset mail arrives, its link sets
 * a new one, and every sign-in they had (this device's and another's) is refused from then on;
 * a notice tells them the password changed. The tokens come out of the mails, nothing else.
 */
let stack: Stack;
let smtp: FakeSmtp;

beforeAll(async () => {
  smtp = await startFakeSmtp();
  stack = await startStack({ logLevel: "warn", notificationEnv: { SMTP_URL: smtp.url, SMTP_FROM: "Startales <no-reply@startales.test>" } });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await smtp?.stop();
});

const send = (query: string, variables: Record<string, unknown> = {}, token?: string) => postGraphQL<Record<string, unknown>>(stack.graphqlUrl, { query, variables }, token ? { token } : {});
const LOGIN = "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken refreshToken } }";

/** The link a mail's text gives after its action's label, and the token it carries. */
function linkIn(mail: ReceivedMail, label: string): { url: URL; token: string } {
  const link = new RegExp(`${label}: (\\S+)`).exec(mail.text)?.[1];
  if (!link) throw new Error(`no "${label}" link in the mail: ${mail.text}`);
  const url = new URL(link);
  return { url, token: url.searchParams.get("token")! };
}

it("a player verifies their address from the mail, resets a forgotten password from another, and every old sign-in ends", async () => {
  const player = await registerUser(stack.graphqlUrl, "Wanderer");
  expect(expectData(await send("{ me { emailVerified } }", {}, player.accessToken))).toEqual({ me: { emailVerified: false } });

  // The verification mail, its link on the web app's page.
  const [welcome] = await smtp.waitFor(player.email, 1);
  expect(welcome!.subject).toBe("Confirm your email address");
  const verify = linkIn(welcome!, "Confirm my address");
  expect(verify.url.pathname).toMatch(/\/verify-email$/);
  expect(expectData(await send("mutation($t: String!) { verifyEmail(token: $t) { id } }", { t: verify.token }))).toEqual({ verifyEmail: { id: player.user.id } });
  expect(expectData(await send("{ me { emailVerified } }", {}, player.accessToken))).toEqual({ me: { emailVerified: true } });
  // The link works once.
  expect(errorCodes(await send("mutation($t: String!) { verifyEmail(token: $t) { id } }", { t: verify.token }))).toEqual(["BAD_USER_INPUT"]);

  // Later, signed in on a second device too, the player forgets their password.
  const laptop = expectData(await send(LOGIN, { e: player.email, p: player.password })).login as { accessToken: string; refreshToken: string };
  expect(expectData(await send("mutation($e: String!) { requestPasswordReset(email: $e) }", { e: player.email }))).toEqual({ requestPasswordReset: true });
  const [, resetMail] = await smtp.waitFor(player.email, 2);
  expect(resetMail!.subject).toBe("Reset your password");
  const reset = linkIn(resetMail!, "Choose a new password");
  expect(reset.url.pathname).toMatch(/\/reset-password$/);
  expect(expectData(await send("mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }", { t: reset.token, p: "a brand new secret" }))).toEqual({
    resetPassword: true,
  });

  // Every old sign-in is refused: both access tokens (the gateway had verified and kept them) and both refresh tokens.
  await eventually("the gateway to refuse the old access tokens", async () => {
    const answers = await Promise.all([player.accessToken, laptop.accessToken].map((old) => send("{ me { id } }", {}, old)));
    return answers.every((answer) => errorCodes(answer).includes("UNAUTHENTICATED")) ? true : undefined;
  });
  for (const refreshToken of [player.refreshToken, laptop.refreshToken]) {
    expect(errorCodes(await send("mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }", { r: refreshToken }))).toEqual(["UNAUTHENTICATED"]);
  }
  // The old password no longer signs in; the new one does, and its tokens work.
  expect(errorCodes(await send(LOGIN, { e: player.email, p: player.password }))).toEqual(["UNAUTHENTICATED"]);
  const fresh = expectData(await send(LOGIN, { e: player.email, p: "a brand new secret" })).login as { accessToken: string };
  expect(expectData(await send("{ me { id emailVerified } }", {}, fresh.accessToken))).toEqual({ me: { id: player.user.id, emailVerified: true } });
  // The reset link worked once; a notice of the change follows it.
  expect(errorCodes(await send("mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }", { t: reset.token, p: "yet another one" }))).toEqual(["BAD_USER_INPUT"]);
  const [, , notice] = await smtp.waitFor(player.email, 3);
  expect(notice!.subject).toBe("Your password was changed");
});
