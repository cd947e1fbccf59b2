import { z } from "zod";

const id = z.uuid("must be a valid ID");
const key = z.string().min(1, "must not be empty").max(128, "must be at most 128 characters");
const text = (max: number) => z.string().trim().min(1, "must not be empty").max(max, `must be at most ${max} characters`);
const group = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "must be a model group name").nullish();
const common = { idempotencyKey: key, campaignId: id.nullish(), model: group, bypassCache: z.boolean().nullish().transform((v) => v ?? false) };

export const generateTextInput = z.object({
  ...common,
  style: z.enum(["NARRATION", "DIALOGUE"]).default("NARRATION"),
  prompt: text(4000),
  speaker: z.string().trim().max(100, "must be at most 100 characters").nullish(),
  context: z.string().trim().max(4000, "must be at most 4000 characters").nullish(),
  maxTokens: z.number().int().min(1, "must be at least 1").max(4096, "must be at most 4096").nullish(),
  stream: z.boolean().nullish().transform((v) => v ?? false),
});

export const synthesizeSpeechInput = z.object({
  ...common,
  text: text(2000),
  voice: z.string().regex(/^[A-Za-z0-9+_-]{1,32}$/, "must be a voice name").nullish(),
});

export const generateImageInput = z.object({
  ...common,
  subject: z.enum(["PORTRAIT", "PLANET"]),
  prompt: text(1000),
  size: z.number().int().min(64, "must be at least 64").max(1024, "must be at most 1024").nullish().transform((v) => v ?? 256),
});

export const AUDIO_TYPES = ["audio/wav", "audio/mpeg", "audio/ogg", "audio/webm", "audio/flac"] as const;
export type AudioType = (typeof AUDIO_TYPES)[number];

/**
 * The audio comes in the request (audioBase64 with its contentType) or from a recording in
 * content (audioAssetId, whose type content read from its bytes): exactly one of the two, so
 * no request is ambiguous about which audio was transcribed.
 */
export const transcribeAudioInput = z
  .object({
    ...common,
    audioBase64: z.string().min(1, "must not be empty").regex(/^[A-Za-z0-9+/]+={0,2}$/, "must be base64").nullish(),
    contentType: z.enum(AUDIO_TYPES, { error: `must be one of ${AUDIO_TYPES.join(", ")}` }).nullish(),
    audioAssetId: id.nullish(),
    language: z.string().regex(/^[a-z]{2}(-[A-Z]{2})?$/, "must be a language code such as en").nullish(),
  })
  .superRefine((input, ctx) => {
    const issue = (field: string, message: string) => ctx.addIssue({ code: "custom", path: [field], message });
    if (input.audioBase64 && input.audioAssetId) issue("audioAssetId", "must not be given with audioBase64");
    else if (!input.audioBase64 && !input.audioAssetId) issue("audioBase64", "or audioAssetId is required");
    else if (input.audioBase64 && !input.contentType) issue("contentType", "is required with audioBase64");
    else if (input.audioAssetId && input.contentType) issue("contentType", "must not be given with audioAssetId: the asset's own type is used");
  })
  .transform(({ audioBase64, contentType, audioAssetId, ...rest }) => ({
    ...rest,
    audio:
      audioBase64 && contentType
        ? ({ from: "request", base64: audioBase64, contentType } as const)
        : ({ from: "asset", assetId: audioAssetId as string } as const),
  }));

export const usageArgs = z.object({
  since: z.coerce.date().nullish(),
  until: z.coerce.date().nullish(),
  userId: id.nullish(),
  campaignId: id.nullish(),
  groupBy: z.enum(["KIND", "DEPLOYMENT", "USER", "CAMPAIGN"]).nullish().transform((v) => v ?? "KIND"),
});
