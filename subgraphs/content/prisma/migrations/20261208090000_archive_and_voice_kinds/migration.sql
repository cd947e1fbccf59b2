-- A whole content pack as one zip (unpacked into a draft), and a player's recorded speech (for transcription).
ALTER TYPE "AssetKind" ADD VALUE 'PACK_ARCHIVE';
ALTER TYPE "AssetKind" ADD VALUE 'VOICE';
