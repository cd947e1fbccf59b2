/** Readers for untrusted command payloads: a value of the right type, or undefined. */
export const str = (payload: Record<string, unknown>, key: string): string | undefined => {
  const value = payload[key];
  return typeof value === "string" && value.length > 0 && value.length <= 200 ? value : undefined;
};

export const int = (payload: Record<string, unknown>, key: string, min: number, max: number): number | undefined => {
  const value = payload[key];
  return typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max ? value : undefined;
};
