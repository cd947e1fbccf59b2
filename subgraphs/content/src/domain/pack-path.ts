/** One segment of a file's path in a pack: no `.`/`..`, no separators, no hidden files, nothing a filesystem or a zip could misread. */
const PATH_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/;
const MAX_PATH_SEGMENTS = 8;

/** Checks a file's path in a pack: relative, `/`-separated, each segment plain (nothing can escape the pack when it is unpacked). */
export function checkPackPath(path: string): string | null {
  const segments = path.split("/");
  if (path.length > 512 || segments.length > MAX_PATH_SEGMENTS) return `at most ${MAX_PATH_SEGMENTS} segments and 512 characters`;
  const bad = segments.find((segment) => !PATH_SEGMENT.test(segment) || /^\.+$/.test(segment));
  return bad === undefined ? null : `segment ${JSON.stringify(bad)} must be letters, digits, '.', '_' or '-', not start with '.' or '-', and not be '.' or '..'`;
}

