import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { TRANSITIONS } from "../../subgraphs/campaign/src/domain/lifecycle";
import { EVENT_TYPES } from "../../subgraphs/simulation/src/engine/events";
import { NOTIFICATION_REQUESTED } from "../../packages/service-kit/src/notification-requests";

/**
 * The docs (docs/*.md) against the code: every relative link resolves to a file of the
 * repository (and a heading, for `#anchors` into Markdown), and every event type a producer
 * emits is named in docs/events.md. Reads files only: no database, no Redis.
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
// Event types: collected from the producers' code.

/** Every match of `pattern` in `source`, failing loudly when there is none (the code moved). */
function matchesIn(file: string, source: string, pattern: RegExp): RegExpMatchArray[] {
  const found = [...source.matchAll(pattern)];
  if (found.length === 0) throw new Error(`${file}: ${pattern} found nothing; the producer changed, update test/unit/docs.test.ts`);
  return found;
}

const stringLiterals = (text: string) => [...text.matchAll(/["']([A-Z][A-Z0-9_]*)["']/g)].map((m) => m[1]!);

/** A type argument: a string literal, or a name the producer module defines. */
function resolveType(file: string, expression: string, names: Record<string, readonly string[]>): readonly string[] {
  const literal = /^["']([A-Z][A-Z0-9_]*)["']$/.exec(expression.trim());
  if (literal) return [literal[1]!];
  const known = names[expression.trim()];
  if (!known) throw new Error(`${file}: cannot tell which event type \`${expression.trim()}\` is; teach test/unit/docs.test.ts`);
  return known;
}

/** Per producer module, the event types it emits. */
const PRODUCERS: Record<string, (file: string, source: string) => readonly string[]> = {
  // CAMPAIGN_CREATED, PLAYER_* literally; lifecycle changes as `rule.event` (TRANSITIONS); notification requests.
  "subgraphs/campaign/src/domain/campaign-service.ts": (file, source) => {
    const lifecycle = Object.values(TRANSITIONS).map((rule) => rule.event);
    const names = { "rule.event": lifecycle, NOTIFICATION_REQUESTED: [NOTIFICATION_REQUESTED] };
    return [
      ...matchesIn(file, source, /\brecordEvent\(tx,\s*\w+,\s*([^,]+),/g).flatMap((m) => resolveType(file, m[1]!, names)),
      ...matchesIn(file, source, /\btype:\s*(NOTIFICATION_REQUESTED)\b/g).flatMap((m) => resolveType(file, m[1]!, names)),
    ];
  },
  // WORLD_CREATED; each tick's published subset (PUBLISHED_EVENT_TYPES), written as `type: e.type`.
  "subgraphs/simulation/src/domain/world-store.ts": (file, source) => {
    const [published] = matchesIn(file, source, /PUBLISHED_EVENT_TYPES[^=]*=\s*new Set\(\[([\s\S]*?)\]\)/g);
    const publishedTypes = stringLiterals(published![1]!);
    if (publishedTypes.length === 0) throw new Error(`${file}: PUBLISHED_EVENT_TYPES lists no type`);
    const names = { "e.type": publishedTypes };
    return [
      ...matchesIn(file, source, /\brecordCampaignEvent\(tx,\s*[^,]+,\s*[^,]+,\s*([^,]+),/g).flatMap((m) => resolveType(file, m[1]!, names)),
      ...matchesIn(file, source, /\btype:\s*(e\.type)\b/g).flatMap((m) => resolveType(file, m[1]!, names)),
    ];
  },
  // TICK_CONSERVATION_FAILED.
  "subgraphs/simulation/src/domain/tick-runner.ts": (file, source) =>
    matchesIn(file, source, /outboxEvent\.create\(\{[\s\S]*?\btype:\s*([^,\n]+),/g).flatMap((m) => resolveType(file, m[1]!, {})),
  // MESSAGE_* through the MessageEvent constants.
  "subgraphs/realtime/src/domain/chat-service.ts": (file, source) => {
    const [object] = matchesIn(file, source, /export const MessageEvent = \{([^}]*)\}/g);
    const constants = Object.fromEntries([...object![1]!.matchAll(/(\w+):\s*"([A-Z_]+)"/g)].map((m) => [`MessageEvent.${m[1]}`, [m[2]!]]));
    return matchesIn(file, source, /\brecordEvent\(tx,\s*\w+,\s*([^,]+),/g).flatMap((m) => resolveType(file, m[1]!, constants));
  },
  // PRESENCE_CHANGED.
  "subgraphs/realtime/src/domain/presence-service.ts": (file, source) => {
    const constants = Object.fromEntries(matchesIn(file, source, /export const (\w+) = "([A-Z_]+)"/g).map((m) => [m[1]!, [m[2]!]]));
    return matchesIn(file, source, /\btype:\s*([^,\n]+),/g).flatMap((m) => resolveType(file, m[1]!, constants));
  },
  // NOTIFICATION_ADDED, the third column of the SQL that writes the outbox rows.
  "subgraphs/notification/src/domain/notification-writer.ts": (file, source) =>
    matchesIn(file, source, /INSERT INTO outbox_events \(id, topic, type\b[^)]*\)\s*SELECT\s+[^,]+,\s*[^,]+,\s*'([A-Z_]+)'/g).map((m) => m[1]!),
  // JOB_QUEUED and TEXT_CHUNK, published through the module's `publish(jobId, TYPE, data)`.
  "subgraphs/provider/src/domain/job-events.ts": (file, source) => {
    const constants = Object.fromEntries(matchesIn(file, source, /export const (\w+) = "([A-Z_]+)"/g).map((m) => [m[1]!, [m[2]!]]));
    return matchesIn(file, source, /\bpublish\([^,()]+,\s*([^,]+),/g).flatMap((m) => resolveType(file, m[1]!, constants));
  },
};

/** Modules that write to Redis streams or channels without producing an event type of their own. */
const NOT_EVENT_PRODUCERS: Record<string, string> = {
  "packages/service-kit/src/outbox-relay.ts": "the relay and publishEnvelope: publishes what producers wrote",
  "packages/service-kit/src/outbox-rebuild.ts": "puts published events back after Redis lost its data",
  "subgraphs/notification/src/delivery/event-consumer.ts": "copies failed notification requests to the dead-letter stream",
  "subgraphs/identity/src/api-key-revocations.ts": "publishes revoked API keys' hashes (not an envelope)",
};

/** Writing to the outbox or to Redis streams/channels: what makes a module a producer. */
const PRODUCER_MARKER = /outboxEvent\.create(?:Many)?\(|INSERT INTO outbox_events|\bpublishEnvelope\(|\bpublishOutboxEnvelope\(|\.xadd\(|\.publish\(|['"]XADD['"]/;

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

  it("knows every module that produces events (a new one must be added here and to the catalogue)", () => {
    const producing = appSources().filter((path) => PRODUCER_MARKER.test(read(path)));
    const unknown = producing.filter((path) => !(path in PRODUCERS) && !(path in NOT_EVENT_PRODUCERS));
    expect(unknown).toEqual([]);
    // And the modules named here still produce (a rename must not leave them unchecked).
    expect(Object.keys(PRODUCERS).filter((path) => !producing.includes(path))).toEqual([]);
  });

  it.each(Object.keys(PRODUCERS))("names every event type %s emits", (path) => {
    const source = read(path);
    // Besides the module's own way of naming types, any `type: "LITERAL"` it writes.
    const literals = [...source.matchAll(/\btype:\s*["']([A-Z][A-Z0-9_]*)["']/g)].map((m) => m[1]!);
    const types = [...new Set([...PRODUCERS[path]!(path, source), ...literals])];
    expect(types.length).toBeGreaterThan(0);
    for (const type of types) expect(type).toMatch(/^[A-Z][A-Z0-9_]+$/);
    expect(types.filter((type) => !named(type))).toEqual([]);
  });

  it("names every event the simulation engine emits (published or kept in the tick log)", () => {
    expect(EVENT_TYPES.length).toBeGreaterThan(0);
    expect(EVENT_TYPES.filter((type) => !named(type))).toEqual([]);
  });

  it("describes the envelope's every field", () => {
    const envelope = read("packages/service-kit/src/outbox-relay.ts").match(/export type EventEnvelope = \{([\s\S]*?)\n\};/);
    if (!envelope) throw new Error("EventEnvelope not found in outbox-relay.ts; update test/unit/docs.test.ts");
    const fields = [...envelope[1]!.matchAll(/^\s+(\w+)\??:/gm)].map((m) => m[1]!);
    expect(fields.length).toBeGreaterThan(5);
    expect(fields.filter((field) => !named(field))).toEqual([]);
  });
});
