import { rm } from "node:fs/promises";
import type { Logger, SubgraphApp } from "@startales/service-kit";
import { createContentApp } from "../../subgraphs/content/src/app";
import { contentTestConfig } from "./config";
import { captureLogs } from "./logs";
import { unusedPort } from "./ports";
import { untilReady } from "./ready";

export type ContentHarness = {
  /** Its origin: where the provider stores (CONTENT_URL) and, without a gateway, where `/content/<sha256>` is fetched. */
  url: string;
  /** Its filesystem driver's directory (removed by stop()). */
  dir: string;
  logs: ReturnType<typeof captureLogs>;
  /** Stops the app: an outage (connections refused) until start(). */
  down(): Promise<void>;
  /** Starts it again on the same port, over the same bytes and database. */
  up(): Promise<void>;
  stop(): Promise<void>;
};

/**
 * The content subgraph on a port of its own (below the ephemeral range, so it can be taken
 * down and brought back on it), its bytes in a temporary directory, asking campaign at
 * `campaignUrl` (no campaign by default: only packs need one). Its asset URLs name
 * `publicBaseUrl`, by default its own origin (where no gateway runs).
 */
export async function startContent(options: { campaignUrl?: string; publicBaseUrl?: string; env?: Record<string, string> } = {}): Promise<ContentHarness> {
  const port = await unusedPort();
  const url = `http://127.0.0.1:${port}`;
  const config = contentTestConfig(options.campaignUrl ?? "http://127.0.0.1:9", options.publicBaseUrl ?? url, { PORT: String(port), ...options.env });
  const logs = captureLogs("content", "warn");
  let app: SubgraphApp | null = null;
  const up = async () => {
    if (app) return;
    app = createContentApp(config, logs.logger as Logger);
    await app.listen();
    await untilReady(url);
  };
  const down = async () => {
    const running = app;
    app = null;
    await running?.stop();
  };
  await up();
  return {
    url,
    dir: config.CONTENT_DIR,
    logs,
    up,
    down,
    async stop() {
      await down();
      if (!options.env?.CONTENT_DIR) await rm(config.CONTENT_DIR, { recursive: true, force: true });
    },
  };
}
