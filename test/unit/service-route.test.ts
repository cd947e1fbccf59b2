import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import { IDENTITY_HEADER, Role, Scope, createIdentitySigner, createLogger, createServiceCaller, serviceOnlyRoute, signedIn } from "@startales/service-kit";

/** A service-only route on a real loopback server, and the kit's caller of such routes. */
const SECRET = randomBytes(48).toString("base64url");
let server: Server;
let url: string;
const seen: string[] = [];

beforeAll(async () => {
  const route = serviceOnlyRoute(
    {
      secret: SECRET,
      logger: createLogger("test", "silent"),
      what: "echo a word",
      body: { schema: z.strictObject({ word: z.string().min(1).max(16) }), maxBytes: 256, hint: 'The body must be JSON: {"word": "<1 to 16 characters>"}' },
    },
    async ({ body, viewer }) => {
      seen.push(body.word);
      return { status: 200, body: { word: body.word, caller: viewer.kind === "user" ? viewer.userId : null } };
    },
  );
  server = createServer((req, res) => void route(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/internal/echo`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const postAs = async (identity: string | undefined, body: string) => {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...(identity ? { [IDENTITY_HEADER]: identity } : {}) }, body });
  return { status: res.status, cacheControl: res.headers.get("cache-control"), body: (await res.json()) as Record<string, unknown> };
};

test("a caller without a signed identity, or with one signed by another secret, is 401 and nothing runs", async () => {
  const before = seen.length;
  expect(await postAs(undefined, '{"word":"a"}')).toMatchObject({ status: 401, cacheControl: "no-store", body: { error: "UNAUTHENTICATED" } });
  const forged = await createIdentitySigner(randomBytes(48).toString("base64url"))(signedIn(randomUUID(), [Role.SERVICE], { credential: "api_key", scopes: [Scope.READ] }), randomUUID());
  expect(await postAs(forged, '{"word":"a"}')).toMatchObject({ status: 401, body: { error: "UNAUTHENTICATED" } });
  expect(seen.length).toBe(before);
});

test("a signed-in user without the SERVICE role (an admin too) is 403 naming what only services may do", async () => {
  const admin = await createIdentitySigner(SECRET)(signedIn(randomUUID(), [Role.PLAYER, Role.ADMIN], { credential: "access_token", scopes: [Scope.READ, Scope.WRITE] }), randomUUID());
  expect(await postAs(admin, '{"word":"a"}')).toEqual({ status: 403, cacheControl: "no-store", body: { error: "FORBIDDEN", message: "Only services may echo a word" } });
});

test("a service with a body its schema refuses (not JSON, a wrong field, too large) is 400 with the hint", async () => {
  const service = await createIdentitySigner(SECRET)(signedIn(randomUUID(), [Role.SERVICE], { credential: "api_key", scopes: [Scope.READ] }), randomUUID());
  for (const body of ["not json", '{"word":""}', '{"word":"a","extra":1}', JSON.stringify({ word: "x".repeat(400) })]) {
    expect(await postAs(service, body)).toMatchObject({ status: 400, body: { error: "BAD_USER_INPUT", message: 'The body must be JSON: {"word": "<1 to 16 characters>"}' } });
  }
});

test("createServiceCaller signs a SERVICE identity of its own and gets the handler's answer", async () => {
  const serviceId = randomUUID();
  const caller = createServiceCaller({ secret: SECRET, serviceId, timeoutMs: 2_000 });
  expect(await caller.post(url, { word: "hello" })).toEqual({ status: 200, body: { word: "hello", caller: serviceId } });
  expect(seen).toContain("hello");
  // A caller with the wrong secret is refused like anyone else.
  const stranger = createServiceCaller({ secret: randomBytes(48).toString("base64url"), serviceId, timeoutMs: 2_000 });
  expect((await stranger.post(url, { word: "hello" })).status).toBe(401);
});
