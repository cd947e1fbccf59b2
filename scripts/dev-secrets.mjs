// Development secrets for `npm start`: made once per checkout in .local/ (git-ignored), so
// nothing secret is committed and tokens stay valid across restarts. Production sets the
// same variables from its secret store; any variable already in the environment wins.
import { createECDH, generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
// Web push's VAPID keys are a pair: both are made together (a checkout missing either gets a new pair).
// A P-256 key pair as web-push takes it: the uncompressed public point and the 32-byte private key, base64url.
let vapid;
function vapidKeys() {
  if (!vapid) {
    const ecdh = createECDH("prime256v1");
    ecdh.generateKeys();
    const secret = ecdh.getPrivateKey();
    vapid = { publicKey: ecdh.getPublicKey().toString("base64url"), privateKey: Buffer.concat([Buffer.alloc(32 - secret.length), secret]).toString("base64url") };
  }
  return vapid;
}

const MAKERS = {
  GATEWAY_SIGNING_SECRET: () => randomBytes(48).toString("base64url"),
  JWT_PRIVATE_KEY: () => generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  CONTENT_URL_SIGNING_SECRET: () => randomBytes(48).toString("base64url"),
  UNSUBSCRIBE_SIGNING_SECRET: () => randomBytes(48).toString("base64url"),
  EMAIL_LINK_SECRET: () => randomBytes(48).toString("base64url"),
  WEB_PUSH_VAPID_PUBLIC_KEY: () => vapidKeys().publicKey,
  WEB_PUSH_VAPID_PRIVATE_KEY: () => vapidKeys().privateKey,
  WEBHOOK_SECRET_KEY: () => randomBytes(48).toString("base64url"),
};
const PAIRS = [["WEB_PUSH_VAPID_PUBLIC_KEY", "WEB_PUSH_VAPID_PRIVATE_KEY"]];

/** The secrets' names, for the stack to pass on. */
export const DEV_SECRET_NAMES = Object.keys(MAKERS);

export function devSecrets(root) {
  const file = join(root, ".local", "dev-secrets.json");
  const secrets = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  // A checkout made before a secret existed gets it added; those it has are kept.
  const missing = DEV_SECRET_NAMES.filter((name) => !secrets[name] || PAIRS.some((pair) => pair.includes(name) && pair.some((other) => !secrets[other])));
  if (missing.length) {
    for (const name of missing) secrets[name] = MAKERS[name]();
    mkdirSync(join(root, ".local"), { recursive: true });
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  return secrets;
}
