import { hash, verify, Algorithm } from "@node-rs/argon2";

// OWASP's argon2id baseline: 19 MiB, 2 iterations, 1 lane.
const OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export const hashPassword = (password: string) => hash(password, OPTIONS);

/**
 * Whether a stored hash can match any password. Service accounts and users who signed up
 * through an OIDC provider hold a marker instead, which is no argon2 (PHC) string.
 */
export const hasPassword = (passwordHash: string) => passwordHash.startsWith("$argon2");

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

// Verifying against this when the email is unknown keeps login time the same either way,
// so response times do not tell which emails have accounts.
let dummyHash: Promise<string> | undefined;
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword("startales-timing-equalizer");
  await verifyPassword(await dummyHash, password);
}
