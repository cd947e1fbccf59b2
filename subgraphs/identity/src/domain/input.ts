import { z } from "zod";

export const LOCALES = ["en", "fr"] as const;

export const email = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, "must be at most 254 characters")
  .pipe(z.email("must be a valid email address"));

/** A new password: register's rules, for resetPassword too. */
export const newPassword = z.string().min(8, "must be at least 8 characters").max(256, "must be at most 256 characters");

export const registerInput = z.object({
  email,
  password: newPassword,
  displayName: z
    .string()
    .trim()
    // NFC, so "Zoë" typed as e + combining diaeresis is stored like the precomposed spelling.
    .transform((name) => name.normalize("NFC"))
    .pipe(
      z
        .string()
        .min(2, "must be at least 2 characters")
        .max(32, "must be at most 32 characters")
        // Letters with their combining marks (Devanagari, Arabic diacritics), digits, space - _ .
        .regex(/^[\p{L}\p{N}][\p{L}\p{M}\p{N} _.-]*$/u, "may contain letters, digits, spaces and - _ . only, starting with a letter or digit"),
    ),
  /** The language of the account's mail: the ones notification has templates in. */
  locale: z.enum(LOCALES, `must be one of ${LOCALES.join(", ")}`).nullish().transform((locale) => locale ?? "en"),
});

export const loginInput = z.object({ email, password: z.string().min(1, "is required").max(256) });

/** The proof deleteAccount asks for: the password, or the email of an account without one (compared as register stored it). */
export const deleteAccountInput = z.object({ password: z.string().min(1, "is required").max(256).nullish(), email: email.nullish() });

