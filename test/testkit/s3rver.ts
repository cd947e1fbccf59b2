import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

type S3rverInstance = { run(): Promise<{ address: string; port: number }>; close(): Promise<void> };
type S3rverOptions = { port: number; address: string; silent: boolean; directory: string; configureBuckets: { name: string }[] };
// s3rver ships no types.
const S3rver = require("s3rver") as new (options: S3rverOptions) => S3rverInstance;

export type TestS3 = {
  /** Where its files are (`<directory>/<bucket>/<key>`). */
  directory: string;
  bucket: string;
  /** The S3 driver's connection to it (s3rver's one built-in key pair). */
  connection: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; forcePathStyle: true };
  /** The same, as content's environment (CONTENT_STORAGE=s3). */
  contentEnv: Record<string, string>;
  close(): Promise<void>;
};

/** A real S3-compatible server (s3rver) on loopback, with one bucket, in a directory of its own. */
export async function startS3rver(bucket = "content-test"): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), "startales-s3rver-"));
  const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory, configureBuckets: [{ name: bucket }] });
  // Bound by s3rver itself as it starts, so the port it reports is already its own.
  const { port } = await server.run();
  const connection = { endpoint: `http://127.0.0.1:${port}`, region: "us-east-1", accessKeyId: "S3RVER", secretAccessKey: "S3RVER", forcePathStyle: true as const };
  return {
    directory,
    bucket,
    connection,
    contentEnv: {
      CONTENT_STORAGE: "s3",
      S3_ENDPOINT: connection.endpoint,
      S3_REGION: connection.region,
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: connection.accessKeyId,
      S3_SECRET_ACCESS_KEY: connection.secretAccessKey,
      S3_FORCE_PATH_STYLE: "true",
    },
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
