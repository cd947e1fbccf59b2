import { execFileSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { encodePng } from "../../subgraphs/provider/src/offline/png";
import { required } from "../testkit/config";
import { ESPEAK_NG, POCKETSPHINX, POCKETSPHINX_EN_US, debianTool, ensureDebianTools } from "../testkit/debian-packages";
import { errorCodes, expectData, postGraphQL, type GraphQLResponse } from "../testkit/graphql-client";
import { startProvider, type ProviderHarness } from "../testkit/provider";
import { eventually } from "../testkit/simulation";
import { startStack, type Stack } from "../testkit/stack";
import { registerUser, type TestUser } from "../testkit/users";

/**
 * Speech-to-text with no vendor at all: the offline engine runs Debian's pocketsphinx on a
 * job's audio. espeak-ng speaks the sentence; its "edward2" voice is one pocketsphinx's small
 * US English model follows well (espeak-ng's default voice loses most words, and so does the
 * provider's own formant synthesizer). The audio comes in the request, or from a recording the
 * player uploaded to content (kind=VOICE), read as the player.
 */
const SENTENCE = "the captain is ready to leave the station";
const TRANSCRIBE = "mutation($input: TranscribeAudioInput!) { transcribeAudio(input: $input) { id status } }";
const player = randomUUID();
const admin = randomUUID();

let provider: ProviderHarness;
beforeAll(async () => {
  // Installed here too when missing (the global setup does it for a whole run): never skipped.
  ensureDebianTools([POCKETSPHINX, POCKETSPHINX_EN_US, ESPEAK_NG]);
  provider = await startProvider();
}, 600_000);
afterAll(async () => {
  await provider?.stop();
});

const transcribe = (harness: ProviderHarness, audio: Buffer, extra: Record<string, unknown> = {}) =>
  harness.call<{ transcribeAudio: { id: string; status: string } }>(player, TRANSCRIBE, {
    input: { idempotencyKey: randomUUID(), audioBase64: audio.toString("base64"), contentType: "audio/wav", ...extra },
  });

/** The job once it has finished; decoding takes a few seconds, longer on a busy machine. */
async function finished(jobId: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const response = await provider.call<{ job: Record<string, unknown> }>(player, "query($id: ID!) { job(id: $id) { status text error deployment model usage { costMicros cached } } }", { id: jobId });
    const job = expectData(response).job;
    if (job.status === "SUCCEEDED" || job.status === "FAILED") return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} is still ${String(job.status)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The share of `said`'s words found in `heard`, each heard word counted once. */
function wordRecovery(said: string, heard: string): number {
  const pool = heard.toLowerCase().split(/\s+/).filter(Boolean);
  const words = said.toLowerCase().split(/\s+/);
  let found = 0;
  for (const word of words) {
    const at = pool.indexOf(word);
    if (at >= 0) {
      found++;
      pool.splice(at, 1);
    }
  }
  return found / words.length;
}

const badInput = (response: GraphQLResponse<unknown>) => ({ codes: errorCodes(response), message: response.errors?.[0]?.message ?? "" });

describe("offline speech-to-text (pocketsphinx)", () => {
  it("is a built-in deployment when pocketsphinx is installed", async () => {
    const list = expectData(await provider.call<{ providerDeployments: { name: string; kind: string; source: string }[] }>(admin, "{ providerDeployments { name kind source } }", {}, ["ADMIN"]));
    expect(list.providerDeployments).toContainEqual({ name: "offline-transcription", kind: "TRANSCRIPTION", source: "BUILTIN" });
  });

  it("transcribes a sentence espeak-ng speaks, through a job: most of its words come back", async () => {
    const wav = execFileSync(debianTool(ESPEAK_NG), ["-v", "en-us+edward2", "--stdout", SENTENCE]);
    // 22050 Hz, so the job resamples for the engine's 16 kHz.
    expect(wav.readUInt32LE(24)).toBe(22_050);
    const job = await finished(expectData(await transcribe(provider, wav, { language: "en" })).transcribeAudio.id);
    expect(job).toMatchObject({ status: "SUCCEEDED", deployment: "offline-transcription", model: "pocketsphinx-en-us", usage: { costMicros: 0, cached: false } });
    expect(typeof job.text).toBe("string");
    // Measured: every word ("the captain is ready to leave the station").
    expect({ heard: job.text, recovered: wordRecovery(SENTENCE, job.text as string) >= 0.6 }).toEqual({ heard: job.text, recovered: true });
  });

  it("refuses, up front and naming the field, audio it cannot read", async () => {
    const mp3 = await transcribe(provider, Buffer.from("ID3\u0004\u0000\u0000\u0000\u0000\u0000\u0000fake mp3"), { contentType: "audio/mpeg" });
    expect(badInput(mp3)).toEqual({ codes: ["BAD_USER_INPUT"], message: expect.stringContaining("reads audio/wav only, not audio/mpeg") });
    expect(JSON.stringify(mp3.errors)).toContain("contentType");

    const notWav = await transcribe(provider, Buffer.from("RIFF"));
    expect(badInput(notWav)).toEqual({ codes: ["BAD_USER_INPUT"], message: expect.stringContaining("not a WAV file") });
    expect(JSON.stringify(notWav.errors)).toContain("audioBase64");

    const wav = execFileSync(debianTool(ESPEAK_NG), ["--stdout", "bonjour"]);
    expect(badInput(await transcribe(provider, wav, { language: "fr" }))).toEqual({ codes: ["BAD_USER_INPUT"], message: expect.stringContaining("English only") });
  });
});

describe("without pocketsphinx", () => {
  it("transcription is refused as NOT_CONFIGURED, and the worker says why once, at start", async () => {
    const bare = await startProvider({ PROVIDER_POCKETSPHINX_COMMAND: "/nonexistent/pocketsphinx_continuous" });
    try {
      const response = await transcribe(bare, execFileSync(debianTool(ESPEAK_NG), ["--stdout", "hello"]));
      expect(errorCodes(response)).toEqual(["SERVICE_UNAVAILABLE"]);
      expect(response.errors?.[0]?.extensions?.reason).toBe("NOT_CONFIGURED");
      const said = bare.logs.worker.lines().filter((line) => String(line.msg).includes("speech-to-text"));
      expect(said).toEqual([expect.objectContaining({ reason: expect.stringContaining("apt-get install pocketsphinx pocketsphinx-en-us") })]);
    } finally {
      await bare.stop();
    }
  });
});

describe("a recording the player uploaded to content (kind=VOICE), on a whole stack", () => {
  let stack: Stack;
  let alice: TestUser;
  let bob: TestUser;
  let providerDb: pg.Client;

  beforeAll(async () => {
    stack = await startStack({ logLevel: "warn" });
    const tag = randomUUID().slice(0, 6);
    [alice, bob] = await Promise.all([registerUser(stack.graphqlUrl, `Alice ${tag}`), registerUser(stack.graphqlUrl, `Bob ${tag}`)]);
    providerDb = new pg.Client({ connectionString: required("PROVIDER_DATABASE_URL") });
    await providerDb.connect();
  }, 120_000);
  afterAll(async () => {
    await providerDb?.end();
    await stack?.stop();
  });

  type Asset = { id: string; kind: string; visibility: string; mediaType: string; size: number; url: string };
  /** Through the gateway's public origin, as a client uploads. */
  async function upload(user: TestUser, kind: string, body: Buffer, contentType: string): Promise<Asset> {
    const response = await fetch(`${stack.gatewayUrl}/content/assets?kind=${kind}`, { method: "POST", headers: { authorization: `Bearer ${user.accessToken}`, "content-type": contentType }, body });
    const answer = (await response.json()) as { asset?: Asset };
    if (response.status !== 201 || !answer.asset) throw new Error(`the upload was answered ${response.status}: ${JSON.stringify(answer)}`);
    return answer.asset;
  }
  const transcribeAs = (user: TestUser, input: Record<string, unknown>) =>
    postGraphQL<{ transcribeAudio: { id: string; status: string } }>(stack.graphqlUrl, { query: TRANSCRIBE, variables: { input: { idempotencyKey: randomUUID(), ...input } } }, { token: user.accessToken });
  const finishedFor = (user: TestUser, id: string) =>
    eventually(
      `job ${id} finished`,
      async () => {
        const response = await postGraphQL<{ job: Record<string, unknown> }>(stack.graphqlUrl, { query: "query($id: ID!) { job(id: $id) { status text error deployment model } }", variables: { id } }, { token: user.accessToken });
        const job = expectData(response).job;
        return job.status === "SUCCEEDED" || job.status === "FAILED" ? job : undefined;
      },
      90_000,
      100,
    );
  const jobsOf = async (user: TestUser) => Number((await providerDb.query<{ count: string }>("SELECT count(*) FROM provider_jobs WHERE owner_id = $1", [user.user.id])).rows[0]!.count);
  const refusal = (response: GraphQLResponse<unknown>) => ({ codes: errorCodes(response), message: response.errors?.[0]?.message, fields: response.errors?.[0]?.extensions?.fields });

  it("transcribes the player's own private recording by its asset id: most of its words come back", async () => {
    const wav = execFileSync(debianTool(ESPEAK_NG), ["-v", "en-us+edward2", "--stdout", SENTENCE]);
    const voice = await upload(alice, "VOICE", wav, "audio/wav");
    expect(voice).toMatchObject({ kind: "VOICE", visibility: "PRIVATE", mediaType: "audio/wav", size: wav.length });

    const job = await finishedFor(alice, expectData(await transcribeAs(alice, { audioAssetId: voice.id, language: "en" })).transcribeAudio.id);
    expect(job).toMatchObject({ status: "SUCCEEDED", deployment: "offline-transcription", model: "pocketsphinx-en-us" });
    expect({ heard: job.text, recovered: wordRecovery(SENTENCE, job.text as string) >= 0.6 }).toEqual({ heard: job.text, recovered: true });
  });

  it("refuses someone else's recording as one that does not exist, an image as no audio, and both or neither source; none of them makes a job", async () => {
    const bobsVoice = await upload(bob, "VOICE", execFileSync(debianTool(ESPEAK_NG), ["--stdout", "my secret plans"]), "audio/wav");
    const avatar = await upload(alice, "AVATAR", encodePng(4, 4, new Uint8Array(randomBytes(64))), "image/png");
    const wav = execFileSync(debianTool(ESPEAK_NG), ["--stdout", "hello"]);
    const before = await jobsOf(alice);

    expect(refusal(await transcribeAs(alice, { audioAssetId: bobsVoice.id }))).toEqual({ codes: ["NOT_FOUND"], message: "No such audio asset", fields: undefined });
    expect(refusal(await transcribeAs(alice, { audioAssetId: randomUUID() }))).toEqual({ codes: ["NOT_FOUND"], message: "No such audio asset", fields: undefined });
    expect(refusal(await transcribeAs(alice, { audioAssetId: avatar.id }))).toEqual({
      codes: ["BAD_USER_INPUT"],
      message: "audioAssetId is not audio (an AVATAR asset of image/png)",
      fields: [{ field: "audioAssetId", message: expect.any(String) }],
    });
    expect(refusal(await transcribeAs(alice, { audioAssetId: bobsVoice.id, audioBase64: wav.toString("base64"), contentType: "audio/wav" }))).toMatchObject({
      codes: ["BAD_USER_INPUT"],
      fields: [{ field: "audioAssetId", message: "must not be given with audioBase64" }],
    });
    expect(refusal(await transcribeAs(alice, {}))).toMatchObject({ codes: ["BAD_USER_INPUT"], fields: [{ field: "audioBase64", message: "or audioAssetId is required" }] });

    expect(await jobsOf(alice)).toBe(before);
    // Bob's recording is still his alone, and transcribed for him.
    const bobsJob = await finishedFor(bob, expectData(await transcribeAs(bob, { audioAssetId: bobsVoice.id })).transcribeAudio.id);
    expect(bobsJob).toMatchObject({ status: "SUCCEEDED" });
  });
});
