import { Role, forbidden, requireWriter, type SignedInViewer, type Viewer } from "@startales/service-kit";
import { z } from "zod";
import type { AssetKind, AssetVisibility } from "../generated/prisma/enums";
import { ARCHIVE_TYPES, IMAGE_TYPES, MEDIA_TYPES, PACK_FILE_TYPES, VOICE_TYPES } from "./media-type";

/**
 * Who may upload what: every player their own avatar (a public picture), their recorded speech
 * (to transcribe) and the files (or a whole zip) of the content packs they make (mods: which of them a campaign uses is its game master's choice);
 * admins and services (the provider's generated speech and images) media of any accepted type. A service's media belongs to no user, so it counts
 * against no one's quota and no account's erasure removes it.
 */
export type Uploader = { viewer: SignedInViewer; ownerId: string | null; quotaApplies: boolean };

const ACCEPTED: Record<AssetKind, readonly string[]> = { AVATAR: IMAGE_TYPES, MEDIA: MEDIA_TYPES, PACK_FILE: PACK_FILE_TYPES, PACK_ARCHIVE: ARCHIVE_TYPES, VOICE: VOICE_TYPES };
// An archive is raw material for a pack (its files are served once published), and a recording is personal.
const DEFAULT_VISIBILITY: Record<AssetKind, AssetVisibility> = { AVATAR: "PUBLIC", MEDIA: "PUBLIC", PACK_FILE: "PUBLIC", PACK_ARCHIVE: "PRIVATE", VOICE: "PRIVATE" };

export function uploaderFor(viewer: Viewer, kind: AssetKind): Uploader {
  const writer = requireWriter(viewer);
  const service = writer.roles.includes(Role.SERVICE);
  const admin = writer.roles.includes(Role.ADMIN);
  if (kind === "MEDIA" && !service && !admin) throw forbidden("Only admins and services upload MEDIA; players upload their AVATAR");
  return { viewer: writer, ownerId: kind === "MEDIA" && service ? null : writer.userId, quotaApplies: !service && !admin };
}

export const acceptedTypes = (kind: AssetKind): readonly string[] => ACCEPTED[kind];
export const defaultVisibility = (kind: AssetKind): AssetVisibility => DEFAULT_VISIBILITY[kind];

/** What a client says of a file it uploads, in one request's query or a resumable upload's metadata: the same rules for both. */
export const uploadFields = {
  kind: z.enum(["AVATAR", "MEDIA", "PACK_FILE", "PACK_ARCHIVE", "VOICE"]).default("AVATAR"),
  visibility: z.enum(["PUBLIC", "PRIVATE"]).optional(),
  // A display name only: no path separators or control characters survive into a header later.
  name: z.string().min(1).max(200).regex(/^[^/\\\p{Cc}]+$/u, "must not hold slashes or control characters").optional(),
};
