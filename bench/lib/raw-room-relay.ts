/**
 * The baseline of bench/chat.ts: a bare `ws` chat relay (its own process, like the gateway).
 * A socket joins the room named by its URL (`/?room=<name>`); each frame it sends is
 * forwarded as is to the other sockets of that room, then answered with `ack` (what the
 * sender's mutation answer is on the real path). No storage, no authorization, nothing else.
 * Started with fork(); reports its port.
 */
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";

const rooms = new Map<string, Set<WebSocket>>();
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });

wss.on("connection", (socket, request) => {
  const room = new URL(request.url ?? "/", "ws://relay").searchParams.get("room") ?? "";
  const members = rooms.get(room) ?? new Set<WebSocket>();
  rooms.set(room, members);
  members.add(socket);
  socket.on("message", (data, isBinary) => {
    for (const member of members) if (member !== socket) member.send(data, { binary: isBinary });
    socket.send("ack");
  });
  socket.on("close", () => {
    members.delete(socket);
    if (members.size === 0) rooms.delete(room);
  });
});
wss.on("listening", () => process.send?.({ port: (wss.address() as AddressInfo).port }));
process.on("disconnect", () => process.exit(0));
