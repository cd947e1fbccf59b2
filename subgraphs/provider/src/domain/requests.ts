import { createHash } from "node:crypto";
import type { JobKind } from "./deployments";

/** What the worker executes, as stored in `provider_jobs.input` (validated, normalized). */
export type TextRequest = {
  kind: "TEXT";
  group: string;
  style: "NARRATION" | "DIALOGUE";
  prompt: string;
  speaker: string | null;
  context: string | null;
  maxTokens: number;
};
export type SpeechRequest = { kind: "SPEECH"; group: string; text: string; voice: string | null };
export type ImageRequest = { kind: "IMAGE"; group: string; subject: "PORTRAIT" | "PLANET"; prompt: string; size: number };
export type TranscriptionRequest = { kind: "TRANSCRIPTION"; group: string; audioSha: string; contentType: string; language: string | null };
export type ProviderRequest = TextRequest | SpeechRequest | ImageRequest | TranscriptionRequest;

export type RequestOf<K extends JobKind> = Extract<ProviderRequest, { kind: K }>;

/** Whitespace runs become one space; ends are trimmed; Unicode is NFC. Same meaning, same key. */
export const normalizeText = (text: string) => text.normalize("NFC").replace(/\s+/g, " ").trim();

/** JSON with object keys sorted at every level: one string per value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** The response cache's key: sha256 of the normalized request (the kind and model group included). */
export const requestHash = (request: ProviderRequest) => createHash("sha256").update(canonicalJson(request)).digest("hex");

/** A deterministic seed (32 bits) from any text, for the offline engines. */
export const seedOf = (text: string) => createHash("sha256").update(text).digest().readUInt32BE(0);
