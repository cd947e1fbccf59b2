import type { Server } from "node:http";
import type { ApolloServer, BaseContext } from "@apollo/server";
import type { HttpService } from "./http-server";

/**
 * The lifecycle every GraphQL process shares: start Apollo, then listen; on stop, drain HTTP
 * first (in-flight requests finish), then stop Apollo, then close what the process opened.
 */
export function apolloService<TContext extends BaseContext>(
  apollo: ApolloServer<TContext>,
  http: HttpService,
  options: { port: number; host: string; graceMs: number; onStop?: () => Promise<void> | void },
) {
  let started = false;
  return {
    httpServer: http.server as Server,
    /** Whether Apollo has started (its schema or supergraph is loaded). */
    isStarted: () => started,
    async listen(): Promise<string> {
      await apollo.start();
      started = true;
      return http.listen(options.port, options.host);
    },
    async stop(): Promise<void> {
      await http.close(options.graceMs);
      if (started) await apollo.stop();
      await options.onStop?.();
    },
  };
}
