import type { Deployment } from "./deployments";

/** What a call cost in micro-dollars, by the deployment's prices (rounded up). Pure. */
export function costMicros(deployment: Pick<Deployment, "inputCostMicrosPer1k" | "outputCostMicrosPer1k" | "requestCostMicros">, usage: { promptTokens: number; completionTokens: number }): number {
  return Math.ceil((usage.promptTokens * deployment.inputCostMicrosPer1k + usage.completionTokens * deployment.outputCostMicrosPer1k) / 1000) + deployment.requestCostMicros;
}
