import WebSocket from "ws";
import { progress } from "./report";

/**
 * `work(0)` … `work(count - 1)`, `size` at a time (set-up through the real API, socket
 * opening: bounded so the stack is not flooded), with a progress line; results in order.
 */
export async function inBatches<T>(count: number, size: number, work: (i: number) => Promise<T>, unit = ""): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < count; i += size) {
    results.push(...(await Promise.all(Array.from({ length: Math.min(size, count - i) }, (_, k) => work(i + k)))));
    progress(`\r  ${results.length}/${count}${unit}`);
  }
  progress("\n");
  return results;
}

/** An open WebSocket to `url` (no compression: benches compare raw frame costs). */
export function connect(url: string, protocol?: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocol, { perMessageDeflate: false });
    socket.once("open", () => resolve(socket));
    socket.once("error", reject);
  });
}
