import { createFilesystemDriver } from "./filesystem-driver";
import { type S3DriverOptions, createS3Driver } from "./s3-driver";
import { type StorageDriver } from "./storage-driver";

export * from "./storage-driver";
export { createFilesystemDriver } from "./filesystem-driver";
export { type S3DriverOptions, createS3Driver } from "./s3-driver";

export type StorageOptions = { kind: "filesystem"; dir: string } | ({ kind: "s3" } & S3DriverOptions);

export function createStorageDriver(options: StorageOptions): StorageDriver {
  if (options.kind === "filesystem") return createFilesystemDriver({ dir: options.dir });
  const { kind: _kind, ...s3 } = options;
  return createS3Driver(s3);
}
