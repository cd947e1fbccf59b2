import { ENGINE_SAMPLE_RATE, runPocketsphinx, type Pocketsphinx } from "./pocketsphinx";
import { resample } from "./resample";
import { decodeWav, encodeWav } from "./wav";

/** The only type the offline engine reads: it needs PCM, and no decoder for compressed audio ships with the service. */
export const OFFLINE_AUDIO_TYPE = "audio/wav";

export type AudioProblem = { field: "contentType" | "language" | "audioBase64"; message: string };

/**
 * Why the offline speech-to-text engine cannot take this audio, in words for the player who
 * sent it; null when it can. Cheap enough for the subgraph to ask before it queues a job.
 */
export function offlineAudioProblem(contentType: string, language: string | null, audio: Buffer): AudioProblem | null {
  if (contentType !== OFFLINE_AUDIO_TYPE) {
    return { field: "contentType", message: `the offline speech-to-text engine reads ${OFFLINE_AUDIO_TYPE} only, not ${contentType}; a vendor transcription deployment reads other types` };
  }
  // The installed model is US English; any English is worth a try, another language is not.
  if (language && !/^en(-|$)/.test(language)) return { field: "language", message: `the offline speech-to-text engine understands English only, not ${language}` };
  try {
    decodeWav(audio);
  } catch (error) {
    return { field: "audioBase64", message: `the audio is not a WAV file the offline speech-to-text engine can read: ${(error as Error).message}` };
  }
  return null;
}

/** The words in `audio` (a WAV of any rate and channel count), as pocketsphinx hears them. */
export function transcribeOffline(engine: Pocketsphinx, audio: Buffer, options: { timeoutMs: number; signal?: AbortSignal }): Promise<string> {
  const { samples, sampleRate } = decodeWav(audio);
  const wav = encodeWav(resample(samples, sampleRate, ENGINE_SAMPLE_RATE), ENGINE_SAMPLE_RATE);
  return runPocketsphinx(engine, wav, options);
}
