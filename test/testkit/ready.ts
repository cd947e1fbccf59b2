/**
 * Waits until a service answers /health/ready with 200, as an orchestrator would before
 * sending traffic (the gateway, for one, is ready only once it hears API key revocations).
 */
export async function untilReady(baseUrl: string, fetchReady: (url: string) => Promise<{ ok: boolean }> = fetch): Promise<void> {
  for (let attempt = 0; attempt < 400; attempt++) {
    if ((await fetchReady(`${baseUrl}/health/ready`)).ok) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${baseUrl} never became ready`);
}
