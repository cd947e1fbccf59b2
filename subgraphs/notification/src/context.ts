import type { SubgraphContext } from "@startales/service-kit";
import type { NotificationLoaders } from "./loaders";

export type NotificationContext = SubgraphContext<NotificationLoaders>;
