/** A tick broke conservation: an asset's total moved by more than its recorded sources and sinks. */
export class ConservationError extends Error {
  override readonly name = "ConservationError";
  constructor(
    readonly tick: number,
    readonly asset: string,
    readonly expected: number,
    readonly actual: number,
    detail?: string,
  ) {
    super(
      `Conservation violated at tick ${tick} for ${asset}: expected total ${expected}, found ${actual}` +
        (detail ? ` (${detail})` : ""),
    );
  }
}
