import type { Deployment } from "../domain/deployments";
import type { ProviderRequest } from "../domain/requests";

export type DriverUsage = { promptTokens: number; completionTokens: number };

/** What a driver returns: text, or bytes with their content type. */
export type DriverResult = { text: string | null; bytes: Buffer | null; contentType: string | null; usage: DriverUsage; model: string };

export type CallOptions = {
  /** Aborted on the per-request timeout or when the job is given up. */
  signal: AbortSignal;
  /** Streaming TEXT: each piece of text as it arrives. */
  onChunk?: (text: string) => Promise<void>;
  /** TRANSCRIPTION: the audio bytes. */
  audio?: Buffer;
  maxOutputTokens: number;
};

/** One way of talking to a kind of deployment (OpenAI-compatible HTTP, the offline engines). */
export type Driver = { run(deployment: Deployment, request: ProviderRequest, options: CallOptions): Promise<DriverResult> };
