import { Prisma } from "../../generated/prisma/client";

/**
 * `ARRAY[sum(col[1]), …, sum(col[n])]::int[]`: the element-wise sum of the rows' fixed-length
 * histograms (PostgreSQL has no aggregate for it). `column` is one of ours, never input.
 */
export const summedHistogram = (column: string, length: number) =>
  Prisma.raw(`ARRAY[${Array.from({ length }, (_v, i) => `sum(${column}[${i + 1}])`).join(", ")}]::int[]`);
