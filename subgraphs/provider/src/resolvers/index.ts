import { AuditOutcome, DateTimeScalar, ErrorCode, appError, badInput, conflict, parseId, parseInput, requireUser, type Redis } from "@startales/service-kit";
import type { ProviderConfig } from "../config";
import type { Db } from "../db";
import { audioFromAsset } from "../domain/audio-asset";
import { recordAudit } from "../domain/audit";
import type { ContentReader } from "../domain/content-reader";
import type { DeploymentRegistry } from "../domain/deployment-registry";
import { DEFAULT_GROUP, parseDeployment } from "../domain/deployments";
import { generateImageInput, generateTextInput, synthesizeSpeechInput, transcribeAudioInput, usageArgs } from "../domain/input";
import type { JobEvents } from "../domain/job-events";
import type { JobService } from "../domain/job-service";
import { normalizeText } from "../domain/requests";
import { offlineAudioProblem } from "../offline/transcription";
import { providerUsage } from "../domain/usage";
import type { Resolvers } from "../generated/resolvers-types";

const user = (id: string) => ({ __typename: "User" as const, id });
const campaign = (id: string) => ({ __typename: "Campaign" as const, id });
const servedByGateway = () => {
  throw new Error("Subscriptions are served by the gateway (@live), not by the provider subgraph");
};

export type ResolverDeps = {
  db: Db;
  jobs: JobService;
  events: JobEvents;
  registry: DeploymentRegistry;
  redis: Redis;
  config: ProviderConfig;
  production: boolean;
  contentUrl: (sha: string) => string;
  /** Recordings in the content subgraph, read as the caller (transcribeAudio's audioAssetId). */
  contentAssets: ContentReader;
};

export function createResolvers(deps: ResolverDeps): Resolvers {
  const { db, jobs, config } = deps;
  const group = (model: string | null | undefined, kind: keyof typeof DEFAULT_GROUP) => model ?? DEFAULT_GROUP[kind];

  return {
    DateTime: DateTimeScalar,
    Query: {
      // Who may read is declared in the schema (@policy job_reader: the job's owner and admins).
      job: (_parent, args, { loaders }) => loaders.jobById.load(parseId(args.id)),
      jobChunk: async (_parent, args, { loaders }) => {
        const jobId = parseId(args.jobId, "jobId");
        if (!(await loaders.jobById.load(jobId))) return null;
        return deps.events.read(jobId, args.id);
      },
      providerDeployments: () => deps.registry.list(),
      providerUsage: (_parent, args) => {
        const parsed = parseInput(usageArgs, args);
        const until = parsed.until ?? new Date();
        const since = parsed.since ?? new Date(until.getTime() - 86_400_000);
        if (since >= until) throw badInput("since must be before until", [{ field: "since", message: "must be before until" }]);
        return providerUsage(db, { since, until, userId: parsed.userId ?? null, campaignId: parsed.campaignId ?? null, groupBy: parsed.groupBy });
      },
    },
    Subscription: {
      textStream: { subscribe: servedByGateway },
    },
    Mutation: {
      generateText: (_parent, args, { viewer, loaders }) => {
        const input = parseInput(generateTextInput, args.input);
        const maxTokens = Math.min(input.maxTokens ?? config.PROVIDER_MAX_OUTPUT_TOKENS, config.PROVIDER_MAX_OUTPUT_TOKENS);
        return jobs.create(requireUser(viewer), loaders.forwarded, {
          kind: "TEXT",
          idempotencyKey: input.idempotencyKey,
          campaignId: input.campaignId ?? null,
          bypassCache: input.bypassCache,
          stream: input.stream,
          request: {
            kind: "TEXT",
            group: group(input.model, "TEXT"),
            style: input.style,
            prompt: normalizeText(input.prompt),
            speaker: input.speaker ? normalizeText(input.speaker) : null,
            context: input.context ? normalizeText(input.context) : null,
            maxTokens,
          },
        });
      },
      synthesizeSpeech: (_parent, args, { viewer, loaders }) => {
        const input = parseInput(synthesizeSpeechInput, args.input);
        return jobs.create(requireUser(viewer), loaders.forwarded, {
          kind: "SPEECH",
          idempotencyKey: input.idempotencyKey,
          campaignId: input.campaignId ?? null,
          bypassCache: input.bypassCache,
          stream: false,
          request: { kind: "SPEECH", group: group(input.model, "SPEECH"), text: normalizeText(input.text), voice: input.voice ?? null },
        });
      },
      generateImage: (_parent, args, { viewer, loaders }) => {
        const input = parseInput(generateImageInput, args.input);
        return jobs.create(requireUser(viewer), loaders.forwarded, {
          kind: "IMAGE",
          idempotencyKey: input.idempotencyKey,
          campaignId: input.campaignId ?? null,
          bypassCache: input.bypassCache,
          stream: false,
          request: { kind: "IMAGE", group: group(input.model, "IMAGE"), subject: input.subject, prompt: normalizeText(input.prompt), size: input.size },
        });
      },
      transcribeAudio: async (_parent, args, { viewer, loaders }) => {
        const signedIn = requireUser(viewer);
        const input = parseInput(transcribeAudioInput, args.input);
        const { offlineOnly } = await jobs.assertTranscriptionConfigured(input.model ?? null);
        const { audio } = input;
        let bytes: Buffer;
        let contentType: string;
        if (audio.from === "asset") {
          ({ bytes, contentType } = await audioFromAsset(deps.contentAssets, loaders.forwarded, audio.assetId, config.PROVIDER_MAX_AUDIO_BYTES));
        } else {
          bytes = Buffer.from(audio.base64, "base64");
          contentType = audio.contentType;
          if (bytes.length > config.PROVIDER_MAX_AUDIO_BYTES) {
            throw badInput(`audio must be at most ${config.PROVIDER_MAX_AUDIO_BYTES} bytes`, [{ field: "audioBase64", message: "is too large" }]);
          }
        }
        // Told now rather than as a failed job: only the offline engine could run it, and it cannot.
        const problem = offlineOnly ? offlineAudioProblem(contentType, input.language ?? null, bytes) : null;
        if (problem) {
          // An asset's type and bytes are both the asset's: the field to fix is the one naming it.
          const field = audio.from === "asset" && problem.field !== "language" ? "audioAssetId" : problem.field;
          throw badInput(problem.message, [{ field, message: problem.message }]);
        }
        const audioSha = await jobs.storeAudio(bytes, contentType);
        return jobs.create(signedIn, loaders.forwarded, {
          kind: "TRANSCRIPTION",
          idempotencyKey: input.idempotencyKey,
          campaignId: input.campaignId ?? null,
          bypassCache: input.bypassCache,
          stream: false,
          request: { kind: "TRANSCRIPTION", group: group(input.model, "TRANSCRIPTION"), audioSha, contentType, language: input.language ?? null },
        });
      },
      upsertProviderDeployment: async (_parent, args, context) => {
        let deployment;
        try {
          deployment = parseDeployment(args.input, "ADMIN", { production: deps.production });
        } catch (error) {
          throw badInput((error as Error).message, [{ field: "input", message: (error as Error).message }]);
        }
        if (deps.registry.isReserved(deployment.name)) throw conflict("This deployment comes from the configuration and cannot be changed here");
        const { source: _source, ...data } = deployment;
        await db.$transaction(async (tx) => {
          await tx.providerDeployment.upsert({ where: { name: data.name }, create: data, update: data });
          // The key's variable name is recorded, never a key; the base URL is not personal data.
          await recordAudit(tx, context, {
            action: "provider.deployment.upsert",
            outcome: AuditOutcome.SUCCESS,
            targetType: "ProviderDeployment",
            targetId: data.name,
            details: { kind: data.kind, driver: data.driver, modelGroup: data.modelGroup, model: data.model, baseUrl: data.baseUrl, apiKeyEnv: data.apiKeyEnv, enabled: data.enabled },
          });
        });
        deps.registry.invalidate();
        return deployment;
      },
      deleteProviderDeployment: async (_parent, args, context) => {
        if (deps.registry.isReserved(args.name)) throw conflict("This deployment comes from the configuration and cannot be removed here");
        const removed = await db.$transaction(async (tx) => {
          const { count } = await tx.providerDeployment.deleteMany({ where: { name: args.name } });
          if (count > 0) await recordAudit(tx, context, { action: "provider.deployment.delete", outcome: AuditOutcome.SUCCESS, targetType: "ProviderDeployment", targetId: args.name });
          return count > 0;
        });
        deps.registry.invalidate();
        return removed;
      },
    },
    ProviderJob: {
      __resolveReference: (reference, { loaders }) => loaders.jobById.load(parseId(reference.id)),
      owner: (job) => user(job.ownerId),
      campaign: (job) => (job.campaignId ? campaign(job.campaignId) : null),
      text: (job) => job.resultText,
      contentUrl: (job) => (job.contentSha ? deps.contentUrl(job.contentSha) : null),
      usage: (job) => ({
        promptTokens: job.promptTokens,
        completionTokens: job.completionTokens,
        totalTokens: job.promptTokens + job.completionTokens,
        costMicros: job.costMicros,
        cached: job.cached,
      }),
    },
    TextChunk: {
      job: async (chunk, _args, { loaders }) => {
        const job = await loaders.jobById.load(chunk.jobId);
        if (!job) throw appError(ErrorCode.NOT_FOUND, "This job no longer exists");
        return job;
      },
    },
    ProviderDeployment: {
      health: async (deployment) => (await deps.redis.get(`${config.PROVIDER_REDIS_PREFIX}health:${deployment.name}`).catch(() => null)) ?? "OK",
    },
  };
}
