import { createHash, randomBytes } from "node:crypto";

/** A refresh token is 256 random bits; only its SHA-256 is stored, so a database leak yields no usable token. */
export const newRefreshTokenSecret = () => randomBytes(32).toString("base64url");

export const hashRefreshToken = (token: string) => createHash("sha256").update(token).digest("base64url");
