import { createHash } from "node:crypto";
import { ErrorCode, Role, badInput, forbidden, notFound, requireUser, type CampaignAccess, type Viewer } from "@startales/service-kit";
import type { ContentContext } from "../context";
import type { AssetUrls } from "../domain/asset-urls";
import type { AssetService } from "../domain/asset-service";
import type { PackArchiveImporter } from "../domain/pack-archive-import";
import type { PackFileRow, PackService } from "../domain/pack-service";
import type { Resolvers } from "../generated/resolvers-types";
import { checkId, isId } from "./ids";


/** Reads of a campaign's packs: its members, admins and analysts, as campaign itself decides. */
async function readable(context: ContentContext, campaignId: string): Promise<Extract<CampaignAccess, { id: string }>> {
  checkId("campaignId", campaignId);
  const access = await context.loaders.campaignAccess.load(campaignId);
  if (access.kind === "missing") throw notFound("No such campaign");
  if (access.kind === "forbidden") throw forbidden("Only the campaign's members read its content");
  return access;
}

/** Changes to a campaign's packs: its game master, or an admin. */
async function managed(context: ContentContext, campaignId: string) {
  const access = await readable(context, campaignId);
  const user = requireUser(context.viewer);
  const admin = user.roles.includes(Role.ADMIN);
  if (!(access.kind === "member" && access.role === "GAME_MASTER") && !admin) throw forbidden("Only the campaign's game master enables and disables its packs");
  return user;
}

/** The manifest's hash: one `path sha256 size` line per file, sorted by path (the order files() returns). */
const manifestSha256 = (files: PackFileRow[]) => createHash("sha256").update(files.map((file) => `${file.path} ${file.sha256} ${file.size}\n`).join("")).digest("hex");

export function packResolvers(deps: { packs: PackService; archives: PackArchiveImporter; assets: AssetService; urls: AssetUrls }): Resolvers {
  const { packs, urls } = deps;
  const visibleVersion = async (viewer: Viewer, id: string) => (isId(id) ? packs.visible(viewer, await packs.versionById(id)) : null);
  const campaignContent = async (campaignId: string) => ({ campaignId, packs: await packs.enabledIn(campaignId) });
  return {
    Query: {
      contentPack: (_parent, args) => packs.pack(args.name),
      contentPacks: (_parent, args) => {
        const first = args.first ?? 20;
        if (!Number.isInteger(first) || first < 1 || first > 100) throw badInput("first must be between 1 and 100", [{ field: "first", message: "1 to 100" }]);
        return packs.packs(first, args.after ?? undefined);
      },
      contentPackDiff: (_parent, args, { viewer }) => packs.diff(viewer, args.pack, args.from, args.to),
      campaignContent: async (_parent, args, context) => {
        await readable(context, args.campaignId);
        return campaignContent(args.campaignId);
      },
    },
    Mutation: {
      createContentPack: (_parent, args, { viewer }) => packs.createPack(viewer, args.input),
      createPackVersion: (_parent, args, { viewer }) => packs.createVersion(viewer, args.input),
      setPackFile: (_parent, args, { viewer }) => {
        checkId("versionId", args.versionId);
        checkId("assetId", args.assetId);
        return packs.setFile(viewer, args);
      },
      removePackFile: (_parent, args, { viewer }) => {
        checkId("versionId", args.versionId);
        return packs.removeFile(viewer, args);
      },
      importPackArchive: async (_parent, args, { viewer }) => {
        checkId("versionId", args.versionId);
        checkId("assetId", args.assetId);
        const keepArchive = args.keepArchive ?? false;
        const imported = await deps.archives.importArchive(viewer, { versionId: args.versionId, assetId: args.assetId, mode: args.mode ?? "REPLACE", keepArchive });
        // Its files are the draft's now; the zip would only count against the quota. Gone already (deleted meanwhile) is as good.
        if (!keepArchive) await deps.assets.delete(viewer, args.assetId).catch((error: unknown) => {
          if ((error as { extensions?: { code?: string } }).extensions?.code !== ErrorCode.NOT_FOUND) throw error;
        });
        return imported;
      },
      publishPackVersion: (_parent, args, { viewer }) => {
        checkId("versionId", args.versionId);
        return packs.publishVersion(viewer, args.versionId);
      },
      deprecatePackVersion: (_parent, args, { viewer }) => {
        checkId("versionId", args.versionId);
        return packs.deprecate(viewer, args.versionId);
      },
      enableContentPack: async (_parent, args, context) => {
        const gameMaster = await managed(context, args.campaignId);
        await packs.enable(gameMaster, args.campaignId, args.pack, args.version);
        return campaignContent(args.campaignId);
      },
      disableContentPack: async (_parent, args, context) => {
        await managed(context, args.campaignId);
        await packs.disable(args.campaignId, args.pack);
        return campaignContent(args.campaignId);
      },
    },
    Campaign: {
      __resolveReference: (reference) => ({ id: reference.id }),
      contentPacks: async (campaign, _args, context) => {
        await readable(context, campaign.id);
        return packs.enabledIn(campaign.id);
      },
    },
    ContentPack: {
      __resolveReference: (reference) => packs.packById(reference.id),
      owner: (pack) => ({ id: pack.ownerId }),
      versions: (pack, _args, { viewer }) => packs.versionsOf(viewer, pack.id),
      latest: async (pack, _args, { viewer }) => (await packs.versionsOf(viewer, pack.id)).find((version) => version.status === "PUBLISHED") ?? null,
    },
    PackVersion: {
      __resolveReference: (reference, { viewer }) => visibleVersion(viewer, reference.id),
      pack: async (version) => (await packs.packById(version.packId))!,
      files: (version) => packs.files(version.id),
      dependencies: async (version) => (await packs.dependenciesOf(version.id)).map((d) => ({ pack: d.packName, range: d.range })),
      manifestSha256: async (version) => manifestSha256(await packs.files(version.id)),
      totalBytes: async (version) => (await packs.files(version.id)).reduce((sum, file) => sum + file.size, 0),
    },
    PackFile: {
      url: (file) => urls.of({ sha256: file.sha256, visibility: "PUBLIC" }),
    },
  };
}
