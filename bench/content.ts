/**
 * Content's bytes on loopback (subgraphs/content/README.md), each path beside its baseline in
 * the same run, closed loop (autocannon, BENCH_CONNECTIONS connections each sending its next
 * request as soon as the last is answered, for about BENCH_DURATION_S seconds per path after a
 * warm-up of BENCH_WARMUP_S):
 *
 * 1. Downloads of a 1 MiB public asset (uploaded first, as MEDIA, by an admin): through the
 *    gateway (`GET <gateway>/content/<sha256>`: its rate limit, the proxy), straight to the
 *    content subgraph, and, the baseline, a plain `node:http` static file server in a process
 *    of its own serving the same bytes from a file (stat + `fs.createReadStream`, Content-Length,
 *    ETag; bench/lib/static-file-server.ts). RPS, MiB/s of payload, p50/p97.5/p99.
 * 2. Range reads: a 64 KiB slice at a random offset of that asset (206), same three paths.
 * 3. Revalidations: If-None-Match with the asset's ETag (304), same three paths.
 * 4. Uploads, one request each, of distinct 1 MiB files (PNG-signed random bytes, so every
 *    upload is a new blob: hashed, sniffed, written, fsynced, renamed, a row and an event):
 *    through the gateway as an admin (`BOOTSTRAP_ADMIN_EMAILS`; players may upload only their
 *    AVATAR, within a quota), straight to content with the identity the gateway would sign
 *    for that admin, and, the baseline, the static server storing the body as content's
 *    filesystem driver does (hashed while written, fsynced, renamed; no checks, no database).
 * 5. A 100 MiB content pack (BENCH_RESUMABLE_BYTES: a zip of 25 files) uploaded resumably
 *    (tus, `/content/uploads`) through the gateway in 8 MiB parts: once whole, once cut midway
 *    and resumed where the server's offset says; the baseline, the static server storing it
 *    from one request. Then the pack unpacked into a draft (`importPackArchive`), timed.
 *
 * The load generator runs in this process; its CPU and each server's are kept with the
 * results (a load generator near 100 % of a core caps the figures it measures).
 *
 * BENCH_ASSET_BYTES sets the asset's size (1 MiB; 64 KiB to content's 16 MiB upload limit).
 *
 *   npm run bench:content
 *   BENCH_DURATION_S=5 BENCH_WARMUP_S=1 BENCH_CONNECTIONS=20 BENCH_UPLOAD_CONNECTIONS=8 npm run bench:content
 */
import { fork, type ChildProcess } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import autocannon from "autocannon";
import { IDENTITY_HEADER, Role, createIdentitySigner, signedIn } from "@startales/service-kit";
import { machine, printTable, progress, quantile, round, writeResults } from "./lib/report";
import { resumableUpload, type ResumableResult } from "../test/testkit/resumable-upload";
import { zipOf } from "../test/testkit/zip";
import { graphql, loopbackPlayersGatewayEnv, startBenchStack } from "./lib/services";

/**
 * autocannon keeps every response's body as a string (`body += chunk`, its
 * lib/pipelinedRequestsQueue.js) for expectBody and verifyBody, which this bench does not
 * use: decoding a binary MiB as UTF-8 costs the load generator a whole core at ~40 MiB/s
 * here, and would cap every download it measures. Bodies are dropped instead; bytes, statuses
 * and latencies are counted as before.
 */
(require("autocannon/lib/pipelinedRequestsQueue") as { prototype: { addBody: (data: Buffer) => void } }).prototype.addBody = () => undefined;

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
/** Load before each measurement, discarded: JIT, connections, caches. */
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 1);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
/** Uploads in flight at once (each holds a whole file in content's memory until it is stored). */
const UPLOAD_CONNECTIONS = Number(process.env.BENCH_UPLOAD_CONNECTIONS ?? 16);
const ASSET_BYTES = Number(process.env.BENCH_ASSET_BYTES ?? 1024 * 1024);
const SLICE_BYTES = 64 * 1024;
const RESUMABLE_BYTES = Number(process.env.BENCH_RESUMABLE_BYTES ?? 100 * 1024 * 1024);
const RESUMABLE_PART_BYTES = 8 * 1024 * 1024;
const PACK_FILES = 25;
/** Through the gateway, at least this share of the static server's download throughput (the issue's target). */
const TARGET_RATIO = 0.5;
const MIB = 1024 * 1024;
const CLOCK_TICKS_PER_S = 100;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

type Section = "download" | "range" | "revalidate" | "upload";
type Spec = {
  section: Section;
  path: string;
  url: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  /** Each request's own headers or body. */
  setup?: (request: Record<string, unknown>) => Record<string, unknown>;
  /** The status every answer must have; any other counts as an error. */
  status: number;
  /** Payload bytes a request moves (the body down, or up for an upload). */
  payloadBytes: number;
  connections: number;
  baseline?: boolean;
};
type Row = {
  section: Section;
  path: string;
  baseline: boolean;
  /** Answers, and the time from the first request to the last answer. */
  requests: number;
  seconds: number;
  rps: number;
  mibPerS: number;
  p50: number;
  p975: number;
  p99: number;
  errors: number;
  statusCodes: Record<string, number>;
  /** Each process's CPU during the measurement, % of one core. */
  cpuPercent: Record<string, number | null>;
};

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
/** `size` random bytes that content's sniffer reads as a PNG. */
const pngBytes = (size: number) => {
  const bytes = randomBytes(size);
  PNG_SIGNATURE.copy(bytes, 0);
  return bytes;
};

/** A process's CPU time so far (user + system), in ms; null where /proc is not there. */
function cpuMs(pid: number | undefined): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}

/** The static file server (bench/lib/static-file-server.ts) in a process of its own, serving `file`, storing uploads in `uploadDir`. */
async function startStaticServer(file: string, uploadDir: string): Promise<{ child: ChildProcess; origin: string; path: string }> {
  const child = fork(join(__dirname, "lib", "static-file-server.ts"), [file, uploadDir], { execArgv: ["--require", require.resolve("tsx/cjs")], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const { port, path } = await new Promise<{ port: number; path: string }>((resolve, reject) => {
    child.once("message", (m) => resolve(m as { port: number; path: string }));
    child.once("exit", (code) => reject(new Error(`static file server exited with ${code}`)));
  });
  return { child, origin: `http://127.0.0.1:${port}`, path };
}

/** What a path's load got: each answer's status and latency (ms), the errors, the time under load. */
type Sample = { statusCodes: Record<string, number>; latencies: number[]; errors: number; responses: number; seconds: number };

/**
 * `amount` requests over the spec's connections, each connection sending its next as soon as
 * its last is answered, added to `sample`. A number, not a duration: at the end of a duration
 * autocannon hangs up on the responses still coming, and the gateway keeps the connection to
 * content of every download a client abandons (gateway/src/content-proxy.ts's relay waits for
 * a `drain` that never comes): runs cut off so would leave the later ones through the gateway
 * without connections to content. Here each connection ends once its last answer is whole.
 * The time is from the first request to the last answer; a run far longer than asked is stopped.
 */
function run(spec: Spec, amount: number, sample: Sample): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let lastAt = started;
    let answered = 0;
    let failed = 0;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      // Requests neither answered nor failed: the run was stopped for taking too long.
      sample.errors += failed + Math.max(0, amount - answered - failed);
      sample.responses += answered;
      sample.seconds += Math.max(0.001, (lastAt - started) / 1000);
      resolve();
    };
    const instance = autocannon(
      {
        url: spec.url,
        method: spec.method ?? "GET",
        headers: spec.headers ?? {},
        connections: Math.min(spec.connections, amount),
        amount,
        timeout: 30,
        ...(spec.setup ? { requests: [{ setupRequest: spec.setup }] } : {}),
      },
      (error) => {
        if (error && !settled) {
          settled = true;
          clearTimeout(guard);
          return reject(error);
        }
        settle();
      },
    );
    const guard = setTimeout(() => instance.stop(), (3 * DURATION_S + 30) * 1000);
    instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
      answered++;
      lastAt = performance.now();
      sample.statusCodes[status] = (sample.statusCodes[status] ?? 0) + 1;
      sample.latencies.push(ms);
      // Every request answered: done now, not at autocannon's next one-second tick (which stops what is left of it).
      if (answered === amount) {
        instance.stop();
        settle();
      }
    });
    instance.on("reqError", () => failed++);
    let ticks = 0;
    instance.on("tick", () => {
      if (++ticks % 5 === 0) progress(` ${ticks}s`);
    });
  });
}

/**
 * Runs of `spec` until about `seconds` under load: each as many requests as the rate so far
 * makes in the time left (the first, with no rate yet, one per connection); one at least, 20 at most.
 */
async function load(spec: Spec, seconds: number, rate = 0): Promise<Sample & { rate: number }> {
  const sample: Sample = { statusCodes: {}, latencies: [], errors: 0, responses: 0, seconds: 0 };
  let runs = 0;
  do {
    const amount = Math.max(spec.connections, Math.round(rate * (seconds - sample.seconds)));
    const [responses, elapsed] = [sample.responses, sample.seconds];
    await run(spec, amount, sample);
    rate = (sample.responses - responses) / (sample.seconds - elapsed);
  } while (sample.seconds < 0.9 * seconds && ++runs < 20);
  return { ...sample, rate };
}

/** The warm-up (discarded; its rate sizes the first run), then the measurement, with each watched process's CPU over it. */
async function measure(spec: Spec, watched: Record<string, number | undefined>): Promise<Row> {
  progress(`\n[${spec.section}: ${spec.path}]`);
  const { rate } = await load(spec, WARMUP_S);
  const before = Object.fromEntries(Object.entries(watched).map(([name, pid]) => [name, cpuMs(pid)]));
  const ownBefore = process.cpuUsage();
  const started = Date.now();
  const sample = await load(spec, DURATION_S, rate);
  const wallMs = Date.now() - started;
  const own = process.cpuUsage(ownBefore);
  const cpuPercent: Record<string, number | null> = { bench: round(((own.user + own.system) / 1000 / wallMs) * 100, 0) };
  for (const [name, pid] of Object.entries(watched)) {
    const after = cpuMs(pid);
    cpuPercent[name] = after === null || before[name] === null ? null : round(((after - before[name]!) / wallMs) * 100, 0);
  }
  const unexpected = Object.entries(sample.statusCodes).reduce((sum, [code, count]) => sum + (Number(code) === spec.status ? 0 : count), 0);
  const rps = sample.responses / sample.seconds;
  return {
    section: spec.section,
    path: spec.path,
    baseline: spec.baseline ?? false,
    requests: sample.responses,
    seconds: round(sample.seconds, 1),
    rps: round(rps, 0),
    mibPerS: round((rps * spec.payloadBytes) / MIB, 1),
    p50: round(quantile(sample.latencies, 0.5), 1),
    p975: round(quantile(sample.latencies, 0.975), 1),
    p99: round(quantile(sample.latencies, 0.99), 1),
    errors: sample.errors + unexpected,
    statusCodes: sample.statusCodes,
    cpuPercent,
  };
}

/** A request whose answer must have `status` and, when given, exactly `body`. */
async function check(what: string, url: string, status: number, init: RequestInit = {}, body?: Buffer): Promise<Response> {
  const response = await fetch(url, init);
  const bytes = Buffer.from(await response.arrayBuffer());
  if (response.status !== status) throw new Error(`${what}: ${response.status} instead of ${status}: ${bytes.toString("utf8", 0, 500)}`);
  if (body && !bytes.equals(body)) throw new Error(`${what}: the bytes differ from the asset's (${bytes.length} bytes, sha256 ${sha256(bytes)})`);
  return response;
}

async function main(): Promise<void> {
  if (!(ASSET_BYTES >= SLICE_BYTES && ASSET_BYTES <= 16 * MIB)) throw new Error(`BENCH_ASSET_BYTES must be from ${SLICE_BYTES} to ${16 * MIB}`);
  const { node, cpu, cores, loadavg } = machine();
  progress(
    `node ${node}, ${cpu} ×${cores}, load ${loadavg.join(" ")}; a ${ASSET_BYTES}-byte asset, ${CONNECTIONS} connections (uploads ${UPLOAD_CONNECTIONS}), ` +
      `${WARMUP_S} s warm-up + ${DURATION_S} s per path\n`,
  );
  const adminEmail = `bench-content-admin-${randomUUID()}@example.test`;
  const startedAt = Date.now();
  const stack = await startBenchStack({ content: true, identityEnv: { BOOTSTRAP_ADMIN_EMAILS: adminEmail }, gatewayEnv: loopbackPlayersGatewayEnv() });
  progress(`stack up in ${Math.round((Date.now() - startedAt) / 1000)} s`);
  const dir = mkdtempSync(join(tmpdir(), "startales-bench-static-"));
  let staticServer: Awaited<ReturnType<typeof startStaticServer>> | undefined;
  let refresher: ReturnType<typeof setInterval> | undefined;
  const rows: Row[] = [];
  const resumable: (ResumableResult & { path: string })[] = [];
  let packImport: { files: number; bytes: number; seconds: number; mibPerS: number } | undefined;
  try {
    const gateway = stack.gatewayUrl;
    const content = stack.contentUrl!;
    const { register } = await graphql<{ register: { accessToken: string; user: { id: string } } }>(
      `${gateway}/graphql`,
      "mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }",
      { i: { email: adminEmail, password: `pw-${randomUUID()}`, displayName: "Bench admin" } },
    );
    const bearer = { authorization: `Bearer ${register.accessToken}` };

    // The asset every download reads: uploaded through the gateway, served back byte for byte on all three paths.
    const asset = pngBytes(ASSET_BYTES);
    const hash = sha256(asset);
    const uploaded = await check("the asset's upload through the gateway", `${gateway}/content/assets?kind=MEDIA&name=bench.png`, 201, {
      method: "POST",
      headers: { ...bearer, "content-type": "image/png" },
      body: asset,
    });
    const location = uploaded.headers.get("location");
    if (location !== `${gateway}/content/${hash}`) throw new Error(`the asset's URL is ${location}, not ${gateway}/content/${hash}`);
    const file = join(dir, "asset.png");
    writeFileSync(file, asset);
    staticServer = await startStaticServer(file, join(dir, "uploads"));
    const urls = { static: `${staticServer.origin}${staticServer.path}`, content: `${content}/content/${hash}`, gateway: `${gateway}/content/${hash}` };
    const etag = `"${hash}"`;
    const offset = Math.max(0, ASSET_BYTES - SLICE_BYTES - 12_345);
    for (const [name, url] of Object.entries(urls)) {
      const whole = await check(`a download from ${name}`, url, 200, {}, asset);
      if (whole.headers.get("etag") !== etag || !whole.headers.get("cache-control")?.includes("immutable")) {
        throw new Error(`a download from ${name}: ETag ${whole.headers.get("etag")}, Cache-Control ${whole.headers.get("cache-control")}`);
      }
      await check(`a range from ${name}`, url, 206, { headers: { range: `bytes=${offset}-${offset + SLICE_BYTES - 1}` } }, asset.subarray(offset, offset + SLICE_BYTES));
      await check(`a revalidation at ${name}`, url, 304, { headers: { "if-none-match": etag } });
    }

    // Straight to content, uploads carry what the gateway would sign for the admin (60 s), refreshed well before it lapses.
    const sign = createIdentitySigner(stack.signingSecret);
    const admin = signedIn(register.user.id, [Role.PLAYER, Role.ADMIN]);
    let identity = await sign(admin, randomUUID());
    refresher = setInterval(() => void sign(admin, randomUUID()).then((token) => (identity = token)), 20_000);
    await check("an upload straight to content", `${content}/content/assets?kind=MEDIA`, 201, { method: "POST", headers: { [IDENTITY_HEADER]: identity, "content-type": "image/png" }, body: pngBytes(ASSET_BYTES) });
    await check("an upload to the static server", `${staticServer.origin}/upload`, 201, { method: "POST", body: pngBytes(ASSET_BYTES) });

    const services = Object.fromEntries(stack.services.map((service) => [service.name, service.child.pid]));
    const watched = { gateway: services.gateway, content: services.content, static: staticServer.child.pid };
    const randomSlice = (request: Record<string, unknown>) => {
      const start = Math.floor(Math.random() * (ASSET_BYTES - SLICE_BYTES + 1));
      return { ...request, headers: { ...(request.headers as Record<string, string>), range: `bytes=${start}-${start + SLICE_BYTES - 1}` } };
    };
    // Every upload a new file: the random bytes stay, a counter after the signature changes.
    const uploadBody = pngBytes(ASSET_BYTES);
    let uploads = 0;
    const nextUpload = (headers: () => Record<string, string>) => (request: Record<string, unknown>) => {
      uploadBody.writeUInt32BE(++uploads, PNG_SIGNATURE.length);
      return { ...request, headers: { ...(request.headers as Record<string, string>), ...headers() }, body: uploadBody };
    };
    const labels = { static: "static file server (baseline)", content: "straight to content", gateway: "through the gateway" };
    const specs: Spec[] = [
      ...(["static", "content", "gateway"] as const).map((name): Spec => ({ section: "download", path: labels[name], url: urls[name], status: 200, payloadBytes: ASSET_BYTES, connections: CONNECTIONS, baseline: name === "static" })),
      ...(["static", "content", "gateway"] as const).map((name): Spec => ({ section: "range", path: labels[name], url: urls[name], setup: randomSlice, status: 206, payloadBytes: SLICE_BYTES, connections: CONNECTIONS, baseline: name === "static" })),
      ...(["static", "content", "gateway"] as const).map((name): Spec => ({ section: "revalidate", path: labels[name], url: urls[name], headers: { "if-none-match": etag }, status: 304, payloadBytes: 0, connections: CONNECTIONS, baseline: name === "static" })),
      { section: "upload", path: "static file server storing the body (baseline)", url: `${staticServer.origin}/upload`, method: "POST", setup: nextUpload(() => ({})), status: 201, payloadBytes: ASSET_BYTES, connections: UPLOAD_CONNECTIONS, baseline: true },
      { section: "upload", path: "straight to content, as an admin (signed identity)", url: `${content}/content/assets?kind=MEDIA`, method: "POST", setup: nextUpload(() => ({ [IDENTITY_HEADER]: identity, "content-type": "image/png" })), status: 201, payloadBytes: ASSET_BYTES, connections: UPLOAD_CONNECTIONS },
      { section: "upload", path: "through the gateway, as an admin (bearer token)", url: `${gateway}/content/assets?kind=MEDIA`, method: "POST", setup: nextUpload(() => ({ ...bearer, "content-type": "image/png" })), status: 201, payloadBytes: ASSET_BYTES, connections: UPLOAD_CONNECTIONS },
    ];
    for (const spec of specs) rows.push(await measure(spec, watched));
    progress("\n");

    // A large file: one request to the static server (the baseline), then tus through the gateway, whole and cut midway.
    // A pack of 25 textures, stored (they are compressed already): new bytes each time, so every upload stores them all.
    const pack = () => zipOf(Array.from({ length: PACK_FILES }, (_, i) => ({ name: `textures/t${i}.png`, bytes: pngBytes(Math.floor(RESUMABLE_BYTES / PACK_FILES)), compress: false })));
    const big = await pack();
    const staticStarted = performance.now();
    await check("a large upload to the static server", `${staticServer.origin}/upload`, 201, { method: "POST", body: big });
    const staticSeconds = (performance.now() - staticStarted) / 1000;
    resumable.push({ path: "static file server, one request (baseline)", seconds: staticSeconds, mibPerS: big.length / MIB / staticSeconds, parts: 1, resumedAt: null, status: 201, body: "" });
    resumable.push({ path: "tus through the gateway, whole", ...(await resumableUpload(gateway, bearer, await pack(), { partBytes: RESUMABLE_PART_BYTES, kind: "PACK_ARCHIVE" })) });
    progress("resumable: whole ");
    const resumed = await resumableUpload(gateway, bearer, await pack(), { partBytes: RESUMABLE_PART_BYTES, kind: "PACK_ARCHIVE", cutAt: Math.floor(big.length * 0.4) });
    resumable.push({ path: "tus through the gateway, cut at 40 % and resumed", ...resumed });
    progress("resumed ");

    // The last one unpacked into a draft: read back from storage, every entry checked, hashed, typed and stored.
    const name = `bench-${randomUUID().slice(0, 8)}`;
    await graphql(`${gateway}/graphql`, "mutation($i: CreateContentPackInput!) { createContentPack(input: $i) { id } }", { i: { name, title: "Bench pack" } }, register.accessToken);
    const { createPackVersion } = await graphql<{ createPackVersion: { id: string } }>(`${gateway}/graphql`, "mutation($i: CreatePackVersionInput!) { createPackVersion(input: $i) { id } }", { i: { pack: name, version: "1.0.0" } }, register.accessToken);
    const importStarted = performance.now();
    const { importPackArchive } = await graphql<{ importPackArchive: { files: number; bytes: number } }>(
      `${gateway}/graphql`,
      "mutation($v: ID!, $a: ID!) { importPackArchive(versionId: $v, assetId: $a) { files bytes } }",
      { v: createPackVersion.id, a: (JSON.parse(resumed.body) as { asset: { id: string } }).asset.id },
      register.accessToken,
    );
    const importSeconds = (performance.now() - importStarted) / 1000;
    packImport = { files: importPackArchive.files, bytes: importPackArchive.bytes, seconds: importSeconds, mibPerS: importPackArchive.bytes / MIB / importSeconds };
    progress("imported\n");
  } finally {
    if (refresher) clearInterval(refresher);
    staticServer?.child.kill();
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  const of = (section: Section) => rows.filter((row) => row.section === section);
  const baselineOf = (section: Section) => of(section).find((row) => row.baseline);
  const ratio = (row: Row) => {
    const baseline = baselineOf(row.section);
    return baseline && baseline.rps > 0 ? row.rps / baseline.rps : Number.NaN;
  };
  const header = ["path", "RPS", "MiB/s", "p50 ms", "p97.5 ms", "p99 ms", "ratio", "errors"];
  const cells = (row: Row) => [row.path, String(row.rps), String(row.mibPerS), String(row.p50), String(row.p975), String(row.p99), row.baseline ? "1" : ratio(row).toFixed(2), String(row.errors)];
  const size = (bytes: number) => (bytes >= MIB ? `${round(bytes / MIB, 2)} MiB` : `${round(bytes / 1024, 1)} KiB`);
  printTable(`downloads of a ${size(ASSET_BYTES)} public asset, ${CONNECTIONS} connections, ~${DURATION_S} s each (ratio: to the static file server's RPS, same run)`, header, of("download").map(cells));
  printTable(`range reads: a ${size(SLICE_BYTES)} slice at a random offset (206), ${CONNECTIONS} connections`, header, of("range").map(cells));
  printTable(`revalidations: If-None-Match with the asset's ETag (304), ${CONNECTIONS} connections`, header, of("revalidate").map(cells));
  printTable(`uploads: a new ${size(ASSET_BYTES)} file per request (MEDIA, an admin's), ${UPLOAD_CONNECTIONS} connections`, header, of("upload").map(cells));

  const download = (path: string) => of("download").find((row) => row.path === path);
  const viaGateway = download("through the gateway");
  const direct = download("straight to content");
  const gatewayToStatic = viaGateway ? ratio(viaGateway) : Number.NaN;
  const gatewayToContent = viaGateway && direct ? viaGateway.rps / direct.rps : Number.NaN;
  console.log(
    `\ndownloads through the gateway: ${(gatewayToStatic * 100).toFixed(0)} % of the static file server's throughput ` +
      `(target ≥ ${TARGET_RATIO * 100} %: ${gatewayToStatic >= TARGET_RATIO ? "PASS" : "FAIL"}); ${(gatewayToContent * 100).toFixed(0)} % of content's own`,
  );
  const resumableBaseline = resumable[0]?.mibPerS ?? Number.NaN;
  printTable(
    `a ${size(RESUMABLE_BYTES)} pack (a zip of ${PACK_FILES} files): one request to the static server, and tus (/content/uploads) through the gateway in ${size(RESUMABLE_PART_BYTES)} parts`,
    ["path", "seconds", "MiB/s", "parts", "resumed at", "ratio"],
    resumable.map((row) => [row.path, row.seconds.toFixed(2), row.mibPerS.toFixed(1), String(row.parts), row.resumedAt === null ? "-" : size(row.resumedAt), (row.mibPerS / resumableBaseline).toFixed(2)]),
  );
  if (packImport) console.log(`the pack unpacked into a draft (importPackArchive): ${packImport.files} files, ${size(packImport.bytes)} in ${packImport.seconds.toFixed(2)} s (${packImport.mibPerS.toFixed(1)} MiB/s)`);
  const busiest = Math.max(...rows.map((row) => row.cpuPercent.bench ?? 0));
  console.log(`CPU, % of one core, per path (bench = the load generator; ≥ 95 % means it, not the server, set the pace):`);
  for (const row of rows) console.log(`  ${row.section.padEnd(10)} ${row.path.padEnd(52)} ${Object.entries(row.cpuPercent).map(([name, value]) => `${name} ${value ?? "-"}`).join(", ")}`);
  if (busiest >= 95) console.log(`the load generator reached ${busiest} % of a core: some baselines may be capped by it, and their ratios flatter the paths measured against them`);
  writeResults("content", {
    assetBytes: ASSET_BYTES,
    sliceBytes: SLICE_BYTES,
    durationSeconds: DURATION_S,
    warmupSeconds: WARMUP_S,
    connections: CONNECTIONS,
    uploadConnections: UPLOAD_CONNECTIONS,
    uploader: "an admin (BOOTSTRAP_ADMIN_EMAILS), kind MEDIA: through the gateway with its bearer token, straight to content with the identity the gateway signs for it",
    rows,
    gatewayToStatic,
    gatewayToContent,
    target: { gatewayToStatic: TARGET_RATIO, pass: gatewayToStatic >= TARGET_RATIO },
    resumableBytes: RESUMABLE_BYTES,
    resumable,
    packImport,
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
