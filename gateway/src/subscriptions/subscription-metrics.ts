import { addCounter, addGauge, type Metrics } from "@startales/service-kit";

/** The subscription layer's series (gateway/README.md, "Subscriptions"); labels are bounded by the schema's fields. */
export function createSubscriptionMetrics(metrics: Metrics, current: { connections: () => number; subscriptions: () => number; groups: () => number; topics: () => number }) {
  addGauge(metrics, { name: "gateway_ws_connections", help: "Open graphql-ws connections on this replica", collect: current.connections });
  addGauge(metrics, { name: "gateway_subscriptions", help: "Active subscriptions on this replica", collect: current.subscriptions });
  addGauge(metrics, { name: "gateway_subscription_groups", help: "Groups of identical subscriptions sharing one execution per event", collect: current.groups });
  addGauge(metrics, { name: "gateway_subscription_topics", help: "Event topics this replica listens to (one Redis subscription each)", collect: current.topics });
  return {
    executions: addCounter(metrics, {
      name: "gateway_subscription_executions_total",
      help: "Queries run to turn an event into a subscription result (one per group per event, plus replays)",
      labelNames: ["field"] as const,
    }),
    deliveries: addCounter(metrics, { name: "gateway_subscription_deliveries_total", help: "next messages sent to subscribers", labelNames: ["field"] as const }),
    skipped: addCounter(metrics, { name: "gateway_subscription_events_skipped_total", help: "Events whose subject was gone when resolved", labelNames: ["field"] as const }),
    rejected: addCounter(metrics, {
      name: "gateway_subscription_events_rejected_total",
      help: "Events that broke their contract (@startales/contracts) and were not delivered",
      labelNames: ["field"] as const,
    }),
    reauthorizations: addCounter(metrics, {
      name: "gateway_subscription_reauthorizations_total",
      help: "Subscribers of a shared execution authorized again as themselves (their authorization was due), by outcome: allowed, refused, unavailable (asked), unchanged (confirmed by the campaign versions of the last answer)",
      labelNames: ["field", "outcome"] as const,
    }),
    replayed: addCounter(metrics, { name: "gateway_subscription_events_replayed_total", help: "Missed events replayed on resume", labelNames: ["field"] as const }),
    retries: addCounter(metrics, {
      name: "gateway_subscription_event_retries_total",
      help: "Executions of an event run again because a subgraph it needs was unavailable",
      labelNames: ["field"] as const,
    }),
    unavailable: addCounter(metrics, {
      name: "gateway_subscription_events_unavailable_total",
      help: "Events still unresolvable after the retries: their group's subscriptions ended with SERVICE_UNAVAILABLE and a resume point",
      labelNames: ["field"] as const,
    }),
    closed: addCounter(metrics, { name: "gateway_ws_closed_total", help: "Connections closed by the gateway, by reason", labelNames: ["reason"] as const }),
  };
}

export type SubscriptionMetrics = ReturnType<typeof createSubscriptionMetrics>;
