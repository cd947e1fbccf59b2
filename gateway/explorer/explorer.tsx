import { GraphiQL } from "graphiql";
import catalogue from "explorer:catalogue";
import { useMemo } from "react";
import { createExplorerFetcher, gatewayEndpoints } from "./fetcher";
import { createSessionStore } from "./session";
import { signInPlugin } from "./sign-in";

/**
 * GraphiQL on the gateway: the docs explorer and history it brings, the sign-in helper,
 * and the operation catalogue as the first tabs (only when the browser has no tabs of its
 * own saved from an earlier visit: GraphiQL keeps them in localStorage; headers are not
 * kept, so tokens are not either).
 */
export function Explorer() {
  const endpoints = useMemo(() => gatewayEndpoints(), []);
  // Both once: a new fetcher would make GraphiQL introspect again, new plugins reset the panel.
  const fetcher = useMemo(() => createExplorerFetcher(endpoints), [endpoints]);
  const plugins = useMemo(() => [signInPlugin(createSessionStore(), endpoints.http)], [endpoints]);
  const defaultTabs = catalogue.tabs.length ? catalogue.tabs.map((tab) => ({ query: tab.query })) : undefined;
  return (
    <GraphiQL
      fetcher={fetcher}
      plugins={plugins}
      defaultTabs={defaultTabs}
      shouldPersistHeaders={false}
      defaultEditorToolsVisibility="headers"
    >
      <GraphiQL.Logo>Startales</GraphiQL.Logo>
    </GraphiQL>
  );
}
