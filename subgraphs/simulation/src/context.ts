import type { SubgraphContext } from "@startales/service-kit";
import type { SimulationLoaders } from "./loaders";

export type SimulationContext = SubgraphContext<SimulationLoaders>;
