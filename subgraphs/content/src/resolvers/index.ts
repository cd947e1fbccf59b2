import { Role, badInput, requireUser, type Viewer } from "@startales/service-kit";
import type { AssetRow, AssetService } from "../domain/asset-service";
import type { AssetUrls } from "../domain/asset-urls";
import type { PackArchiveImporter } from "../domain/pack-archive-import";
import type { PackService } from "../domain/pack-service";
import type { Resolvers } from "../generated/resolvers-types";
import { isId } from "./ids";
import { packResolvers } from "./packs";


/** Who may see an asset: anyone a PUBLIC one, its owner and admins a PRIVATE one. */
const mayRead = (viewer: Viewer, asset: AssetRow) =>
  asset.visibility === "PUBLIC" || (viewer.kind === "user" && (asset.ownerId === viewer.userId || viewer.roles.includes(Role.ADMIN)));

export function createResolvers(deps: { assets: AssetService; packs: PackService; archives: PackArchiveImporter; urls: AssetUrls; quotaBytes: number; maxUploadBytes: number }): Resolvers {
  const { assets, urls } = deps;
  const forPacks = packResolvers(deps);
  const readable = async (viewer: Viewer, id: string) => {
    if (!isId(id)) return null;
    const asset = await assets.byId(id);
    return asset && mayRead(viewer, asset) ? asset : null;
  };
  return {
    ...forPacks,
    Query: {
      ...forPacks.Query,
      asset: (_parent, args, { viewer }) => readable(viewer, args.id),
      myAssets: async (_parent, args, { viewer }) => {
        const user = requireUser(viewer);
        const first = args.first ?? 20;
        if (!Number.isInteger(first) || first < 1 || first > 100) throw badInput("first must be between 1 and 100", [{ field: "first", message: "1 to 100" }]);
        let after: { createdAt: Date; id: string } | undefined;
        if (args.after) {
          const cursor = isId(args.after) ? await assets.byId(args.after) : null;
          if (!cursor || cursor.ownerId !== user.userId) throw badInput("after is not the cursor of one of your pages", [{ field: "after", message: "unknown cursor" }]);
          after = cursor;
        }
        const rows = await assets.ofOwner(user.userId, first + 1, after);
        const page = rows.slice(0, first);
        return { assets: page, nextCursor: rows.length > first ? page.at(-1)!.id : null };
      },
      myContentQuota: async (_parent, _args, { viewer }) => {
        const user = requireUser(viewer);
        return { usedBytes: await assets.usedBytes(user.userId), limitBytes: deps.quotaBytes, maxUploadBytes: deps.maxUploadBytes };
      },
    },
    Mutation: {
      ...forPacks.Mutation,
      deleteAsset: (_parent, args, { viewer }) => {
        if (!isId(args.id)) throw badInput("id is not an asset id", [{ field: "id", message: "not a UUID" }]);
        return assets.delete(viewer, args.id);
      },
    },
    Asset: {
      __resolveReference: (reference, { viewer }) => readable(viewer, reference.id),
      url: (asset) => urls.of(asset),
      owner: (asset) => (asset.ownerId ? { id: asset.ownerId } : null),
    },
  };
}
