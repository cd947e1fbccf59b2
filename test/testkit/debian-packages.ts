import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

/** A program the tests need from Debian: where it may be, and the package that has it. */
export type DebianTool = { package: string; paths: string[] };

export const CHROMIUM: DebianTool = { package: "chromium", paths: ["/usr/bin/chromium", "/usr/bin/chromium-browser"] };
export const JQ: DebianTool = { package: "jq", paths: ["/usr/bin/jq"] };
/** `docker-compose` 1.29: validates docker-compose.yml (`config -q`) with no Docker engine. */
export const DOCKER_COMPOSE: DebianTool = { package: "docker-compose", paths: ["/usr/bin/docker-compose"] };
/** `prometheus`; its `promtool` is next to it, at /usr/bin/promtool. */
export const PROMETHEUS: DebianTool = { package: "prometheus", paths: ["/usr/bin/prometheus"] };
/** `prometheus-alertmanager`, for its `amtool`. */
export const ALERTMANAGER: DebianTool = { package: "prometheus-alertmanager", paths: ["/usr/bin/amtool"] };
/** `clickhouse-server`: bookworm's is 18.16 (what the analytics ClickHouse engine is written for: test/integration/clickhouse-engine.test.ts). */
/** `postgresql-15-partman`: pg_partman for the PostgreSQL 15 server the tests use (ANALYTICS_PARTITIONS=pg_partman). */
export const PG_PARTMAN: DebianTool = { package: "postgresql-15-partman", paths: ["/usr/share/postgresql/15/extension/pg_partman.control"] };
export const CLICKHOUSE: DebianTool = { package: "clickhouse-server", paths: ["/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"] };
/** `pocketsphinx`: bookworm's is 0.8+5prealpha, whose CLI is `pocketsphinx_continuous -infile` (the provider's offline speech-to-text). */
export const POCKETSPHINX: DebianTool = { package: "pocketsphinx", paths: ["/usr/bin/pocketsphinx_continuous"] };
/** `pocketsphinx-en-us`: the US English model pocketsphinx is run with (not a dependency of `pocketsphinx`). */
export const POCKETSPHINX_EN_US: DebianTool = { package: "pocketsphinx-en-us", paths: ["/usr/share/pocketsphinx/model/en-us/en-us.lm.bin"] };
/** `espeak-ng`: the provider's offline speech when installed, and the voice the speech-to-text tests transcribe. */
export const ESPEAK_NG: DebianTool = { package: "espeak-ng", paths: ["/usr/bin/espeak-ng"] };

const where = (tool: DebianTool) => tool.paths.find((path) => existsSync(path));

const aptInstall = (packages: string[]) =>
  execFileSync("apt-get", ["install", "-y", "--no-install-recommends", ...packages], { stdio: "ignore", timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });

/**
 * Finds each tool, or installs the missing ones with apt-get (our machines run the tests as
 * root; the package lists may need an update first). A tool still missing afterwards is an
 * error naming its package: a test that needs it fails, it is never skipped.
 */
export function ensureDebianTools(tools: DebianTool[]): void {
  const missing = tools.filter((tool) => !where(tool));
  if (missing.length === 0) return;
  const packages = missing.map((tool) => tool.package);
  try {
    aptInstall(packages);
  } catch {
    try {
      execFileSync("apt-get", ["update"], { stdio: "ignore", timeout: 600_000 });
      aptInstall(packages);
    } catch {
      // Reported below, by package.
    }
  }
  const still = missing.filter((tool) => !where(tool));
  if (still.length) throw new Error(`the tests need Debian's ${still.map((t) => `\`${t.package}\``).join(", ")}: apt-get install ${still.map((t) => t.package).join(" ")}`);
}

/** The path of a tool, installing it first if needed. */
export function debianTool(tool: DebianTool): string {
  ensureDebianTools([tool]);
  return where(tool)!;
}
