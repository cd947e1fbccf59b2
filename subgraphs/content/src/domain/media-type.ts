/**
 * The media type of an upload, read from its first bytes, never taken from the client: a
 * file is served as what it is, so a "picture" that is really HTML cannot run in a browser.
 * Only the types content accepts are recognised. `file-type` knows hundreds, but is published
 * as ES modules only and our services are CommonJS; the handful below are their published
 * signatures (PNG, JFIF/EXIF, RIFF, GIF87a/89a, Ogg, MPEG audio, glTF binary, FLAC, WebM,
 * zip), and JSON.
 */
const SIGNATURES: { type: string; test: (b: Buffer) => boolean }[] = [
  { type: "image/png", test: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { type: "image/jpeg", test: (b) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { type: "image/gif", test: (b) => b.subarray(0, 6).toString("latin1") === "GIF87a" || b.subarray(0, 6).toString("latin1") === "GIF89a" },
  { type: "image/webp", test: (b) => b.subarray(0, 4).toString("latin1") === "RIFF" && b.subarray(8, 12).toString("latin1") === "WEBP" },
  { type: "audio/wav", test: (b) => b.subarray(0, 4).toString("latin1") === "RIFF" && b.subarray(8, 12).toString("latin1") === "WAVE" },
  { type: "audio/ogg", test: (b) => b.subarray(0, 4).toString("latin1") === "OggS" },
  // An ID3v2 tag, or an MPEG audio frame's sync word (11 set bits) with layer III.
  { type: "audio/mpeg", test: (b) => b.subarray(0, 3).toString("latin1") === "ID3" || (b.length >= 2 && b[0] === 0xff && (b[1]! & 0xe6) === 0xe2) },
  { type: "model/gltf-binary", test: (b) => b.subarray(0, 4).toString("latin1") === "glTF" },
];

/** Accepted only where a kind names them: recordings (a browser's MediaRecorder makes WebM) and a whole pack as a zip. */
const OTHER_SIGNATURES: typeof SIGNATURES = [
  { type: "audio/flac", test: (b) => b.subarray(0, 4).toString("latin1") === "fLaC" },
  // An EBML header whose document type is WebM (Matroska's profile for the web).
  { type: "audio/webm", test: (b) => b.subarray(0, 4).equals(Buffer.from([0x1a, 0x45, 0xdf, 0xa3])) && b.subarray(0, 64).includes("webm", 0, "latin1") },
  // A local file header first: an archive with no files (only an end record) is no pack.
  { type: "application/zip", test: (b) => b.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04])) },
];

export const MEDIA_TYPES = SIGNATURES.map((signature) => signature.type);

/** JSON has no signature: it is JSON when it is UTF-8 text that parses as an object or an array (a pack's localisation, its data). */
function isJson(bytes: Buffer): boolean {
  const first = bytes.find((byte) => byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09);
  if (first !== 0x7b && first !== 0x5b) return false;
  try {
    JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    return true;
  } catch {
    return false;
  }
}

/** The type the bytes are, or null when they are none content accepts. */
export function sniffMediaType(bytes: Buffer): string | null {
  return [...SIGNATURES, ...OTHER_SIGNATURES].find((signature) => signature.test(bytes))?.type ?? (isJson(bytes) ? "application/json" : null);
}

export const IMAGE_TYPES: readonly string[] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/** What a content pack may hold: media and JSON (localisation, game data). */
export const PACK_FILE_TYPES: readonly string[] = [...MEDIA_TYPES, "application/json"];

/** Recorded speech, in what phones and browsers record. */
export const VOICE_TYPES: readonly string[] = ["audio/wav", "audio/ogg", "audio/mpeg", "audio/flac", "audio/webm"];

export const ARCHIVE_TYPES: readonly string[] = ["application/zip"];
