// Development secrets for `npm start`: made once per checkout in .local/ (git-ignored), so
// nothing secret is committed and tokens stay valid across restarts. Production sets the
// same variables from its secret store; any variable already in the environment wins.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function devSecrets(root) {
  const file = join(root, ".local", "dev-secrets.json");
  if (!existsSync(file)) {
    mkdirSync(join(root, ".local"), { recursive: true });
    const { privateKey } = generateKeyPairSync("ed25519");
    const secrets = {
      GATEWAY_SIGNING_SECRET: randomBytes(48).toString("base64url"),
      JWT_PRIVATE_KEY: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    };
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  return JSON.parse(readFileSync(file, "utf8"));
}
