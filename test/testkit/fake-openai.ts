import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { encodePng } from "../../subgraphs/provider/src/offline/png";
import { encodeWav } from "../../subgraphs/provider/src/offline/wav";

/** What the fake does with the next request: answer, fail with a status, hang, cut a stream midway, or wait. */
export type Behaviour =
  | { kind: "ok" }
  | { kind: "status"; status: number; retryAfter?: string }
  | { kind: "hang" }
  | { kind: "cut"; afterChunks: number }
  | { kind: "gate"; until: Promise<void> };

export type RecordedRequest = { path: string; headers: IncomingMessage["headers"]; body: unknown; raw: Buffer };

export type FakeOpenAi = {
  /** e.g. http://127.0.0.1:PORT/v1: a deployment's baseUrl. */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Requests to one endpoint ("/v1/chat/completions"). */
  calls(path: string): RecordedRequest[];
  /** The next requests behave so, in order; then "ok". */
  queue(...behaviours: Behaviour[]): void;
  /** The text chat completions answer with (streamed word by word). */
  reply: string;
  stop(): Promise<void>;
};

const USAGE = { prompt_tokens: 21, completion_tokens: 9 };

/**
 * A vendor speaking the OpenAI wire protocol on loopback: chat completions (JSON, or SSE with
 * `data:` events, usage in the last one, then `data: [DONE]`), audio speech (WAV), audio
 * transcriptions (multipart in, JSON out) and image generations (b64 PNG). It can be told to
 * fail: a status (429 with Retry-After, 500…), hang until the client times out, or stop a
 * stream midway by destroying the socket.
 */
export async function startFakeOpenAi(options: { reply?: string } = {}): Promise<FakeOpenAi> {
  const pending: Behaviour[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const fake = { reply: options.reply ?? "The quartermaster leans closer and whispers of a hidden route." } as FakeOpenAi;

  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const path = (req.url ?? "").split("?")[0]!;
    let body: unknown = null;
    if ((req.headers["content-type"] ?? "").includes("json")) body = JSON.parse(raw.toString("utf8"));
    requests.push({ path, headers: req.headers, body, raw });
    const behaviour = pending.shift() ?? { kind: "ok" };
    if (behaviour.kind === "hang") return; // the socket stays open; the client's timeout ends it
    if (behaviour.kind === "status") {
      res.writeHead(behaviour.status, { "content-type": "application/json", ...(behaviour.retryAfter ? { "retry-after": behaviour.retryAfter } : {}) });
      return void res.end(JSON.stringify({ error: { message: `fake failure ${behaviour.status}`, type: "fake" } }));
    }
    if (behaviour.kind === "gate") await behaviour.until;
    await answer(path, body, raw, req, res, behaviour);
  });

  async function answer(path: string, body: unknown, raw: Buffer, req: IncomingMessage, res: ServerResponse, behaviour: Behaviour) {
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    if (path === "/v1/chat/completions") {
      const request = body as { model: string; stream?: boolean };
      if (!request.stream) {
        return json(200, { id: "chatcmpl-fake", object: "chat.completion", model: request.model, choices: [{ index: 0, message: { role: "assistant", content: fake.reply }, finish_reason: "stop" }], usage: USAGE });
      }
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      const words = fake.reply.match(/\S+\s*/g) ?? [fake.reply];
      for (let i = 0; i < words.length; i++) {
        if (behaviour.kind === "cut" && i === behaviour.afterChunks) return void req.socket.destroy();
        res.write(`data: ${JSON.stringify({ id: "chatcmpl-fake", object: "chat.completion.chunk", model: request.model, choices: [{ index: 0, delta: { content: words[i] } }] })}\n\n`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      res.write(`data: ${JSON.stringify({ id: "chatcmpl-fake", object: "chat.completion.chunk", choices: [], usage: USAGE })}\n\n`);
      res.write("data: [DONE]\n\n");
      return void res.end();
    }
    if (path === "/v1/audio/speech") {
      const wav = encodeWav(new Float32Array(1600).map((_, i) => Math.sin(i / 4) * 0.3), 16_000);
      res.writeHead(200, { "content-type": "audio/wav", "content-length": wav.length });
      return void res.end(wav);
    }
    if (path === "/v1/audio/transcriptions") {
      if (!raw.includes(Buffer.from('name="file"'))) return json(400, { error: { message: "file is required" } });
      return json(200, { text: "set a course for the outer rim" });
    }
    if (path === "/v1/images/generations") {
      const png = encodePng(2, 2, new Uint8Array(16).fill(200));
      return json(200, { created: 0, data: [{ b64_json: png.toString("base64") }] });
    }
    json(404, { error: { message: "unknown endpoint" } });
  }

  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    calls: (path: string) => requests.filter((r) => r.path === path),
    queue: (...behaviours: Behaviour[]) => void pending.push(...behaviours),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
}
