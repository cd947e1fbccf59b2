import semver from "semver";
import { Topics, eventData } from "@startales/contracts";
import { Role, activeTraceparent, badInput, conflict, forbidden, notFound, requireWriter, type SignedInViewer, type Viewer } from "@startales/service-kit";
import type { Db } from "../db";
import type { Prisma } from "../generated/prisma/client";
import type { PackVersionStatus } from "../generated/prisma/enums";
import { checkPackPath } from "./pack-path";

/** A pack's name: what dependencies and campaigns refer to it by. */
const PACK_NAME = /^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$/;
export const MAX_FILES_PER_VERSION = 10_000;
const MAX_DEPENDENCIES = 32;

export type PackFileRow = { path: string; sha256: string; size: number; mediaType: string };
export type PackVersionRow = {
  id: string;
  packId: string;
  packName: string;
  version: string;
  status: PackVersionStatus;
  createdAt: Date;
  publishedAt: Date | null;
  deprecatedAt: Date | null;
  ownerId: string;
};
export type PackRow = { id: string; name: string; title: string; description: string | null; ownerId: string; createdAt: Date };
/** A campaign as content knows it: by id (campaign owns the rest). */
export type CampaignRef = { id: string };
export type CampaignContentRow = { campaignId: string; packs: PackVersionRow[] };
export type PackDiff = { from: PackVersionRow; to: PackVersionRow; added: PackFileRow[]; changed: PackFileRow[]; removed: string[]; unchanged: number };

const isAdmin = (viewer: Viewer) => viewer.kind === "user" && viewer.roles.includes(Role.ADMIN);
const versionSelect = { id: true, packId: true, version: true, status: true, createdAt: true, publishedAt: true, deprecatedAt: true, pack: { select: { name: true, ownerId: true } } } as const;
type VersionWithPack = Prisma.PackVersionGetPayload<{ select: typeof versionSelect }>;
const flattenVersion = (row: VersionWithPack): PackVersionRow => ({
  id: row.id,
  packId: row.packId,
  packName: row.pack.name,
  version: row.version,
  status: row.status,
  createdAt: row.createdAt,
  publishedAt: row.publishedAt,
  deprecatedAt: row.deprecatedAt,
  ownerId: row.pack.ownerId,
});

/**
 * Content packs: a player (a modder, a game master, an admin) creates a pack, assembles a DRAFT version from
 * files they uploaded (each a path and a blob), publishes it (frozen from then on, its
 * dependencies checked) and later deprecates it; a campaign's game master enables published
 * versions. A version's manifest is its files' paths and hashes, so a client downloads each
 * blob once, verifies every byte, and after an update fetches only what a diff lists.
 */
export function createPackService(deps: { db: Db; afterCommit: () => void }) {
  const { db } = deps;

  const managerOf = (viewer: Viewer, ownerId: string): SignedInViewer => {
    const writer = requireWriter(viewer);
    if (writer.userId !== ownerId && !isAdmin(writer)) throw forbidden("Only the pack's owner and admins change it");
    return writer;
  };

  async function versionById(id: string): Promise<PackVersionRow | null> {
    const row = await db.packVersion.findUnique({ where: { id }, select: versionSelect });
    return row ? flattenVersion(row) : null;
  }

  async function versionOf(packName: string, version: string): Promise<PackVersionRow | null> {
    const row = await db.packVersion.findFirst({ where: { pack: { name: packName }, version }, select: versionSelect });
    return row ? flattenVersion(row) : null;
  }

  /** A draft is visible to its owner and admins only; a published or deprecated version to everyone signed in. */
  const visible = (viewer: Viewer, version: PackVersionRow | null) =>
    version && (version.status !== "DRAFT" || (viewer.kind === "user" && (viewer.userId === version.ownerId || isAdmin(viewer)))) ? version : null;

  /** A DRAFT version the caller may change (its pack's owner, or an admin). */
  async function draftFor(viewer: Viewer, versionId: string): Promise<PackVersionRow> {
    const version = visible(viewer, await versionById(versionId));
    if (!version) throw notFound("No such pack version");
    managerOf(viewer, version.ownerId);
    if (version.status !== "DRAFT") throw conflict(`Version ${version.version} of ${version.packName} is ${version.status}: a published version never changes; make a new version`);
    return version;
  }

  /** The versions a campaign has enabled (the caller's right to read the campaign is checked by the resolver). */
  async function enabledIn(campaignId: string): Promise<PackVersionRow[]> {
    const rows = await db.campaignPack.findMany({ where: { campaignId }, select: { version: { select: versionSelect } }, orderBy: { enabledAt: "asc" } });
    return rows.map((row) => flattenVersion(row.version));
  }

  async function files(versionId: string): Promise<PackFileRow[]> {
    const rows = await db.packFile.findMany({ where: { versionId }, orderBy: { path: "asc" }, select: { path: true, sha256: true, blob: { select: { size: true, mediaType: true } } } });
    return rows.map((row) => ({ path: row.path, sha256: row.sha256, size: Number(row.blob.size), mediaType: row.blob.mediaType }));
  }

  async function campaignEvent(tx: Prisma.TransactionClient, campaignId: string, type: "CAMPAIGN_PACK_ENABLED" | "CAMPAIGN_PACK_DISABLED", version: PackVersionRow) {
    const { version: count } = await tx.campaignContent.upsert({ where: { campaignId }, create: { campaignId, version: 1 }, update: { version: { increment: 1 } } });
    const topic = Topics.campaignContent(campaignId);
    await tx.outboxEvent.create({
      data: {
        topic,
        type,
        aggregateId: campaignId,
        version: count,
        data: eventData(topic, type, { packId: version.packId, name: version.packName, version: version.version, versionId: version.id }),
        traceparent: activeTraceparent(),
      },
    });
  }

  return {
    draftFor,
    versionById,
    versionOf,
    visible,
    files,

    async createPack(viewer: Viewer, input: { name: string; title: string; description?: string | null }): Promise<PackRow> {
      // Anyone who may write makes packs (mods); which a campaign uses is its game master's choice.
      const writer = requireWriter(viewer);
      const issues = [
        ...(PACK_NAME.test(input.name) ? [] : [{ field: "name", message: "3 to 64 lower-case letters, digits and dashes, starting and ending with a letter or digit" }]),
        ...(input.title.trim().length >= 1 && input.title.length <= 100 ? [] : [{ field: "title", message: "1 to 100 characters" }]),
        ...((input.description ?? "").length <= 2_000 ? [] : [{ field: "description", message: "at most 2000 characters" }]),
      ];
      if (issues.length) throw badInput("Invalid content pack", issues);
      if (await db.contentPack.findUnique({ where: { name: input.name } })) throw conflict(`A content pack named ${input.name} exists`);
      try {
        return await db.contentPack.create({ data: { name: input.name, title: input.title.trim(), description: input.description ?? null, ownerId: writer.userId } });
      } catch (error) {
        if ((error as { code?: string }).code === "P2002") throw conflict(`A content pack named ${input.name} exists`);
        throw error;
      }
    },

    pack: (name: string) => db.contentPack.findUnique({ where: { name } }),
    packById: (id: string) => db.contentPack.findUnique({ where: { id } }),

    async packs(first: number, after?: string): Promise<PackRow[]> {
      return db.contentPack.findMany({ where: after ? { name: { gt: after } } : {}, orderBy: { name: "asc" }, take: first });
    },

    async versionsOf(viewer: Viewer, packId: string): Promise<PackVersionRow[]> {
      const rows = await db.packVersion.findMany({ where: { packId }, select: versionSelect });
      return rows
        .map(flattenVersion)
        .filter((version) => visible(viewer, version))
        .sort((a, b) => semver.rcompare(a.version, b.version));
    },

    async createVersion(viewer: Viewer, input: { pack: string; version: string; dependencies?: { pack: string; range: string }[] | null }): Promise<PackVersionRow> {
      const pack = await db.contentPack.findUnique({ where: { name: input.pack } });
      if (!pack) throw notFound(`No content pack named ${input.pack}`);
      managerOf(viewer, pack.ownerId);
      const dependencies = input.dependencies ?? [];
      const issues = [
        ...(semver.valid(input.version) === input.version ? [] : [{ field: "version", message: "a semantic version such as 1.2.0 or 2.0.0-beta.1" }]),
        ...(dependencies.length <= MAX_DEPENDENCIES ? [] : [{ field: "dependencies", message: `at most ${MAX_DEPENDENCIES}` }]),
        ...dependencies.flatMap((dependency, i) => [
          ...(semver.validRange(dependency.range) ? [] : [{ field: `dependencies.${i}.range`, message: "a semantic version range such as ^1.2.0" }]),
          ...(dependency.pack === input.pack ? [{ field: `dependencies.${i}.pack`, message: "a pack cannot depend on itself" }] : []),
        ]),
        ...(new Set(dependencies.map((d) => d.pack)).size === dependencies.length ? [] : [{ field: "dependencies", message: "each pack at most once" }]),
      ];
      if (issues.length) throw badInput("Invalid pack version", issues);
      const known = await db.contentPack.findMany({ where: { name: { in: dependencies.map((d) => d.pack) } }, select: { name: true } });
      const unknown = dependencies.filter((d) => !known.some((k) => k.name === d.pack));
      if (unknown.length) throw badInput("A dependency names no content pack", unknown.map((d) => ({ field: "dependencies", message: `no pack named ${d.pack}` })));
      try {
        const row = await db.packVersion.create({
          data: { packId: pack.id, version: input.version, dependencies: { create: dependencies.map((d) => ({ packName: d.pack, range: d.range })) } },
          select: versionSelect,
        });
        return flattenVersion(row);
      } catch (error) {
        if ((error as { code?: string }).code === "P2002") throw conflict(`${input.pack} has a version ${input.version}`);
        throw error;
      }
    },

    dependenciesOf: (versionId: string) => db.packDependency.findMany({ where: { versionId }, orderBy: { packName: "asc" } }),

    /** Puts an asset the caller owns in a draft at `path` (replacing what was there). */
    async setFile(viewer: Viewer, input: { versionId: string; path: string; assetId: string }): Promise<PackVersionRow> {
      const version = await draftFor(viewer, input.versionId);
      const problem = checkPackPath(input.path);
      if (problem) throw badInput("Invalid path in the pack", [{ field: "path", message: problem }]);
      const asset = await db.asset.findUnique({ where: { id: input.assetId } });
      const writer = requireWriter(viewer);
      if (!asset || (asset.ownerId !== writer.userId && !isAdmin(writer))) throw badInput("No asset of yours has that id", [{ field: "assetId", message: "upload the file first (POST /content/assets?kind=PACK_FILE)" }]);
      const count = await db.packFile.count({ where: { versionId: version.id } });
      if (count >= MAX_FILES_PER_VERSION) throw badInput(`A version holds at most ${MAX_FILES_PER_VERSION} files`);
      await db.packFile.upsert({
        where: { versionId_path: { versionId: version.id, path: input.path } },
        create: { versionId: version.id, path: input.path, sha256: asset.sha256 },
        update: { sha256: asset.sha256 },
      });
      return version;
    },

    async removeFile(viewer: Viewer, input: { versionId: string; path: string }): Promise<PackVersionRow> {
      const version = await draftFor(viewer, input.versionId);
      const { count } = await db.packFile.deleteMany({ where: { versionId: version.id, path: input.path } });
      if (count === 0) throw notFound(`No file at ${input.path} in this version`);
      return version;
    },

    /** Freezes a draft: it has files, and every dependency has a published version in its range. */
    async publishVersion(viewer: Viewer, versionId: string): Promise<PackVersionRow> {
      const version = await draftFor(viewer, versionId);
      const manifest = await files(version.id);
      if (manifest.length === 0) throw badInput("A version needs at least one file before it is published");
      const dependencies = await db.packDependency.findMany({ where: { versionId } });
      for (const dependency of dependencies) {
        const published = await db.packVersion.findMany({ where: { pack: { name: dependency.packName }, status: "PUBLISHED" }, select: { version: true } });
        if (!semver.maxSatisfying(published.map((p) => p.version), dependency.range)) {
          throw badInput(`No published version of ${dependency.packName} satisfies ${dependency.range}`, [{ field: "dependencies", message: `${dependency.packName}@${dependency.range} is not published` }]);
        }
      }
      const published = await db.$transaction(async (tx) => {
        // Compare-and-set on DRAFT: two publishes at once make one event.
        const { count } = await tx.packVersion.updateMany({ where: { id: versionId, status: "DRAFT" }, data: { status: "PUBLISHED", publishedAt: new Date() } });
        if (count === 0) throw conflict("This version was published meanwhile");
        const data = { packId: version.packId, name: version.packName, version: version.version, versionId, files: manifest.length, bytes: manifest.reduce((sum, file) => sum + file.size, 0) };
        await tx.outboxEvent.create({ data: { topic: Topics.packs, type: "PACK_VERSION_PUBLISHED", aggregateId: versionId, version: 1, data: eventData(Topics.packs, "PACK_VERSION_PUBLISHED", data), traceparent: activeTraceparent() } });
        return flattenVersion(await tx.packVersion.findUniqueOrThrow({ where: { id: versionId }, select: versionSelect }));
      });
      deps.afterCommit();
      return published;
    },

    async deprecate(viewer: Viewer, versionId: string): Promise<PackVersionRow> {
      const version = visible(viewer, await versionById(versionId));
      if (!version) throw notFound("No such pack version");
      managerOf(viewer, version.ownerId);
      const deprecated = await db.$transaction(async (tx) => {
        const { count } = await tx.packVersion.updateMany({ where: { id: versionId, status: "PUBLISHED" }, data: { status: "DEPRECATED", deprecatedAt: new Date() } });
        if (count === 0) throw conflict(`Only a PUBLISHED version can be deprecated; this one is ${version.status}`);
        const data = { packId: version.packId, name: version.packName, version: version.version, versionId };
        await tx.outboxEvent.create({ data: { topic: Topics.packs, type: "PACK_VERSION_DEPRECATED", aggregateId: versionId, version: 2, data: eventData(Topics.packs, "PACK_VERSION_DEPRECATED", data), traceparent: activeTraceparent() } });
        return flattenVersion(await tx.packVersion.findUniqueOrThrow({ where: { id: versionId }, select: versionSelect }));
      });
      deps.afterCommit();
      return deprecated;
    },

    /** What changed from one version of a pack to another, by path: what a client must fetch to update. */
    async diff(viewer: Viewer, packName: string, from: string, to: string): Promise<PackDiff> {
      const [older, newer] = await Promise.all([versionOf(packName, from), versionOf(packName, to)]);
      if (!visible(viewer, older)) throw notFound(`No version ${from} of ${packName}`);
      if (!visible(viewer, newer)) throw notFound(`No version ${to} of ${packName}`);
      const [before, after] = await Promise.all([files(older!.id), files(newer!.id)]);
      const previous = new Map(before.map((file) => [file.path, file.sha256]));
      const current = new Set(after.map((file) => file.path));
      return {
        from: older!,
        to: newer!,
        added: after.filter((file) => !previous.has(file.path)),
        changed: after.filter((file) => previous.has(file.path) && previous.get(file.path) !== file.sha256),
        removed: before.filter((file) => !current.has(file.path)).map((file) => file.path),
        unchanged: after.filter((file) => previous.get(file.path) === file.sha256).length,
      };
    },

    enabledIn,

    /** A campaign's game master enables a published version (the resolver checked who they are); its dependencies must be enabled first. */
    async enable(gameMaster: SignedInViewer, campaignId: string, packName: string, versionText: string): Promise<PackVersionRow> {
      const version = await versionOf(packName, versionText);
      if (!version || version.status === "DRAFT") throw notFound(`No published version ${versionText} of ${packName}`);
      if (version.status === "DEPRECATED") throw conflict(`Version ${versionText} of ${packName} is deprecated: enable a newer one`);
      const enabled = await enabledIn(campaignId);
      const missing = (await db.packDependency.findMany({ where: { versionId: version.id } })).filter(
        (dependency) => !enabled.some((e) => e.packName === dependency.packName && semver.satisfies(e.version, dependency.range)),
      );
      if (missing.length) throw badInput("Enable the pack's dependencies first", missing.map((d) => ({ field: "dependencies", message: `${d.packName}@${d.range}` })));
      if (enabled.some((e) => e.id === version.id)) return version;
      await db.$transaction(async (tx) => {
        await tx.campaignPack.upsert({
          where: { campaignId_packId: { campaignId, packId: version.packId } },
          create: { campaignId, packId: version.packId, versionId: version.id, enabledById: gameMaster.userId },
          update: { versionId: version.id, enabledById: gameMaster.userId, enabledAt: new Date() },
        });
        await campaignEvent(tx, campaignId, "CAMPAIGN_PACK_ENABLED", version);
      });
      deps.afterCommit();
      return version;
    },

    async disable(campaignId: string, packName: string): Promise<PackVersionRow> {
      const disabled = await db.$transaction(async (tx) => {
        const row = await tx.campaignPack.findFirst({ where: { campaignId, pack: { name: packName } }, select: { packId: true, version: { select: versionSelect } } });
        if (!row) throw notFound(`${packName} is not enabled in this campaign`);
        await tx.campaignPack.delete({ where: { campaignId_packId: { campaignId, packId: row.packId } } });
        const version = flattenVersion(row.version);
        await campaignEvent(tx, campaignId, "CAMPAIGN_PACK_DISABLED", version);
        return version;
      });
      deps.afterCommit();
      return disabled;
    },
  };
}

export type PackService = ReturnType<typeof createPackService>;
