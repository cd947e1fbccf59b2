import { badInput, notFound, type ForwardedIdentity } from "@startales/service-kit";
import type { ContentReader } from "./content-reader";
import { AUDIO_TYPES, type AudioType } from "./input";

/** A player's own recording, or audio an admin or a service stored; other kinds are never speech to transcribe. */
const AUDIO_KINDS: ReadonlySet<string> = new Set(["VOICE", "MEDIA"]);
const isAudioType = (type: string): type is AudioType => (AUDIO_TYPES as readonly string[]).includes(type);

const tooLarge = (maxBytes: number) => badInput(`audioAssetId must be at most ${maxBytes} bytes`, [{ field: "audioAssetId", message: `is larger than ${maxBytes} bytes` }]);
const article = (word: string) => (/^[AEIOU]/i.test(word) ? "an" : "a");

/**
 * The audio of `assetId` as transcribeAudio takes it: asked of content as the caller, so
 * content's visibility rules decide (someone else's PRIVATE recording reads as no asset at
 * all), checked to be audio of a transcribable type within `maxBytes` before any byte is read,
 * and typed as content sniffed it at upload.
 */
export async function audioFromAsset(content: ContentReader, forwarded: ForwardedIdentity, assetId: string, maxBytes: number): Promise<{ bytes: Buffer; contentType: AudioType }> {
  const asset = await content.asset(forwarded, assetId);
  if (!asset) throw notFound("No such audio asset");
  const { kind, mediaType } = asset;
  if (!AUDIO_KINDS.has(kind) || !isAudioType(mediaType)) {
    const message = `is not audio (${article(kind)} ${kind} asset of ${mediaType})`;
    throw badInput(`audioAssetId ${message}`, [{ field: "audioAssetId", message: `must be a VOICE or MEDIA asset of ${AUDIO_TYPES.join(", ")}` }]);
  }
  if (asset.size > maxBytes) throw tooLarge(maxBytes);
  const read = await content.bytes(asset, maxBytes);
  if (read.status === "missing") throw notFound("No such audio asset");
  if (read.status === "too-large") throw tooLarge(maxBytes);
  return { bytes: read.bytes, contentType: mediaType };
}
