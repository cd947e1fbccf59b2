import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { TOPIC_FAMILIES, eventEnvelopeSchema } from "../../packages/contracts/src";
import { renderCatalogue, withCatalogue } from "../../scripts/event-catalogue";
import { EVENT_TYPES } from "../../subgraphs/simulation/src/engine/events";

/**
 * The docs (docs/*.md) against the code: every relative link resolves to a file of the
 * repository (and a heading, for `#anchors` into Markdown), and docs/events.md holds the
 * catalogue the event contracts generate. Reads files only: no database, no Redis.
 */

const root = resolve(__dirname, "..", "..");
const read = (path: string) => readFileSync(join(root, path), "utf8");
const docsDir = join(root, "docs");
const docs = readdirSync(docsDir)
  .filter((name) => name.endsWith(".md"))
  .map((name) => join(docsDir, name));

/** Markdown without fenced code blocks: what is in them is neither a heading nor a link. */
const withoutFences = (markdown: string) => markdown.replace(/^ {0,3}(```|~~~)[^\n]*\n[\s\S]*?^ {0,3}\1[^\n]*$/gm, "");

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) =>
  heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "")
    .replace(/ /g, "-");

const anchorCache = new Map<string, Set<string>>();
function anchorsOf(file: string): Set<string> {
  let anchors = anchorCache.get(file);
  if (!anchors) {
    anchors = new Set();
    const seen = new Map<string, number>();
    for (const [, text] of withoutFences(readFileSync(file, "utf8")).matchAll(/^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
      const base = slug(text!);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    anchorCache.set(file, anchors);
  }
  return anchors;
}

/** Inline links and reference definitions, outside code (fences and `spans`). */
function linkTargets(markdown: string): string[] {
  const text = withoutFences(markdown).replace(/(`+)[\s\S]*?\1/g, "");
  const inline = [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const references = [...text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!);
  return [...inline, ...references];
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

describe("docs/*.md links", () => {
  it("has the documents", () => {
    expect(docs.map((file) => relative(root, file).split(sep).join("/")).sort()).toEqual(
      expect.arrayContaining(["docs/architecture.md", "docs/events.md", "docs/runbooks.md"]),
    );
  });

  it.each(docs.map((file) => [relative(root, file), file]))("%s: every relative link points at something in the repository", (_name, file) => {
    const broken: string[] = [];
    const targets = linkTargets(readFileSync(file, "utf8")).filter((target) => !isExternal(target));
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) {
      const [rawPath = "", fragment] = target.split("#", 2);
      const path = decodeURIComponent(rawPath.split("?")[0]!);
      const resolved = path === "" ? file : resolve(dirname(file), path);
      if (resolved !== root && !resolved.startsWith(root + sep)) {
        broken.push(`${target}: outside the repository`);
        continue;
      }
      if (!existsSync(resolved)) {
        broken.push(`${target}: no such file`);
        continue;
      }
      if (fragment && statSync(resolved).isFile() && resolved.endsWith(".md") && !anchorsOf(resolved).has(fragment)) {
        broken.push(`${target}: no heading #${fragment} in ${relative(root, resolved)}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------
// Events: the catalogue is generated from the contracts; producers go through them.

/** The modules that write events, each through the contracts (eventData / checkEventData). */
const PRODUCERS = [
  "subgraphs/identity/src/domain/account-events.ts",
  "subgraphs/identity/src/domain/account-mail.ts",
  "subgraphs/campaign/src/domain/campaign-service.ts",
  "subgraphs/simulation/src/domain/world-store.ts",
  "subgraphs/simulation/src/domain/tick-runner.ts",
  "subgraphs/realtime/src/domain/chat-service.ts",
  "subgraphs/realtime/src/domain/presence-service.ts",
  "subgraphs/notification/src/domain/notification-writer.ts",
  "subgraphs/provider/src/domain/job-events.ts",
  "gateway/src/operation-stats.ts",
  "subgraphs/provider/src/domain/job-usage.ts",
  "subgraphs/realtime/src/domain/session-events.ts",
  "subgraphs/content/src/domain/asset-service.ts",
  "subgraphs/content/src/domain/pack-service.ts",
];

/** Modules that write to Redis streams or channels without producing an event of their own. */
const NOT_EVENT_PRODUCERS: Record<string, string> = {
  "subgraphs/provider/src/domain/job-rows.ts": "inserts the usage records job-usage.ts built through the contracts, in the statement that bills the jobs",
  "packages/service-kit/src/outbox-relay.ts": "the relay and publishEnvelope: publishes what producers wrote",
  "packages/service-kit/src/outbox-rebuild.ts": "puts published events back after Redis lost its data",
  "packages/service-kit/src/stream-consumer.ts": "copies failed or contract-breaking events to the dead-letter stream",
  "subgraphs/identity/src/revocation-announcers.ts": "publishes revoked API keys' hashes and deleted accounts' ids (not envelopes)",
  "packages/service-kit/src/deleted-accounts.ts": "records and publishes deleted accounts' ids for the gateways (not an envelope)",
  "packages/service-kit/src/revoked-sessions.ts": "records and publishes users' ended sign-ins (an id and a time) for the gateways (not an envelope)",
  "subgraphs/content/src/http/redis-locker.ts": "asks the replica holding a resumable upload's lock to release it (a lock's id, not an envelope)",
  "packages/service-kit/src/prisma-outbox-source.ts": "outboxWaker publishes a wake for a service's outbox relays (no data, not an envelope)",
};

/** Writing to the outbox or to Redis streams/channels: what makes a module a producer. */
const PRODUCER_MARKER = /outboxEvent\.create(?:Many)?\(|INSERT INTO outbox_events|\bpublishEnvelope\(|\bpublishOutboxEnvelope\(|\.xadd\(|\.publish\(|['"]XADD['"]/;
/** Building an event's data through its contract. */
const CONTRACT_MARKER = /\b(?:eventData|checkEventData)\(/;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (!["generated", "dist", "node_modules"].includes(entry.name)) out.push(...sourceFiles(path));
    } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

const appSources = () => [
  ...sourceFiles("gateway/src"),
  ...readdirSync(join(root, "packages")).flatMap((name) => (existsSync(join(root, "packages", name, "src")) ? sourceFiles(`packages/${name}/src`) : [])),
  ...readdirSync(join(root, "subgraphs")).flatMap((name) => (existsSync(join(root, "subgraphs", name, "src")) ? sourceFiles(`subgraphs/${name}/src`) : [])),
];

describe("docs/events.md", () => {
  const catalogue = read("docs/events.md");
  const named = (type: string) => catalogue.includes(`\`${type}\``);

  it("knows every module that produces events, and each builds its events through the contracts", () => {
    const producing = appSources().filter((path) => PRODUCER_MARKER.test(read(path)));
    const unknown = producing.filter((path) => !PRODUCERS.includes(path) && !(path in NOT_EVENT_PRODUCERS));
    expect(unknown).toEqual([]);
    // And the modules named here still produce (a rename must not leave them unchecked).
    expect(PRODUCERS.filter((path) => !producing.includes(path))).toEqual([]);
    expect(PRODUCERS.filter((path) => !CONTRACT_MARKER.test(read(path)))).toEqual([]);
  });

  it("holds the catalogue the contracts generate (npm run docs:events)", () => {
    expect(catalogue).toBe(withCatalogue(catalogue, renderCatalogue()));
    for (const family of Object.values(TOPIC_FAMILIES)) for (const type of Object.keys(family.events)) expect(named(type)).toBe(true);
  });

  it("names every event the simulation engine emits (published or kept in the tick log)", () => {
    expect(EVENT_TYPES.length).toBeGreaterThan(0);
    expect(EVENT_TYPES.filter((type) => !named(type))).toEqual([]);
  });

  it("describes the envelope's every field", () => {
    const fields = Object.keys(eventEnvelopeSchema.shape);
    expect(fields.length).toBeGreaterThan(5);
    expect(fields.filter((field) => !named(field))).toEqual([]);
  });
});

describe("the repository stands alone", () => {
  /** Where code and configuration mention documents: sources, schemas, scripts, deploy files. */
  const places = [
    ...appSources(),
    ...sourceFiles("scripts"),
    ...sourceFiles("bench"),
    ...readdirSync(join(root, "subgraphs")).flatMap((name) =>
      [`subgraphs/${name}/schema.graphql`, `subgraphs/${name}/prisma/schema.prisma`].filter((path) => existsSync(join(root, path))),
    ),
    "Dockerfile",
    "docker-compose.yml",
    "prisma/migrate-all.mjs",
  ];

  it("points only at documents it holds (docs/…, README.md, a package's README), never at one outside", () => {
    const missing: string[] = [];
    for (const path of places) {
      for (const match of read(path).matchAll(/(?<![\w/.:-])([\w./-]+\.md)\b/g)) {
        const mentioned = match[1]!;
        const candidates = [join(root, mentioned), join(root, dirname(path), mentioned)];
        if (!candidates.some((candidate) => existsSync(candidate))) missing.push(`${path}: ${mentioned}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
