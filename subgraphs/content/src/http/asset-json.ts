import type { AssetRow } from "../domain/asset-service";
import type { AssetUrls } from "../domain/asset-urls";

/** An asset as the upload route answers it: the fields GraphQL's Asset has, by the same names. */
export const publicAsset = (asset: AssetRow, urls: AssetUrls) => ({
  id: asset.id,
  kind: asset.kind,
  visibility: asset.visibility,
  name: asset.name,
  sha256: asset.sha256,
  size: asset.size,
  mediaType: asset.mediaType,
  url: urls.of(asset),
  createdAt: asset.createdAt.toISOString(),
});
