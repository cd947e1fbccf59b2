import { estimateTokens } from "../domain/prompt";
import { ProviderError } from "./provider-error";
import type { Driver } from "./driver";
import { generateImage } from "../offline/images";
import { chunksOf, narrate } from "../offline/narrator";
import { offlineSpeech } from "../offline/speech";

/** The built-in engines: deterministic narrator, espeak-ng or formant speech, procedural images. */
export function createOfflineDriver(options: { useEspeak: boolean }): Driver {
  return {
    async run(deployment, request, call) {
      switch (request.kind) {
        case "TEXT": {
          const text = narrate(request);
          if (call.onChunk) for (const piece of chunksOf(text)) await call.onChunk(piece);
          return { text, bytes: null, contentType: null, usage: { promptTokens: estimateTokens(request.prompt + (request.context ?? "")), completionTokens: estimateTokens(text) }, model: deployment.model };
        }
        case "SPEECH": {
          const { wav, engine } = await offlineSpeech(request.text, request.voice, { useEspeak: options.useEspeak, timeoutMs: deployment.timeoutMs });
          return { text: null, bytes: wav, contentType: "audio/wav", usage: { promptTokens: estimateTokens(request.text), completionTokens: 0 }, model: engine };
        }
        case "IMAGE":
          return { text: null, bytes: generateImage(request), contentType: "image/png", usage: { promptTokens: estimateTokens(request.prompt), completionTokens: 0 }, model: deployment.model };
        case "TRANSCRIPTION":
          throw new ProviderError("client", "no offline speech-to-text engine is installed");
      }
    },
  };
}
