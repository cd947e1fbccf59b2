import { createRedis } from "@startales/service-kit";

/**
 * The service kit's Redis client: an error ioredis raises as an 'error' event (a reply that
 * arrives after disconnect() emptied the command queue is one) is reported, never thrown at
 * the process, and the client goes on answering.
 */
it("reports an 'error' event as a JSON line instead of ending the process, and keeps working", async () => {
  const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", "redis-client-test");
  const written: string[] = [];
  const write = jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
  try {
    await redis.ping();
    // What ioredis's parser emits for a reply no command waits for.
    expect(() => redis.emit("error", new Error("Command queue state error. Last reply: 1,1-0"))).not.toThrow();
    expect(written.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ level: "warn", component: "redis", connection: "redis-client-test", err: { message: "Command queue state error. Last reply: 1,1-0" } }),
    ]);
    expect(await redis.ping()).toBe("PONG");
  } finally {
    write.mockRestore();
    redis.disconnect();
  }
});
