import { z } from "zod";
import { checkBaseUrl } from "./base-url";

export const JOB_KINDS = ["TEXT", "SPEECH", "IMAGE", "TRANSCRIPTION"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** The model group a job uses when it names none. */
export const DEFAULT_GROUP: Record<JobKind, string> = { TEXT: "text", SPEECH: "speech", IMAGE: "image", TRANSCRIPTION: "transcription" };

export type DeploymentSource = "ENV" | "ADMIN" | "BUILTIN";

/** One model at one vendor (or an offline engine) and how it is routed and priced. */
export type Deployment = {
  name: string;
  kind: JobKind;
  driver: "OPENAI" | "OFFLINE";
  modelGroup: string;
  model: string;
  baseUrl: string | null;
  apiKeyEnv: string | null;
  priority: number;
  weight: number;
  rpm: number | null;
  tpm: number | null;
  timeoutMs: number;
  inputCostMicrosPer1k: number;
  outputCostMicrosPer1k: number;
  requestCostMicros: number;
  enabled: boolean;
  source: DeploymentSource;
};

/** Keys come from variables of this shape only, so a deployment can never send another secret to a vendor. */
export const API_KEY_ENV = /^PROVIDER_KEY_[A-Z0-9_]{1,64}$/;

const count = z.number().int().min(0);
export const deploymentShape = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "must be 1-63 of a-z 0-9 . _ - (starting with a letter or digit)"),
  kind: z.enum(JOB_KINDS),
  driver: z.enum(["OPENAI", "OFFLINE"]).default("OPENAI"),
  modelGroup: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "must be 1-63 of a-z 0-9 . _ -"),
  model: z.string().min(1).max(200),
  baseUrl: z.string().max(500).nullish().transform((v) => v ?? null),
  apiKeyEnv: z.string().regex(API_KEY_ENV, "must name a variable PROVIDER_KEY_<NAME>").nullish().transform((v) => v ?? null),
  priority: z.number().int().min(0).max(1000).default(0),
  weight: z.number().int().min(1).max(1000).default(1),
  rpm: z.number().int().positive().nullish().transform((v) => v ?? null),
  tpm: z.number().int().positive().nullish().transform((v) => v ?? null),
  timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  inputCostMicrosPer1k: count.default(0),
  outputCostMicrosPer1k: count.default(0),
  requestCostMicros: count.default(0),
  enabled: z.boolean().default(true),
});

/** Validates one deployment (shape and base URL) for `source`; throws an Error naming what is wrong. */
export function parseDeployment(value: unknown, source: DeploymentSource, env: { production: boolean }): Deployment {
  const parsed = deploymentShape.safeParse(value);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join(".") || "deployment"} ${i.message}`).join("; "));
  const d = parsed.data;
  if (d.driver === "OPENAI") {
    if (!d.baseUrl) throw new Error(`baseUrl is required for the OPENAI driver (${d.name})`);
    const problem = checkBaseUrl(d.baseUrl, env);
    if (problem) throw new Error(`baseUrl ${problem} (${d.name})`);
  }
  return { ...d, source };
}

/** PROVIDER_DEPLOYMENTS: a JSON array of deployments (validated again against NODE_ENV when the app starts). */
export function deploymentsFromEnv(value: unknown): Deployment[] {
  if (!Array.isArray(value)) throw new Error("must be a JSON array of deployments");
  const production = process.env.NODE_ENV === "production";
  const deployments = value.map((item) => parseDeployment(item, "ENV", { production }));
  const names = new Set<string>();
  for (const d of deployments) {
    if (names.has(d.name)) throw new Error(`deployment ${d.name} appears twice`);
    names.add(d.name);
  }
  return deployments;
}

/**
 * The offline engines: the last resort of every default group, so the game runs with no key.
 * Transcription is among them only where pocketsphinx is installed (`transcription`).
 */
export function builtinDeployments(options: { transcription: boolean }): Deployment[] {
  const base = { driver: "OFFLINE" as const, baseUrl: null, apiKeyEnv: null, priority: 1000, weight: 1, rpm: null, tpm: null, timeoutMs: 30_000 };
  const free = { inputCostMicrosPer1k: 0, outputCostMicrosPer1k: 0, requestCostMicros: 0, enabled: true, source: "BUILTIN" as const };
  const list: Deployment[] = [
    { ...base, ...free, name: "offline-narrator", kind: "TEXT", modelGroup: DEFAULT_GROUP.TEXT, model: "startales-narrator-1" },
    { ...base, ...free, name: "offline-speech", kind: "SPEECH", modelGroup: DEFAULT_GROUP.SPEECH, model: "startales-formant-1" },
    { ...base, ...free, name: "offline-images", kind: "IMAGE", modelGroup: DEFAULT_GROUP.IMAGE, model: "startales-procedural-1" },
  ];
  if (options.transcription) {
    // Decoding takes up to about as long as the audio on a busy core: a long recording needs more than the default.
    list.push({ ...base, ...free, name: "offline-transcription", kind: "TRANSCRIPTION", modelGroup: DEFAULT_GROUP.TRANSCRIPTION, model: "pocketsphinx-en-us", timeoutMs: 120_000 });
  }
  return list;
}
