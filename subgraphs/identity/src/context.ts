import type { SubgraphContext } from "@startales/service-kit";
import type { IdentityLoaders } from "./loaders";

export type IdentityContext = SubgraphContext<IdentityLoaders>;
