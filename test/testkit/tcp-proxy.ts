import { connect, createServer, type Socket } from "node:net";

export type TcpProxy = {
  /** Where to connect instead of the target (127.0.0.1). */
  port: number;
  /** Stops listening and cuts every open connection: new ones are refused (ECONNREFUSED) until restore(). */
  refuse(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  /** Holds every byte in both directions while connections stay open: a dependency that hangs. */
  stall(): void;
  /** Delivers what was held and forwards again. */
  flow(): void;
  close(): Promise<void>;
};

type Pair = { client: Socket; upstream: Socket };

/**
 * A TCP forwarder between a service and a real dependency (PostgreSQL, Redis), so a test can
 * take the dependency away from that one service, or make it hang, without touching the
 * shared server every other suite uses.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let stalled = false;
  const forward = ({ client, upstream }: Pair) => {
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const hold = ({ client, upstream }: Pair) => {
    client.unpipe(upstream);
    upstream.unpipe(client);
    client.pause();
    upstream.pause();
  };
  const server = createServer((client) => {
    const pair = { client, upstream: connect(target.port, target.host) };
    pairs.add(pair);
    const cut = () => {
      pairs.delete(pair);
      client.destroy();
      pair.upstream.destroy();
    };
    for (const socket of [client, pair.upstream]) {
      socket.on("error", cut);
      socket.on("close", cut);
    }
    if (stalled) hold(pair);
    else forward(pair);
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  await listen(0);
  const { port } = server.address() as { port: number };
  const refuse = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
    });
  return {
    port,
    refuse,
    restore: () => (server.listening ? Promise.resolve() : listen(port)),
    stall() {
      stalled = true;
      pairs.forEach(hold);
    },
    flow() {
      stalled = false;
      pairs.forEach(forward);
    },
    close: refuse,
  };
}
