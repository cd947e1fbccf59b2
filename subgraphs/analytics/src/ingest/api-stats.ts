import type { EventData } from "@startales/service-kit";
import type { EventRow } from "./event-rows";

/** One operation × client × version of one OPERATION_STATS event, as the rollups take it. */
export type ApiOperationRow = {
  eventId: string;
  minute: string;
  operation: string;
  clientName: string;
  clientVersion: string;
  requests: number;
  errors: number;
  durationMsSum: number;
  /** Per latency bucket (OPERATION_LATENCY_BUCKETS_MS, then longer). */
  buckets: number[];
};

export type ApiErrorRow = { eventId: string; minute: string; operation: string; clientName: string; clientVersion: string; code: string; count: number };

export type DeprecatedUseRow = { eventId: string; minute: string; field: string; clientName: string; clientVersion: string; count: number };

/**
 * The gateway's OPERATION_STATS events of a batch, flattened into the three API rollups'
 * rows, each tagged with its event so an engine keeps only those of events new to it. The
 * contract (OPERATION_STATS) has checked their shape.
 */
export function apiStatRows(rows: EventRow[]): { operations: ApiOperationRow[]; errors: ApiErrorRow[]; deprecated: DeprecatedUseRow[] } {
  const operations: ApiOperationRow[] = [];
  const errors: ApiErrorRow[] = [];
  const deprecated: DeprecatedUseRow[] = [];
  for (const row of rows) {
    if (row.type !== "OPERATION_STATS") continue;
    const data = row.data as EventData<"OPERATION_STATS">;
    const minute = new Date(Math.floor(Date.parse(data.minute) / 60_000) * 60_000).toISOString();
    for (const stats of data.operations) {
      const key = { eventId: row.id, minute, operation: stats.operation, clientName: stats.clientName, clientVersion: stats.clientVersion };
      operations.push({ ...key, requests: stats.requests, errors: stats.errors, durationMsSum: stats.durationMsSum, buckets: stats.durationBuckets });
      for (const [code, count] of Object.entries(stats.errorCodes)) errors.push({ ...key, code, count });
      for (const [field, count] of Object.entries(stats.deprecated)) deprecated.push({ eventId: row.id, minute, field, clientName: stats.clientName, clientVersion: stats.clientVersion, count });
    }
  }
  return { operations, errors, deprecated };
}
