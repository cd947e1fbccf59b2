import { describeContentPacks } from "./content-packs.story";

/** Content packs on the S3 driver, against a real S3 server (s3rver): the same story as on the filesystem. */
jest.setTimeout(120_000);
describeContentPacks("s3");
