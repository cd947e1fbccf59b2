// What scripts/build-explorer.mjs hands the bundle at build time.

/** Monaco's web workers: the hashed file names beside the bundle. */
declare const EXPLORER_WORKERS: { editor: string; json: string; graphql: string };

/** The operation catalogue (packages/client/operations/*.graphql) when the page was built. */
declare module "explorer:catalogue" {
  const catalogue: {
    /** One per file, in file-name order: its text as written. */
    tabs: { file: string; query: string }[];
  };
  export default catalogue;
}
