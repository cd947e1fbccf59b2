import { createParser } from "eventsource-parser";

/**
 * The `data:` payloads of a text/event-stream body, one per event (multi-line data joined by
 * newlines). Ends when the body ends; a reset or abort is thrown to the reader. Comments and
 * events without a `data:` line yield nothing; `data:` with nothing after it yields "".
 */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const ready: string[] = [];
  const parser = createParser({ onEvent: (event) => ready.push(event.data) });
  let atLineEnd = true;
  const feed = (text: string) => {
    if (text === "") return;
    parser.feed(text);
    atLineEnd = text.endsWith("\n") || text.endsWith("\r");
  };
  for await (const bytes of body as unknown as AsyncIterable<Uint8Array>) {
    feed(decoder.decode(bytes, { stream: true }));
    yield* ready.splice(0);
  }
  feed(decoder.decode());
  // Servers often close right after an event's last line, without the blank line that would
  // end it: that event arrived whole and is dispatched. One cut off mid-line is dropped.
  if (atLineEnd) parser.feed("\n\n");
  yield* ready.splice(0);
}
