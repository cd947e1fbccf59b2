import { estimateTokens } from "../domain/prompt";
import { ProviderError } from "./provider-error";
import type { Driver } from "./driver";
import { generateImage } from "../offline/images";
import { chunksOf, narrate } from "../offline/narrator";
import { EngineFailed, type Pocketsphinx } from "../offline/pocketsphinx";
import { createSlots } from "../offline/slots";
import { offlineSpeech } from "../offline/speech";
import { offlineAudioProblem, transcribeOffline } from "../offline/transcription";

/**
 * The built-in engines: deterministic narrator, espeak-ng or formant speech, procedural
 * images, and pocketsphinx speech-to-text when it is installed (`stt`, found at start), at
 * most `sttConcurrency` engines at once.
 */
export function createOfflineDriver(options: { useEspeak: boolean; stt: Pocketsphinx | null; sttConcurrency: number }): Driver {
  const sttSlot = createSlots(options.sttConcurrency);
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
        case "TRANSCRIPTION": {
          const { stt } = options;
          const { audio } = call;
          if (!stt) throw new ProviderError("client", "no offline speech-to-text engine is installed");
          if (!audio) throw new ProviderError("client", "no audio to transcribe");
          const problem = offlineAudioProblem(request.contentType, request.language, audio);
          if (problem) throw new ProviderError("client", problem.message);
          let text: string;
          try {
            // The timeout starts with the engine: waiting for a slot says nothing about its health.
            text = await sttSlot(() => transcribeOffline(stt, audio, { timeoutMs: deployment.timeoutMs, signal: call.signal }));
          } catch (error) {
            if (error instanceof EngineFailed) throw new ProviderError(error.timedOut ? "timeout" : "server", `deployment ${deployment.name}: ${error.message}`);
            throw error;
          }
          return { text, bytes: null, contentType: null, usage: { promptTokens: 0, completionTokens: estimateTokens(text) }, model: deployment.model };
        }
      }
    },
  };
}
