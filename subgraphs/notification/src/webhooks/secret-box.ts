import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/**
 * Webhook signing secrets at rest: AES-256-GCM under WEBHOOK_SECRET_KEY. They cannot be hashed
 * (the worker pool signs with them), so they are encrypted: a dump of the database without the
 * key does not let anyone sign as us. Stored as `v1.<iv>.<tag>.<ciphertext>` (base64url), so a
 * later key or algorithm can be told apart.
 */
export type SecretBox = { seal(plaintext: string): string; open(sealed: string): string };

const IV_BYTES = 12;

export function createSecretBox(keyMaterial: string): SecretBox {
  // The setting is any string of at least 32 bytes; SHA-256 makes it exactly the 32 AES-256 needs.
  const key = createHash("sha256").update(keyMaterial).digest();
  return {
    seal(plaintext) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return ["v1", iv, cipher.getAuthTag(), ciphertext].map((part) => (typeof part === "string" ? part : part.toString("base64url"))).join(".");
    },
    open(sealed) {
      const [version, iv, tag, ciphertext] = sealed.split(".");
      if (version !== "v1" || !iv || !tag || ciphertext === undefined) throw new Error("not a sealed webhook secret");
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
    },
  };
}
