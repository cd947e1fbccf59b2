import type { OutboxRow, OutboxSource } from "@startales/service-kit";

/**
 * An outbox source that runs `afterClaim` on each claim's rows before the relay sees them,
 * inside the claim's transaction: how the relay tests crash a relay, or cut its connection,
 * between claiming a batch and publishing it.
 */
export function onClaim(source: OutboxSource, afterClaim: (rows: OutboxRow[]) => Promise<void> | void): OutboxSource {
  return {
    transaction: (work) =>
      source.transaction((tx) =>
        work({
          ...tx,
          async claim(limit) {
            const rows = await tx.claim(limit);
            await afterClaim(rows);
            return rows;
          },
        }),
      ),
  };
}
