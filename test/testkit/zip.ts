import yazl from "yazl";

/** An entry of a zip a test makes: a folder when its name ends in `/`; `mode` a Unix mode (a link: 0o120777). */
export type ZipEntry = { name: string; bytes?: Buffer; mode?: number; compress?: boolean };

/** A zip of `entries`, in order, as a pack's maker would upload it (yazl writes what zip tools write). */
export async function zipOf(entries: ZipEntry[] | Record<string, Buffer>): Promise<Buffer> {
  const list: ZipEntry[] = Array.isArray(entries) ? entries : Object.entries(entries).map(([name, bytes]) => ({ name, bytes }));
  const zip = new yazl.ZipFile();
  for (const entry of list) {
    if (entry.name.endsWith("/")) zip.addEmptyDirectory(entry.name);
    else zip.addBuffer(entry.bytes ?? Buffer.from("{}"), entry.name, { mode: entry.mode, compress: entry.compress ?? true });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
