import type { SubgraphContext } from "@startales/service-kit";

/** Content answers each field with one query: no loaders to share within a request. */
export type ContentLoaders = Record<string, never>;

export type ContentContext = SubgraphContext<ContentLoaders>;
