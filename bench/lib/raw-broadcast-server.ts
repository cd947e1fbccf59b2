/**
 * The baseline of bench/subscriptions.ts: a bare `ws` server (its own process, like the
 * gateway) that sends a frame it is handed to every connected socket, nothing else.
 * Started with fork(); reports its port, then broadcasts each { frame } message.
 */
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
wss.on("listening", () => process.send?.({ port: (wss.address() as AddressInfo).port }));
process.on("message", (message: { frame?: string }) => {
  if (typeof message.frame !== "string") return;
  for (const client of wss.clients) client.send(message.frame);
});
process.on("disconnect", () => process.exit(0));
