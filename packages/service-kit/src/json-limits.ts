/** How deep and how large a JSON value from a client may be before anything walks it recursively. */
export type JsonLimits = { maxDepth: number; maxValues: number };

export type JsonViolation = { kind: "depth" | "size" | "nul"; path: string };

const pathOf = (parts: readonly (string | number)[]) =>
  parts.reduce<string>((path, part) => (typeof part === "number" ? `${path}[${part}]` : path ? `${path}.${part}` : part), "");

/**
 * How many values `value` holds, and the first place where it is deeper than `maxDepth` (a
 * scalar at the top is depth 0, each object or array level adds one) or holds more than
 * `maxValues` values in all. JSON.parse builds any nesting without trouble, but
 * JSON.stringify, graphql-js's coercion and most serializers recurse: a client's
 * 5,000-level value would overflow the stack of whoever touches it next. So this walk is
 * iterative (an explicit stack) and stops at the first violation. A string or key holding
 * U+0000 is a violation too: PostgreSQL's text and jsonb cannot store it, so such a value
 * would fail deep in a subgraph as an internal error instead of here as the client's.
 */
export function checkJsonLimits(value: unknown, limits: JsonLimits, root = ""): { violation?: JsonViolation; values: number } {
  type Frame = { value: unknown; depth: number; path: readonly (string | number)[] };
  const stack: Frame[] = [{ value, depth: 0, path: root ? [root] : [] }];
  // Counted when a container is opened, so a wide array is refused before its members are stacked.
  let values = 1;
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const current = frame.value;
    if (typeof current === "string" && current.includes("\u0000")) return { violation: { kind: "nul", path: pathOf(frame.path) }, values };
    if (current === null || typeof current !== "object") continue;
    const depth = frame.depth + 1;
    if (depth > limits.maxDepth) return { violation: { kind: "depth", path: pathOf(frame.path) }, values };
    const members: [string | number, unknown][] = Array.isArray(current) ? current.map((member, i) => [i, member]) : Object.entries(current);
    values += members.length;
    if (!Array.isArray(current) && members.some(([key]) => (key as string).includes("\u0000"))) return { violation: { kind: "nul", path: pathOf(frame.path) }, values };
    if (values > limits.maxValues) return { violation: { kind: "size", path: pathOf(frame.path) }, values };
    // Paths only name where a violation is; past a few levels the prefix says enough.
    const prefix = frame.path.length < 8 ? frame.path : frame.path.slice(0, 8);
    for (let i = members.length - 1; i >= 0; i--) stack.push({ value: members[i]![1], depth, path: [...prefix, members[i]![0]] });
  }
  return { values };
}

/** A client-facing sentence for a violation of `what` (e.g. "Variable $input"). */
export function describeJsonViolation(violation: JsonViolation, limits: JsonLimits, what: string): string {
  const at = violation.path ? ` at ${violation.path}` : "";
  if (violation.kind === "nul") return `${what} holds a NUL character (U+0000)${at}: text may not contain it`;
  return violation.kind === "depth"
    ? `${what} is nested too deep${at}: at most ${limits.maxDepth} levels`
    : `${what} holds too many values${at}: at most ${limits.maxValues}`;
}
