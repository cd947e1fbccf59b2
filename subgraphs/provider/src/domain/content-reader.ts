import { createHash } from "node:crypto";
import { forwardedGraphQL, operationText, serviceUnavailable, type ForwardedIdentity, type Logger } from "@startales/service-kit";
import { ProviderAudioAssetDocument, type ProviderAudioAssetQuery, type ProviderAudioAssetQueryVariables } from "../generated/content-operations";

/** What content shows the caller of an asset (src/operations/content/audio-asset.graphql). */
export type CallerAsset = NonNullable<ProviderAudioAssetQuery["asset"]>;

/** The bytes, or why there are none: gone since content was asked, or more than the caller may send. */
export type AssetBytes = { status: "read"; bytes: Buffer } | { status: "missing" } | { status: "too-large" };

const AUDIO_ASSET = operationText(ProviderAudioAssetDocument);
const BLOB_KEY = /^[0-9a-f]{64}$/;
// Content's outages are short (a restart, a database blip): worth a retry soon.
const RETRY_AFTER_SECONDS = 5;

/**
 * The provider subgraph's reads from the content subgraph, for a caller: the asset is asked of
 * content's GraphQL with the caller's signed identity forwarded as the gateway sent it (content
 * applies its own visibility rules, and the provider holds no privilege of its own there), and
 * its bytes are fetched from content's own port (CONTENT_URL), with the signed query of the
 * asset's URL for a PRIVATE one: content signs the hash and the expiry, not the host, so the
 * link made for the gateway's origin works on content's. Content down, timing out or failing
 * is SERVICE_UNAVAILABLE.
 */
export function createContentReader(options: { url: string; timeoutMs: number; logger: Logger }) {
  const origin = new URL(options.url).origin;
  const { logger } = options;
  const unavailable = () => serviceUnavailable("The content service is unavailable; try again shortly", RETRY_AFTER_SECONDS);
  const ask = forwardedGraphQL({ url: `${origin}/graphql`, timeoutMs: options.timeoutMs, logger, subgraph: "content", unavailable });

  return {
    /** The asset as content shows it to the caller; null when it shows them none (not theirs, or no such asset). */
    async asset(forwarded: ForwardedIdentity, id: string): Promise<CallerAsset | null> {
      const variables: ProviderAudioAssetQueryVariables = { id };
      const result = await ask(forwarded, AUDIO_ASSET, variables);
      if (result.errors?.length || !result.data) {
        logger.warn({ codes: result.errors?.map((e) => e.extensions?.code), errors: result.errors?.map((e) => e.message) }, "content could not answer an asset");
        throw unavailable();
      }
      return result.data.asset;
    },

    /**
     * The asset's bytes, read until `maxBytes` and no further (content may hold files far larger
     * than a transcription takes), and checked against its SHA-256.
     */
    async bytes(asset: Pick<CallerAsset, "sha256" | "url">, maxBytes: number): Promise<AssetBytes> {
      if (!BLOB_KEY.test(asset.sha256)) {
        logger.error({ sha256: asset.sha256 }, "content named an asset's bytes by something that is no SHA-256");
        throw unavailable();
      }
      let query = "";
      try {
        query = new URL(asset.url).search;
      } catch {
        /* a public asset's bytes need no query */
      }
      const signal = AbortSignal.timeout(options.timeoutMs);
      let res: Response;
      try {
        res = await fetch(`${origin}/content/${asset.sha256}${query}`, { redirect: "error", signal });
      } catch (error) {
        logger.warn({ err: error, sha256: asset.sha256 }, "content unreachable to read an asset's bytes");
        throw unavailable();
      }
      if (res.status === 404) {
        await res.body?.cancel();
        return { status: "missing" };
      }
      if (res.status !== 200 || !res.body) {
        // 403 would be a link content made and then refused: replicas signing with different secrets.
        logger.warn({ status: res.status, sha256: asset.sha256 }, "content did not serve an asset's bytes");
        await res.body?.cancel();
        throw unavailable();
      }
      const declared = Number(res.headers.get("content-length"));
      if (Number.isFinite(declared) && declared > maxBytes) {
        await res.body.cancel();
        return { status: "too-large" };
      }
      const parts: Buffer[] = [];
      let size = 0;
      try {
        for await (const part of res.body) {
          size += part.byteLength;
          // Leaving the loop cancels the stream: nothing more is read.
          if (size > maxBytes) return { status: "too-large" };
          parts.push(Buffer.from(part));
        }
      } catch (error) {
        logger.warn({ err: error, sha256: asset.sha256 }, "content's answer with an asset's bytes broke off");
        throw unavailable();
      }
      const bytes = Buffer.concat(parts);
      if (createHash("sha256").update(bytes).digest("hex") !== asset.sha256) {
        logger.error({ sha256: asset.sha256, size }, "content served bytes of another SHA-256 than the asset's");
        throw unavailable();
      }
      return { status: "read", bytes };
    },
  };
}

export type ContentReader = ReturnType<typeof createContentReader>;
