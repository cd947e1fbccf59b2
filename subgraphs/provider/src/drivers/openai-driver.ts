import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { SpanKind, checkResolvedAddress, parseRetryAfter, redactText, withSpan } from "@startales/service-kit";
import { checkBaseUrl } from "../domain/base-url";
import type { Deployment } from "../domain/deployments";
import { buildChatMessages, estimateTokens } from "../domain/prompt";
import type { ProviderRequest } from "../domain/requests";
import type { CallOptions, Driver, DriverResult } from "./driver";
import { ProviderError } from "./provider-error";
import { readSse } from "./sse";

export type OpenAiDriverOptions = { production: boolean; env?: NodeJS.ProcessEnv };

/**
 * Any OpenAI-compatible HTTP API (OpenAI, Azure OpenAI's v1 API, OpenRouter, LiteLLM, vLLM,
 * Ollama, LocalAI…): /chat/completions (SSE when streaming), /audio/speech,
 * /audio/transcriptions and /images/generations under the deployment's base URL.
 */
export function createOpenAiDriver(options: OpenAiDriverOptions): Driver {
  const env = options.env ?? process.env;

  /** The base URL checked again, with its hostname resolved, right before a request. */
  async function endpoint(deployment: Deployment, path: string): Promise<string> {
    const base = deployment.baseUrl ?? "";
    const problem = checkBaseUrl(base, options);
    if (problem) throw new ProviderError("client", `deployment ${deployment.name}: base URL ${problem}`);
    const host = new URL(base).hostname.replace(/^\[|\]$/g, "");
    if (!isIP(host)) {
      let addresses: { address: string }[];
      try {
        addresses = await lookup(host, { all: true });
      } catch {
        throw new ProviderError("network", `deployment ${deployment.name}: cannot resolve its host`);
      }
      for (const { address } of addresses) {
        const refused = checkResolvedAddress(address, options);
        if (refused) throw new ProviderError("client", `deployment ${deployment.name}: base URL ${refused}`);
      }
    }
    return `${base.replace(/\/+$/, "")}${path}`;
  }

  function headers(deployment: Deployment, json = true): Record<string, string> {
    const key = deployment.apiKeyEnv ? env[deployment.apiKeyEnv] : undefined;
    return { ...(json ? { "content-type": "application/json" } : {}), ...(key ? { authorization: `Bearer ${key}` } : {}) };
  }

  /**
   * A client span per vendor call, up to the vendor's response headers (a streamed body is read
   * after it). The vendor gets no trace headers: our trace ids are not theirs to see.
   */
  const post = (deployment: Deployment, path: string, body: string | FormData, call: CallOptions, json = true): Promise<Response> =>
    withSpan(
      "provider-worker",
      `vendor POST ${path}`,
      async (span) => {
        const response = await postOnce(deployment, path, body, call, json);
        span?.setAttribute("http.response.status_code", response.status);
        return response;
      },
      { kind: SpanKind.CLIENT, attributes: { "startales.deployment": deployment.name, "startales.model": deployment.model } },
    );

  async function postOnce(deployment: Deployment, path: string, body: string | FormData, call: CallOptions, json: boolean): Promise<Response> {
    const url = await endpoint(deployment, path);
    const signal = AbortSignal.any([call.signal, AbortSignal.timeout(deployment.timeoutMs)]);
    let response: Response;
    try {
      // No redirects: a vendor must not bounce a request (and its key) elsewhere.
      response = await fetch(url, { method: "POST", headers: headers(deployment, json), body, signal, redirect: "error" });
    } catch (error) {
      throw classifyFetchError(deployment, error);
    }
    if (response.ok) return response;
    await response.body?.cancel().catch(() => undefined);
    const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
    const status = response.status;
    const kind = status === 429 ? "rate_limited" : status >= 500 ? "server" : status === 408 ? "timeout" : "client";
    throw new ProviderError(kind, `deployment ${deployment.name} answered ${status}`, { status, retryAfterMs });
  }

  async function chat(deployment: Deployment, request: Extract<ProviderRequest, { kind: "TEXT" }>, call: CallOptions): Promise<DriverResult> {
    const maxTokens = Math.min(request.maxTokens, call.maxOutputTokens);
    const messages = buildChatMessages(request);
    const stream = Boolean(call.onChunk);
    const body = { model: deployment.model, messages, max_tokens: maxTokens, stream, ...(stream ? { stream_options: { include_usage: true } } : {}) };
    const response = await post(deployment, "/chat/completions", JSON.stringify(body), call);
    if (!stream) {
      const json = (await readJson(deployment, response)) as { choices?: { message?: { content?: string } }[]; usage?: { prompt_tokens?: number; completion_tokens?: number } };
      const text = json.choices?.[0]?.message?.content;
      if (typeof text !== "string") throw new ProviderError("server", `deployment ${deployment.name} sent no text`);
      return { text, bytes: null, contentType: null, usage: usageOf(json.usage, messages, text), model: deployment.model };
    }
    let text = "";
    let usage: { prompt_tokens?: number; completion_tokens?: number } | undefined;
    let finished = false;
    try {
      for await (const data of readSse(response.body!)) {
        if (data === "[DONE]") {
          finished = true;
          break;
        }
        const event = JSON.parse(data) as { choices?: { delta?: { content?: string } }[]; usage?: typeof usage };
        if (event.usage) usage = event.usage;
        const piece = event.choices?.[0]?.delta?.content;
        if (piece) {
          text += piece;
          await call.onChunk!(piece);
        }
      }
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      throw classifyFetchError(deployment, error);
    }
    if (!finished) throw new ProviderError("network", `deployment ${deployment.name}: the stream stopped before it finished`);
    return { text, bytes: null, contentType: null, usage: usageOf(usage, messages, text), model: deployment.model };
  }

  return {
    async run(deployment, request, call) {
      switch (request.kind) {
        case "TEXT":
          return chat(deployment, request, call);
        case "SPEECH": {
          // PII leaves for the vendor only redacted, as for chat.
          const input = redactText(request.text);
          const body = { model: deployment.model, input, voice: request.voice ?? "alloy", response_format: "wav" };
          const response = await post(deployment, "/audio/speech", JSON.stringify(body), call);
          const bytes = Buffer.from(await response.arrayBuffer());
          const contentType = response.headers.get("content-type")?.split(";")[0] ?? "audio/wav";
          return { text: null, bytes, contentType, usage: { promptTokens: estimateTokens(input), completionTokens: 0 }, model: deployment.model };
        }
        case "IMAGE": {
          const body = { model: deployment.model, prompt: redactText(request.prompt), n: 1, size: `${request.size}x${request.size}`, response_format: "b64_json" };
          const response = await post(deployment, "/images/generations", JSON.stringify(body), call);
          const json = (await readJson(deployment, response)) as { data?: { b64_json?: string }[] };
          const b64 = json.data?.[0]?.b64_json;
          if (!b64) throw new ProviderError("server", `deployment ${deployment.name} sent no image`);
          return { text: null, bytes: Buffer.from(b64, "base64"), contentType: "image/png", usage: { promptTokens: estimateTokens(request.prompt), completionTokens: 0 }, model: deployment.model };
        }
        case "TRANSCRIPTION": {
          if (!call.audio) throw new ProviderError("client", "no audio to transcribe");
          const form = new FormData();
          form.append("model", deployment.model);
          if (request.language) form.append("language", request.language);
          form.append("file", new Blob([call.audio], { type: request.contentType }), `audio.${request.contentType.split("/")[1] ?? "bin"}`);
          const response = await post(deployment, "/audio/transcriptions", form, call, false);
          const json = (await readJson(deployment, response)) as { text?: string };
          if (typeof json.text !== "string") throw new ProviderError("server", `deployment ${deployment.name} sent no transcript`);
          return { text: json.text, bytes: null, contentType: null, usage: { promptTokens: 0, completionTokens: estimateTokens(json.text) }, model: deployment.model };
        }
      }
    },
  };
}

function usageOf(usage: { prompt_tokens?: number; completion_tokens?: number } | undefined, messages: { content: string }[], text: string) {
  return {
    promptTokens: usage?.prompt_tokens ?? estimateTokens(messages.map((m) => m.content).join("\n")),
    completionTokens: usage?.completion_tokens ?? estimateTokens(text),
  };
}

async function readJson(deployment: Deployment, response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch (error) {
    if (isAbort(error)) throw new ProviderError("timeout", `deployment ${deployment.name} timed out`);
    throw new ProviderError("server", `deployment ${deployment.name} sent a body that is not JSON`);
  }
}

const isAbort = (error: unknown) => error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError");

function classifyFetchError(deployment: Deployment, error: unknown): ProviderError {
  if (isAbort(error)) return new ProviderError("timeout", `deployment ${deployment.name} timed out`);
  return new ProviderError("network", `deployment ${deployment.name} could not be reached`);
}
