/*
 * SQL literals for ClickHouse 18.16, which has no query parameters (the HTTP client's
 * `param_<name>` reads there as an unknown setting): every value in a statement is made
 * here, from a value checked first, so nothing a caller sends is ever spliced in as SQL.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A quoted string: backslashes and quotes escaped, as ClickHouse reads string literals. */
export const str = (value: string): string => `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

/** A UUID, refused unless it is one. */
export function uuid(value: string): string {
  if (!UUID.test(value)) throw new Error(`not a UUID: ${value}`);
  return `toUUID('${value.toLowerCase()}')`;
}

/**
 * A UUID as text, for `IN (...)` on a UUID column: 18.16 compares a UUID column with text, but
 * refuses a set of toUUID() values there ("Expected: String. Got: UInt128").
 */
export function uuidText(value: string): string {
  if (!UUID.test(value)) throw new Error(`not a UUID: ${value}`);
  return `'${value.toLowerCase()}'`;
}

/** A UTC day, `2026-12-07`. */
export function day(value: string): string {
  if (!DAY.test(value)) throw new Error(`not a day: ${value}`);
  return `toDate('${value}')`;
}

/** A moment, to the second (DateTime has no finer grain in 18.16). */
export const at = (value: Date): string => `toDateTime(${Math.floor(value.getTime() / 1000)})`;

/** A count the caller chose (a limit, a window): a whole number or nothing. */
export function int(value: number): string {
  if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
  return String(value);
}

/** `2026-12-07 10:11:12`, as the server (in UTC) writes a DateTime, read back as a Date. */
export const dateOfDateTime = (text: string): Date => new Date(`${text.replace(" ", "T")}Z`);
