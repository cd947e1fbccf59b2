import { latestMailToken } from "../testkit/account-mail";
import { required } from "../testkit/config";
import { errorCodes, expectData, postGraphQL } from "../testkit/graphql-client";
import { eventually } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser } from "../testkit/users";

/**
 * A player forgets their password, through the real gateway: the reset link mailed to them
 * sets a new one and ends every sign-in they had, on this device and the others, including
 * the access tokens the gateway had already verified and kept.
 */
let stack: Stack;
let url: string;

beforeAll(async () => {
  stack = await startStack({ logLevel: "warn" });
  url = stack.graphqlUrl;
});
afterAll(() => stack?.stop());

const send = (query: string, variables: Record<string, unknown> = {}, token?: string) => postGraphQL<Record<string, unknown>>(url, { query, variables }, token ? { token } : {});
const LOGIN = "mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken refreshToken } }";

it("a reset ends every sign-in: old access tokens are refused by the gateway, new ones work", async () => {
  const player = await registerUser(url, "Forgetful");
  const laptop = expectData(await send(LOGIN, { e: player.email, p: player.password })).login as { accessToken: string; refreshToken: string };
  // Both tokens work, and the gateway keeps them as verified.
  for (const token of [player.accessToken, laptop.accessToken]) expect(expectData(await send("{ me { id } }", {}, token))).toEqual({ me: { id: player.user.id } });

  expect(expectData(await send("mutation($e: String!) { requestPasswordReset(email: $e) }", { e: player.email }))).toEqual({ requestPasswordReset: true });
  const token = await latestMailToken(stack.identityUrl, required("IDENTITY_DATABASE_URL"), player.user.id, "RESET_PASSWORD");
  expect(expectData(await send("mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }", { t: token, p: "a fresh password" }))).toEqual({ resetPassword: true });

  // The announcement reaches the gateway over Redis pub/sub, a moment after the answer.
  const refused = await eventually("the gateway to refuse the old access tokens", async () => {
    const answers = await Promise.all([player.accessToken, laptop.accessToken].map((old) => send("{ me { id } }", {}, old)));
    const codes = answers.flatMap((answer) => errorCodes(answer));
    return codes.length === 2 ? codes : undefined;
  });
  expect(refused).toEqual(["UNAUTHENTICATED", "UNAUTHENTICATED"]);
  for (const old of [player.refreshToken, laptop.refreshToken]) {
    expect(errorCodes(await send("mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }", { t: old }))).toEqual(["UNAUTHENTICATED"]);
  }

  const fresh = expectData(await send(LOGIN, { e: player.email, p: "a fresh password" })).login as { accessToken: string };
  expect(expectData(await send("{ me { id emailVerified } }", {}, fresh.accessToken))).toEqual({ me: { id: player.user.id, emailVerified: true } });
});
