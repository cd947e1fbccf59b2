/**
 * Monaco (GraphiQL's editor) runs its language services in web workers. They are built as
 * files beside the bundle, so the page needs `worker-src 'self'` and nothing looser (no
 * blob: or data: workers). Imported before anything that loads Monaco.
 */
const environment = {
  getWorker(_workerId: string, label: string): Worker {
    const file = label === "json" ? EXPLORER_WORKERS.json : label === "graphql" ? EXPLORER_WORKERS.graphql : EXPLORER_WORKERS.editor;
    return new Worker(new URL(file, import.meta.url), { name: label });
  },
};

(globalThis as { MonacoEnvironment?: typeof environment }).MonacoEnvironment = environment;
