import { readSse } from "../../subgraphs/provider/src/drivers/sse";

/** A body delivering exactly these byte chunks, one per read, then closing (or failing with `error`). */
function body(chunks: (string | Uint8Array)[], error?: Error): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[next++];
      if (chunk !== undefined) controller.enqueue(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
      else if (error) controller.error(error);
      else controller.close();
    },
  });
}

async function read(chunks: (string | Uint8Array)[]): Promise<string[]> {
  const seen: string[] = [];
  for await (const data of readSse(body(chunks))) seen.push(data);
  return seen;
}

describe("readSse (text/event-stream bodies)", () => {
  it("yields each event's data across chunk boundaries, joining multi-line data with newlines", async () => {
    expect(await read(['data: {"a":', '1}\n\n: comment\ndata: x\ndata: y\n\ndata: [DONE]\n\n'])).toEqual(['{"a":1}', "x\ny", "[DONE]"]);
  });

  it("reads CRLF and bare CR line endings, even when a CRLF is split between chunks", async () => {
    expect(await read(["data: one\r\n\r\n", "data: two\r", "\n", "data: more\r\rdata: three\r\n", "\r\n"])).toEqual(["one", "two\nmore", "three"]);
  });

  it("joins a data line split across two chunks, and keeps the value after the one optional space", async () => {
    expect(await read(["da", "ta:", " hel", "lo\n", "\n", "data:no-space\n\n", "data:  two spaces\n\n"])).toEqual(["hello", "no-space", " two spaces"]);
  });

  it("decodes multi-byte UTF-8 characters split between chunks", async () => {
    const bytes = new TextEncoder().encode("data: Café ☄ 🚀 Ω\n\n");
    // One byte per chunk: every multi-byte character is cut somewhere.
    expect(await read([...bytes].map((byte) => Uint8Array.of(byte)))).toEqual(["Café ☄ 🚀 Ω"]);
  });

  it("skips comments and events without data; an empty data line is an empty event", async () => {
    const chunks = [": keep-alive\n\n", "event: ping\n\n", "id: 7\nretry: 1000\n\n", ":\n", "unknown: field\n\n", "data:\n\n", "data: after\n\n"];
    expect(await read(chunks)).toEqual(["", "after"]);
  });

  it("leaves [DONE] to the caller: it is data like any other and what follows is still read", async () => {
    expect(await read(["data: [DONE]\n\ndata: late\n\n"])).toEqual(["[DONE]", "late"]);
  });

  it("strips a byte order mark at the start of the body", async () => {
    expect(await read([Uint8Array.of(0xef, 0xbb, 0xbf), "data: first\n\n"])).toEqual(["first"]);
  });

  it("at the end of the body, dispatches an event whose lines all arrived and drops one cut off mid-line", async () => {
    expect(await read(["data: whole\n"])).toEqual(["whole"]);
    expect(await read(["data: whole\r"])).toEqual(["whole"]);
    expect(await read(["data: one\n\n", 'data: {"cut'])).toEqual(["one"]);
    expect(await read([])).toEqual([]);
  });

  it("yields events as their chunks arrive, not when the body ends", async () => {
    let push!: (text: string) => void;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (text) => controller.enqueue(new TextEncoder().encode(text));
      },
    });
    const events = readSse(stream);
    push("data: early\n\n");
    await expect(events.next()).resolves.toEqual({ value: "early", done: false });
    await events.return(undefined);
  });

  it("throws a reset of the body to the reader, after the events that came before it", async () => {
    const seen: string[] = [];
    const reading = (async () => {
      for await (const data of readSse(body(["data: before\n\n"], new Error("socket hang up")))) seen.push(data);
    })();
    await expect(reading).rejects.toThrow("socket hang up");
    expect(seen).toEqual(["before"]);
  });
});
