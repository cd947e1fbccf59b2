import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Where the kernel draws the ports of `listen(0)` and of outgoing connections from. */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (low && high) return [low, high];
  } catch {
    // Not Linux: its default range.
  }
  return [32_768, 60_999];
}

const FLOOR = 20_000;
const handedOut = new Set<number>();

const bindable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });

/**
 * A port for a process a test starts and that binds it itself, later. Taken below the
 * kernel's ephemeral range: a port `listen(0)` found free there could be handed, before the
 * process binds it, to any parallel test's `listen(0)` or outgoing connection (CI saw a dev
 * loop's notification worker die of EADDRINUSE so). Random between 20000 and that range,
 * free when checked, and never handed out twice by one test process.
 */
export async function unusedPort(): Promise<number> {
  const [low] = ephemeralRange();
  const ceiling = Math.max(FLOOR + 1_000, low);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = FLOOR + Math.floor(Math.random() * (ceiling - FLOOR));
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port between ${FLOOR} and ${ceiling} after 200 tries`);
}
