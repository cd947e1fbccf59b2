import { describeContentPacks } from "./content-packs.story";

/** Content packs on the filesystem driver (the story is in content-packs.story.ts). */
jest.setTimeout(120_000);
describeContentPacks("filesystem");
