import type { SubgraphContext } from "@startales/service-kit";
import type { RealtimeLoaders } from "./loaders";

export type RealtimeContext = SubgraphContext<RealtimeLoaders>;
