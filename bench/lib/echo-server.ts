/**
 * A bare HTTP server for bench/lib/loopback-floor.ts (its own process, like each service):
 * answers every request with a small JSON body at once. Started with fork(); reports its port.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const body = '{"data":{"__typename":"Query"}}';
const server = createServer((request, response) => {
  request.resume();
  request.on("end", () => response.writeHead(200, { "content-type": "application/json", "content-length": body.length }).end(body));
});
server.listen(0, "127.0.0.1", () => process.send?.({ port: (server.address() as AddressInfo).port }));
process.on("disconnect", () => process.exit(0));
