// A real OpenID Connect provider (the npm `oidc-provider`, certified by the OpenID
// Foundation) on loopback, for the OIDC sign-in tests. It is ESM-only, so it runs in its own
// process: test/testkit/oidc-provider.ts starts it and reads the first line it prints,
// `{"issuer": "http://127.0.0.1:<port>"}`.
//
// Clients are fixed (argv[2], JSON: [{ client_id, client_secret?, redirect_uris }]); PKCE
// (S256) is required of every one. Accounts are added at run time by the tests, so each test
// has its own users: POST /test/accounts { id, password, email?, email_verified?, name?,
// preferred_username?, tamper? }. That route, and `tamper`, exist only in this test server:
// `tamper` makes the token endpoint hand out an ID token the relying party must refuse
// ("audience": signed with the provider's real key for another client; "signature": signed
// by a key the provider does not publish).
//
// Sign-in is a real interaction: GET /interaction/:uid renders a form, POST
// /interaction/:uid/login checks the account's password, POST /interaction/:uid/confirm
// grants consent.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { performance } from "node:perf_hooks";
import { URLSearchParams } from "node:url";
import { SignJWT, decodeJwt, decodeProtectedHeader, exportJWK, importJWK } from "jose";
import Provider from "oidc-provider";

// Start-up steps go to stderr: the test's start-up error message quotes them.
const step = (name) => process.stderr.write(`oidc-test-server: ${name} at ${Math.round(performance.now())} ms\n`);
step("loaded");
const clients = JSON.parse(process.argv[2] ?? "[]");
const accounts = new Map();

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingJwk = { ...(await exportJWK(privateKey)), kid: "test-signing-key", alg: "RS256", use: "sig" };
step("key ready");
// Made when an account first asks for it: a key the provider never publishes.
let rogueKey;

const server = createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
step("listening");

const provider = new Provider(issuer, {
  clients: clients.map((client) => ({
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: client.client_secret ? "client_secret_basic" : "none",
    ...client,
  })),
  jwks: { keys: [signingJwk] },
  cookies: { keys: [randomBytes(32).toString("hex")] },
  pkce: { required: () => true },
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "preferred_username"] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, id) {
    const account = accounts.get(id);
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        const { id: sub, email, email_verified, name, preferred_username } = account;
        return { sub, email, email_verified, name, preferred_username };
      },
    };
  },
});
// No stack traces or warnings on the test's output; errors still reach the client.
provider.on("server_error", () => {});

const html = (body) => `<!doctype html><html><body>${body}</body></html>`;
const escape = (text) => String(text).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

/** The provider's own interaction API, as its documentation's example uses it. */
async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error("interaction mismatch");
  if (req.method === "GET") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    if (details.prompt.name === "login") {
      return res.end(
        html(`<form method="post" action="/interaction/${escape(uid)}/login"><input name="login"><input type="password" name="password"><button>Sign in</button></form>`),
      );
    }
    return res.end(html(`<form method="post" action="/interaction/${escape(uid)}/confirm"><button>Allow</button></form>`));
  }
  const form = await readForm(req);
  if (action === "login") {
    const account = accounts.get(form.get("login") ?? "");
    if (!account || account.password !== form.get("password")) {
      res.writeHead(401, { "content-type": "text/html; charset=utf-8" });
      return res.end(html("Wrong login or password"));
    }
    return provider.interactionFinished(req, res, { login: { accountId: account.id } }, { mergeWithLastSubmission: false });
  }
  if (action === "confirm") {
    const { prompt, params, session, grantId } = details;
    const grant = grantId ? await provider.Grant.find(grantId) : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(" "));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
  }
  res.writeHead(404).end();
}

/** Rewrites the ID token of a token response for accounts that ask for it (see the top). */
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path !== "/token" || ctx.status !== 200 || !ctx.body?.id_token) return;
  const claims = decodeJwt(ctx.body.id_token);
  const tamper = accounts.get(claims.sub)?.tamper;
  if (!tamper) return;
  const { kid, alg } = decodeProtectedHeader(ctx.body.id_token);
  const forged = { ...claims, ...(tamper === "audience" ? { aud: "some-other-client" } : {}) };
  if (tamper === "signature") rogueKey ??= generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  const key = tamper === "signature" ? rogueKey : await importJWK(signingJwk, "RS256");
  ctx.body = { ...ctx.body, id_token: await new SignJWT(forged).setProtectedHeader({ alg, kid }).sign(key) };
});

const callback = provider.callback();
server.on("request", async (req, res) => {
  try {
    const path = new URL(req.url ?? "/", issuer).pathname;
    if (req.method === "POST" && path === "/test/accounts") {
      const account = await readJson(req);
      accounts.set(account.id, account);
      res.writeHead(201).end();
      return;
    }
    const match = /^\/interaction\/([^/]+)(?:\/(login|confirm))?$/.exec(path);
    if (match) return await interaction(req, res, match[1], match[2]);
    callback(req, res);
  } catch (error) {
    res.writeHead(500, { "content-type": "text/plain" }).end(String(error?.message ?? error));
  }
});

step("provider ready");
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
// Ends with the test process that started it, even if that one is killed.
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
