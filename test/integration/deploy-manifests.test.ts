// The deployment artifacts (k8s/, docker-compose.yml, Dockerfile) for every process of
// services.json, checked without Docker or a cluster: every manifest against the Kubernetes
// schema (kubernetes-models), the overlays rendered (kubectl kustomize where installed, and
// always by a small built-in renderer that must agree with it), and the rules the services
// rely on: probes, ports, resources, security contexts, every variable a service's config
// schema requires, the network policies as a reachability matrix, the optional components
// applied on each overlay, and the compose stack (also `docker-compose config`).
import { execFileSync, spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parse, parseAllDocuments } from "yaml";
import type { z } from "zod";
import webpush from "web-push";
import { ConfigMap, Namespace, PersistentVolumeClaim, Service, type IPersistentVolumeClaim, type IService } from "kubernetes-models/v1";
import { Deployment, type IDeployment } from "kubernetes-models/apps/v1";
import { Job, type IJob } from "kubernetes-models/batch/v1";
import { HorizontalPodAutoscaler, type IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget, type IPodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Ingress, NetworkPolicy, type IIngress, type INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { parseConfig } from "../../packages/service-kit/src/config";
import { loadGatewayConfig } from "../../gateway/src/config";
import { GATEWAY_NODE_FLAGS } from "../../gateway/src/node-flags";
import { gatewayService, subgraphServices, urlTarget } from "../testkit/services";
import { DOCKER_COMPOSE, debianTool } from "../testkit/debian-packages";

/**
 * The variables services.json wires for a subgraph (npm start tells both its processes, which
 * share one config) that only its worker pool calls: checked on the pool's Deployment and
 * compose service, and the network policies let the pool, not the subgraph, reach that service.
 */
// None today: the provider subgraph reads recordings from content (transcribeAudio) as its worker pool stores media there.
const WORKER_POOL_URLS: Record<string, readonly string[]> = {};
const poolOnly = (subgraph: string, variable: string) => WORKER_POOL_URLS[subgraph]?.includes(variable) ?? false;

/** `<caller>-><subgraph>` for each subgraph a variable of `urls` names, the caller named by `callerOf(variable)`. */
const callsOf = (urls: Record<string, string>, callerOf: (variable: string) => string | null) =>
  Object.entries(urls).flatMap(([variable, target]) => {
    const to = urlTarget(target).service;
    const caller = callerOf(variable);
    return caller && subgraphServices.some((other) => other.name === to) ? [`${caller}->${to}`] : [];
  });

/**
 * Calls one subgraph (or its worker pool) makes to another, each allowed by a pair of network
 * policies: the subgraphs services.json tells a subgraph the URL of.
 */
const SUBGRAPH_CALLS = new Set(subgraphServices.flatMap((s) => callsOf(s.urls, (variable) => (poolOnly(s.name, variable) ? null : s.name))));
const WORKER_POOL_CALLS = new Set(subgraphServices.flatMap((s) => (s.workerPool ? callsOf(s.urls, (variable) => (poolOnly(s.name, variable) ? s.workerPool!.name : null)) : [])));

const root = join(__dirname, "..", "..");
const k8sDir = join(root, "k8s");
const read = (path: string) => readFileSync(join(root, path), "utf8");

// ---------------------------------------------------------------------------------------
// What the repository says must be deployed.

type AppService = {
  name: string;
  component: "gateway" | "subgraph" | "worker";
  port: number;
  /** The process's entry point in the image, built from src/main.ts. */
  entry: string;
  /** Node/V8 flags before the entry point (the gateway's: gateway/src/node-flags.ts). */
  nodeFlags: string[];
  schema: z.ZodObject;
  /** Its database (services.json), or null. */
  database: string | null;
  hasDatabase: boolean;
};

function configSchemaIn(module: string): z.ZodObject {
  const exports = require(join(root, module)) as Record<string, unknown>;
  const schemas = Object.entries(exports).filter(([name]) => name.endsWith("ConfigSchema"));
  if (schemas.length !== 1) throw new Error(`${module} must export exactly one *ConfigSchema`);
  return schemas[0]![1] as z.ZodObject;
}

// What services.json says runs: the gateway, each subgraph, each worker pool.
const subgraphs: AppService[] = subgraphServices.map((s) => ({
  name: s.name,
  component: "subgraph",
  port: s.port,
  entry: s.main,
  nodeFlags: [],
  schema: configSchemaIn(`${s.dir}/src/config.ts`),
  database: s.database,
  hasDatabase: s.database !== null,
}));
const gateway: AppService = {
  name: gatewayService.name,
  component: "gateway",
  port: gatewayService.port,
  entry: gatewayService.main,
  nodeFlags: [...GATEWAY_NODE_FLAGS],
  schema: configSchemaIn(`${gatewayService.dir}/src/config.ts`),
  database: null,
  hasDatabase: false,
};
const services = [gateway, ...subgraphs];
const databaseServices = subgraphs.filter((s) => s.hasDatabase);
/** Worker pools: a Deployment without a Service, on their health port; their config is the subgraph's, or a worker-config.ts of their own. */
const workerPools: AppService[] = subgraphServices.flatMap((s) =>
  s.workerPool
    ? [
        {
          name: s.workerPool.name,
          component: "worker" as const,
          port: s.workerPool.healthPort,
          entry: s.workerPool.main,
          nodeFlags: [],
          schema: configSchemaIn(existsSync(join(root, s.dir, "src", "worker-config.ts")) ? `${s.dir}/src/worker-config.ts` : `${s.dir}/src/config.ts`),
          database: s.database,
          hasDatabase: s.database !== null,
        },
      ]
    : [],
);
const processes = [...services, ...workerPools];

/**
 * The variables services.json sets to a subgraph's URL for `name` (a worker pool: those only it
 * calls, WORKER_POOL_URLS): the Service and port they must reach, and the path.
 */
function subgraphUrlsOf(name: string): Record<string, { service: string; port: number; path: string }> {
  const subgraph = subgraphServices.find((s) => s.name === name);
  const ofPool = subgraphServices.find((s) => s.workerPool?.name === name);
  const urls = Object.fromEntries(
    name === gatewayService.name
      ? Object.entries(gatewayService.urls)
      : subgraph
        ? Object.entries(subgraph.urls).filter(([variable]) => !poolOnly(subgraph.name, variable))
        : ofPool
          ? Object.entries(ofPool.urls).filter(([variable]) => poolOnly(ofPool.name, variable))
          : [],
  );
  return Object.fromEntries(
    Object.entries(urls).flatMap(([variable, target]) => {
      const { service, path } = urlTarget(target);
      const to = subgraphs.find((s) => s.name === service);
      return to ? [[variable, { service, port: to.port, path: path || "/" }]] : [];
    }),
  );
}

/** The variables a config schema cannot default: the deployment must provide them. */
const requiredVariables = (schema: z.ZodObject) =>
  Object.entries(schema.shape)
    .filter(([, field]) => !(field as z.ZodType).safeParse(undefined).success)
    .map(([name]) => name);

/** Variables whose values are secret: only ever from a Secret (k8s) or .env (compose). */
const isSecretVariable = (name: string) =>
  [
    "GATEWAY_SIGNING_SECRET",
    "JWT_PRIVATE_KEY",
    "EMAIL_LINK_SECRET",
    "POSTGRES_PASSWORD",
    "PUSH_ACCESS_TOKEN",
    "CLICKHOUSE_PASSWORD",
    "CONTENT_URL_SIGNING_SECRET",
    "UNSUBSCRIBE_SIGNING_SECRET",
    "WEBHOOK_SECRET_KEY",
    "SMTP_URL",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "MINIO_ROOT_USER",
    "MINIO_ROOT_PASSWORD",
  ].includes(name) || /(^|_)DATABASE_URL$/.test(name);

/** Valid made-up values for secrets, so that a whole environment can be parsed. */
const samplePem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const sampleVapid = webpush.generateVAPIDKeys();
function sampleSecret(key: string, service = "x"): string {
  if (key === "GATEWAY_SIGNING_SECRET") return randomBytes(48).toString("base64url");
  if (key === "JWT_PRIVATE_KEY") return samplePem;
  if (key === "POSTGRES_PASSWORD") return randomBytes(12).toString("hex");
  if (key === "PUSH_ACCESS_TOKEN") return randomBytes(24).toString("base64url");
  if (key === "WEB_PUSH_VAPID_PUBLIC_KEY") return sampleVapid.publicKey;
  if (key === "WEB_PUSH_VAPID_PRIVATE_KEY") return sampleVapid.privateKey;
  if (key === "CLICKHOUSE_PASSWORD") return randomBytes(16).toString("hex");
  if (key === "CONTENT_URL_SIGNING_SECRET" || key === "EMAIL_LINK_SECRET" || key === "UNSUBSCRIBE_SIGNING_SECRET" || key === "WEBHOOK_SECRET_KEY") return randomBytes(48).toString("base64url");
  if (key === "SMTP_URL") return "smtp://mailer:pw@smtp.example:587";
  if (key === "S3_ACCESS_KEY_ID" || key === "MINIO_ROOT_USER") return `startales${randomBytes(4).toString("hex")}`;
  if (key === "S3_SECRET_ACCESS_KEY" || key === "MINIO_ROOT_PASSWORD") return randomBytes(24).toString("hex");
  if (/(^|_)DATABASE_URL$/.test(key)) return `postgresql://app:pw@postgres.example:5432/startales_${service}`;
  throw new Error(`no sample value for the secret key ${key}: add one to this test`);
}

// ---------------------------------------------------------------------------------------
// Kubernetes resources: loading, schema validation, small helpers.

type Meta = { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
type Resource = { apiVersion: string; kind: string; metadata: Meta } & Record<string, unknown>;
type PodSpec = NonNullable<NonNullable<IDeployment["spec"]>["template"]["spec"]>;
type Container = PodSpec["containers"][number];
type LabelSelector = NonNullable<NonNullable<IDeployment["spec"]>["selector"]>;

const models: Record<string, new (data: never) => { validate(): void }> = {
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "apps/v1/Deployment": Deployment,
  "batch/v1/Job": Job,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "networking.k8s.io/v1/Ingress": Ingress,
};

/** Throws with the schema's messages when a resource is not a valid Kubernetes object. */
function validateSchema(resource: Resource): void {
  const Model = models[`${resource.apiVersion}/${resource.kind}`];
  if (!Model) throw new Error(`${resource.apiVersion} ${resource.kind} has no schema in this test: add its kubernetes-models class`);
  try {
    new Model(resource as never).validate();
  } catch (error) {
    throw new Error(`${resource.kind}/${resource.metadata.name}: ${(error as Error).message}`);
  }
}

function yamlDocuments(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, "utf8"));
  for (const doc of docs) {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length) throw new Error(`${relative(root, file)}: ${problems.map((p) => p.message).join("; ")}`);
  }
  return docs.map((doc) => doc.toJS()).filter((value) => value !== null);
}

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFilesUnder(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

const ofKind = <T>(resources: Resource[], kind: string) => resources.filter((r) => r.kind === kind) as unknown as (T & Resource)[];

function only<T>(items: T[], what: string): T {
  if (items.length !== 1) throw new Error(`expected exactly one ${what}, found ${items.length}`);
  return items[0]!;
}

function selects(selector: LabelSelector | Record<string, string> | undefined, labels: Record<string, string> = {}): boolean {
  if (!selector) return false;
  const isLabelSelector = "matchLabels" in selector || "matchExpressions" in selector;
  const matchLabels = ((isLabelSelector ? (selector as LabelSelector).matchLabels : selector) ?? {}) as Record<string, string>;
  const matchExpressions = (isLabelSelector ? (selector as LabelSelector).matchExpressions : undefined) ?? [];
  const labelsOk = Object.entries(matchLabels).every(([key, value]) => labels[key] === value);
  const expressionsOk = matchExpressions.every(({ key, operator, values = [] }) => {
    if (operator === "In") return key in labels && values.includes(labels[key]!);
    if (operator === "NotIn") return !(key in labels) || !values.includes(labels[key]!);
    if (operator === "Exists") return key in labels;
    if (operator === "DoesNotExist") return !(key in labels);
    throw new Error(`unknown selector operator ${operator}`);
  });
  return labelsOk && expressionsOk;
}

/** A container port by number or name (probes, Services, policies may use either). */
function resolvePort(container: Container, port: number | string | undefined): number | undefined {
  if (typeof port === "number") return (container.ports ?? []).some((p) => p.containerPort === port) ? port : undefined;
  return (container.ports ?? []).find((p) => p.name === port)?.containerPort;
}

/** Kubernetes quantities: "250m", "1", "512Mi", "1Gi". */
function quantity(value: string | number | undefined): number {
  if (value === undefined) return NaN;
  const match = /^([0-9.]+)(m|k|M|G|Ki|Mi|Gi)?$/.exec(String(value));
  if (!match) return NaN;
  const factor = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[match[2] ?? ""] ?? 1;
  return Number(match[1]) * factor;
}

type EnvSource = { value: string } | { secret: { name: string; key: string } } | { configMap: { name: string; key: string } };

/** Where each variable of a container comes from; env overrides envFrom, as in Kubernetes. */
function environmentOf(container: Container, configMaps: Map<string, Record<string, string>>): Map<string, EnvSource> {
  const env = new Map<string, EnvSource>();
  for (const from of container.envFrom ?? []) {
    // An optional Secret can supply nothing required (it may be absent): e.g. vendor keys,
    // PROVIDER_KEY_<NAME>, named by configuration. Any other hides which keys a pod needs.
    if (from.secretRef?.optional) continue;
    if (from.secretRef) throw new Error(`${container.name}: envFrom secretRef hides which keys it needs; use secretKeyRef per variable`);
    const name = from.configMapRef?.name ?? "";
    const data = configMaps.get(name);
    if (!data) throw new Error(`${container.name}: envFrom names the ConfigMap ${name}, which does not exist`);
    for (const key of Object.keys(data)) env.set(`${from.prefix ?? ""}${key}`, { configMap: { name, key } });
  }
  for (const variable of container.env ?? []) {
    const secret = variable.valueFrom?.secretKeyRef;
    const configMap = variable.valueFrom?.configMapKeyRef;
    if (secret) env.set(variable.name, { secret: { name: secret.name ?? "", key: secret.key } });
    else if (configMap) {
      if (configMaps.get(configMap.name ?? "")?.[configMap.key] === undefined) throw new Error(`${container.name}: ${variable.name} names the missing ConfigMap key ${configMap.name}/${configMap.key}`);
      env.set(variable.name, { configMap: { name: configMap.name ?? "", key: configMap.key } });
    } else if (variable.valueFrom) throw new Error(`${container.name}: ${variable.name} has a valueFrom this test does not know`);
    else env.set(variable.name, { value: variable.value ?? "" });
  }
  return env;
}

/** The process's environment, with made-up values for the secrets. */
function resolveEnvironment(sources: Map<string, EnvSource>, configMaps: Map<string, Record<string, string>>, service: string): Record<string, string> {
  return Object.fromEntries(
    [...sources].map(([name, source]) => {
      if ("value" in source) return [name, source.value];
      if ("configMap" in source) return [name, configMaps.get(source.configMap.name)![source.configMap.key]!];
      return [name, sampleSecret(source.secret.key, service)];
    }),
  );
}

/** The preStop delay before SIGTERM, in ms (an exec `sleep N` or a sleep action). */
function preStopMs(container: Container): number {
  const preStop = container.lifecycle?.preStop;
  if (!preStop) return 0;
  if (preStop.sleep) return preStop.sleep.seconds * 1000;
  const command = preStop.exec?.command ?? [];
  if (command[0] === "sleep" && command.length === 2) return Number(command[1]) * 1000;
  throw new Error(`${container.name}: unknown preStop hook ${JSON.stringify(preStop)}`);
}

function expectLockedDown(podSpec: PodSpec, container: Container, where: string): void {
  const pod = podSpec.securityContext ?? {};
  const own = container.securityContext ?? {};
  const context = `${where} (${container.name})`;
  expect({ context, runAsNonRoot: own.runAsNonRoot ?? pod.runAsNonRoot }).toEqual({ context, runAsNonRoot: true });
  expect({ context, runAsUser: (own.runAsUser ?? pod.runAsUser ?? 1) > 0 }).toEqual({ context, runAsUser: true });
  expect({ context, readOnlyRootFilesystem: own.readOnlyRootFilesystem }).toEqual({ context, readOnlyRootFilesystem: true });
  expect({ context, allowPrivilegeEscalation: own.allowPrivilegeEscalation }).toEqual({ context, allowPrivilegeEscalation: false });
  expect({ context, drop: own.capabilities?.drop ?? [] }).toEqual({ context, drop: expect.arrayContaining(["ALL"]) });
  expect({ context, add: own.capabilities?.add ?? [] }).toEqual({ context, add: [] });
  expect({ context, seccomp: (own.seccompProfile ?? pod.seccompProfile)?.type }).toEqual({ context, seccomp: "RuntimeDefault" });
  expect({ context, automountServiceAccountToken: podSpec.automountServiceAccountToken }).toEqual({ context, automountServiceAccountToken: false });
}

function expectResources(container: Container, where: string): void {
  const { requests = {}, limits = {} } = container.resources ?? {};
  for (const [kind, values] of [["requests", requests], ["limits", limits]] as const) {
    for (const resource of ["cpu", "memory"]) {
      expect({ where, [`${kind}.${resource}`]: quantity(values[resource]) > 0 }).toEqual({ where, [`${kind}.${resource}`]: true });
    }
  }
  for (const resource of ["cpu", "memory"]) {
    expect({ where, [`requests.${resource} <= limits.${resource}`]: quantity(requests[resource]) <= quantity(limits[resource]) }).toEqual({
      where,
      [`requests.${resource} <= limits.${resource}`]: true,
    });
  }
}

// ---------------------------------------------------------------------------------------
// NetworkPolicy semantics (networking.k8s.io/v1), enough to ask "may A open B:port?".

type Endpoint =
  | { pod: { namespace: string; namespaceLabels: Record<string, string>; labels: Record<string, string>; ports: Container["ports"] } }
  | { external: { ip: string } };

const inNamespace = (namespace: string, labels: Record<string, string>, ports: Container["ports"] = []): Endpoint => ({
  pod: { namespace, namespaceLabels: { "kubernetes.io/metadata.name": namespace }, labels, ports },
});

type Peer = NonNullable<NonNullable<NonNullable<INetworkPolicy["spec"]>["ingress"]>[number]["from"]>[number];
type PolicyPort = NonNullable<NonNullable<NonNullable<INetworkPolicy["spec"]>["ingress"]>[number]["ports"]>[number];

function ipInCidr(ip: string, cidr: string): boolean {
  const [base = "", bits = "32"] = cidr.split("/");
  const toNumber = (address: string) => address.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toNumber(ip) / size) === Math.floor(toNumber(base) / size);
}

function peerMatches(peer: Peer, endpoint: Endpoint, policyNamespace: string): boolean {
  if (peer.ipBlock) {
    if (!("external" in endpoint)) return false;
    const { cidr, except = [] } = peer.ipBlock;
    return ipInCidr(endpoint.external.ip, cidr) && !except.some((e) => ipInCidr(endpoint.external.ip, e));
  }
  if (!("pod" in endpoint)) return false;
  const { pod } = endpoint;
  // An empty selector ({}) selects everything; an absent namespaceSelector means the policy's namespace.
  const namespaceOk = peer.namespaceSelector ? selects(peer.namespaceSelector, pod.namespaceLabels) : pod.namespace === policyNamespace;
  const podOk = peer.podSelector ? selects(peer.podSelector, pod.labels) : true;
  return namespaceOk && podOk;
}

function portMatches(ports: PolicyPort[] | undefined, destination: Endpoint, port: number, protocol: string): boolean {
  if (!ports?.length) return true;
  return ports.some((p) => {
    if ((p.protocol ?? "TCP") !== protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === "number") return p.endPort ? port >= p.port && port <= p.endPort : port === p.port;
    if (!("pod" in destination)) return false; // a named port needs a pod to name it
    return (destination.pod.ports ?? []).some((cp) => cp.name === p.port && cp.containerPort === port && (cp.protocol ?? "TCP") === protocol);
  });
}

const policyTypes = (policy: INetworkPolicy) => policy.spec?.policyTypes ?? ["Ingress", ...(policy.spec?.egress ? ["Egress"] : [])];

/**
 * Whether `from` may open `to`:`port`. Both ends' policies apply (egress of the source,
 * ingress of the destination); with `ingressOnly`, only the destination's, so that each
 * side's rules can be checked on their own.
 */
function mayConnect(policies: (INetworkPolicy & Resource)[], namespace: string, from: Endpoint, to: Endpoint, port: number, protocol = "TCP", ingressOnly = false): boolean {
  const ours = policies.filter((p) => (p.metadata.namespace ?? namespace) === namespace);
  const selecting = (endpoint: Endpoint, type: "Ingress" | "Egress") =>
    "pod" in endpoint && endpoint.pod.namespace === namespace ? ours.filter((p) => policyTypes(p).includes(type) && selects(p.spec?.podSelector ?? {}, endpoint.pod.labels)) : undefined;
  const egressPolicies = ingressOnly ? undefined : selecting(from, "Egress");
  const egressOk =
    !egressPolicies?.length ||
    egressPolicies.some((p) => (p.spec?.egress ?? []).some((rule) => (!rule.to?.length || rule.to.some((peer) => peerMatches(peer, to, namespace))) && portMatches(rule.ports, to, port, protocol)));
  const ingressPolicies = selecting(to, "Ingress");
  const ingressOk =
    !ingressPolicies?.length ||
    ingressPolicies.some((p) => (p.spec?.ingress ?? []).some((rule) => (!rule.from?.length || rule.from.some((peer) => peerMatches(peer, from, namespace))) && portMatches(rule.ports, to, port, protocol)));
  return egressOk && ingressOk;
}

// ---------------------------------------------------------------------------------------
// Kustomize: kubectl where it exists, and a small renderer for the subset the overlays use.

const kubectlAvailable = spawnSync("kubectl", ["version", "--client"], { stdio: "ignore" }).status === 0;

const MERGE_KEYS: Record<string, string> = { containers: "name", initContainers: "name", env: "name", volumes: "name", volumeMounts: "mountPath" };

/**
 * Strategic merge for plain maps, lists merged by the keys above, other lists replaced. A
 * merged list is in kustomize's order: the patch's items first (each merged with the one it
 * names), then the target's other items.
 */
function strategicMerge(target: unknown, patch: unknown, field = ""): unknown {
  if (Array.isArray(patch)) {
    const key = MERGE_KEYS[field];
    if (field === "ports") throw new Error("the built-in renderer does not merge `ports` lists: extend it or use kubectl");
    const items = patch as Record<string, unknown>[];
    // `$patch: delete` on an item of a list merged by key removes the target's item of that key.
    const deletes = items.filter((item) => item && typeof item === "object" && "$patch" in item);
    if (deletes.some((item) => item.$patch !== "delete" || !key)) throw new Error(`the built-in renderer supports only \`$patch: delete\` on items of lists merged by key (${field})`);
    if (!key || !Array.isArray(target)) return structuredClone(items.filter((item) => !deletes.includes(item)));
    const existing = target as Record<string, unknown>[];
    const patched = items.filter((item) => !deletes.includes(item)).map((item) => {
      const same = existing.find((e) => e[key] === item[key]);
      return (same ? strategicMerge(same, item) : structuredClone(item)) as Record<string, unknown>;
    });
    return [...patched, ...existing.filter((e) => !(patch as Record<string, unknown>[]).some((item) => item[key] === e[key]))];
  }
  if (patch && typeof patch === "object") {
    if ("$patch" in patch) throw new Error("the built-in renderer does not support $patch directives");
    const merged: Record<string, unknown> = { ...(target && typeof target === "object" && !Array.isArray(target) ? (target as Record<string, unknown>) : {}) };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete merged[key];
      else merged[key] = strategicMerge(merged[key], value, key);
    }
    return merged;
  }
  return patch;
}

type Kustomization = {
  namespace?: string;
  resources?: string[];
  components?: string[];
  patches?: { path?: string; patch?: string; target?: unknown; options?: unknown }[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
} & Record<string, unknown>;

const readKustomization = (dir: string) => parse(readFileSync(join(dir, "kustomization.yaml"), "utf8")) as Kustomization;

function podSpecsOf(resource: Resource): PodSpec[] {
  const spec = resource.spec as { template?: { spec?: PodSpec } } | undefined;
  return spec?.template?.spec ? [spec.template.spec] : [];
}

/** A kustomization's `resources` (files, or directories rendered first) added to `resources`, then its `patches` applied to them all. */
function resourcesAndPatches(dir: string, kustomization: Kustomization, resources: Resource[]): Resource[] {
  resources = [
    ...resources,
    ...(kustomization.resources ?? []).flatMap((entry) => {
      const path = join(dir, entry);
      return statSync(path).isDirectory() ? builtInKustomize(path) : (yamlDocuments(path) as Resource[]);
    }),
  ];
  for (const patch of kustomization.patches ?? []) {
    if (!patch.path || patch.patch || patch.target || patch.options) throw new Error(`${relative(root, dir)}: the built-in renderer supports only \`patches: - path:\``);
    for (const doc of yamlDocuments(join(dir, patch.path)) as (Resource & { $patch?: string })[]) {
      const target = only(resources.filter((r) => r.kind === doc.kind && r.metadata.name === doc.metadata.name), `${doc.kind}/${doc.metadata.name} for ${patch.path}`);
      // A whole-resource `$patch: delete` removes the resource.
      if (doc.$patch === "delete") {
        resources = resources.filter((r) => r !== target);
        continue;
      }
      resources = resources.map((r) => (r === target ? (strategicMerge(r, doc) as Resource) : r));
    }
  }
  return resources;
}

function unsupportedKeys(dir: string, kustomization: Kustomization, supported: string[]): void {
  const unsupported = Object.keys(kustomization).filter((key) => !supported.includes(key));
  if (unsupported.length) throw new Error(`${relative(root, dir)}: the built-in renderer does not support ${unsupported.join(", ")}`);
}

function builtInKustomize(dir: string): Resource[] {
  const kustomization = readKustomization(dir);
  unsupportedKeys(dir, kustomization, ["apiVersion", "kind", "namespace", "resources", "components", "patches", "images"]);
  // As kustomize: the resources, then each component (its resources added, its patches applied to everything so far), then the kustomization's own patches.
  let resources = resourcesAndPatches(dir, { resources: kustomization.resources }, []);
  for (const entry of kustomization.components ?? []) {
    const componentDir = join(dir, entry);
    const component = readKustomization(componentDir);
    if (component.kind !== "Component") throw new Error(`${relative(root, componentDir)}: a component's kustomization must be kind: Component`);
    unsupportedKeys(componentDir, component, ["apiVersion", "kind", "resources", "patches"]);
    resources = resourcesAndPatches(componentDir, component, resources);
  }
  resources = resourcesAndPatches(dir, { patches: kustomization.patches }, resources);
  for (const image of kustomization.images ?? []) {
    for (const container of resources.flatMap(podSpecsOf).flatMap((spec) => [...spec.containers, ...(spec.initContainers ?? [])])) {
      const name = container.image?.replace(/[@:].*$/, "");
      if (name === image.name) container.image = `${image.newName ?? image.name}${image.newTag ? `:${image.newTag}` : ""}${image.digest ? `@${image.digest}` : ""}`;
    }
  }
  if (kustomization.namespace) {
    for (const r of resources) if (r.kind !== "Namespace") r.metadata = { ...r.metadata, namespace: kustomization.namespace };
  }
  return resources;
}

const keyOf = (r: Resource) => `${r.kind}/${r.metadata.namespace ?? ""}/${r.metadata.name}`;

/** Renders a kustomization; where kubectl exists, the built-in renderer must agree with it. */
function render(dir: string): Resource[] {
  const builtIn = builtInKustomize(dir);
  if (kubectlAvailable) {
    const fromKubectl = parseAllDocuments(execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8" })).map((doc) => doc.toJS() as Resource);
    const byKey = (list: Resource[]) => Object.fromEntries(list.map((r) => [keyOf(r), r]));
    expect(byKey(builtIn)).toEqual(byKey(fromKubectl));
  }
  return builtIn;
}

// ---------------------------------------------------------------------------------------
// The rules every rendering (base, each overlay) must satisfy.

/** `reaches443`: processes a component lets reach public HTTPS, besides those of the base. */
function checkStack(resources: Resource[], label: string, { reaches443 = [] as string[] } = {}): void {
  const namespace = resources.find((r) => r.metadata.namespace)?.metadata.namespace ?? "startales";
  const configMaps = new Map(ofKind<{ data?: Record<string, string> }>(resources, "ConfigMap").map((c) => [c.metadata.name, c.data ?? {}]));
  const deployments = ofKind<IDeployment>(resources, "Deployment");
  const k8sServices = ofKind<IService>(resources, "Service");
  const hpas = ofKind<IHorizontalPodAutoscaler>(resources, "HorizontalPodAutoscaler");
  const pdbs = ofKind<IPodDisruptionBudget>(resources, "PodDisruptionBudget");
  const policies = ofKind<INetworkPolicy>(resources, "NetworkPolicy");
  const parsedConfigs = new Map<string, Record<string, unknown>>();

  const serviceUrlTarget = (url: string) => {
    const { hostname, port } = new URL(url);
    const k8sService = only(k8sServices.filter((s) => s.metadata.name === hostname.split(".")[0]), `Service for ${url} (${label})`);
    const servicePort = only((k8sService.spec?.ports ?? []).filter((p) => p.port === Number(port || 80)), `port ${port} on Service ${hostname} (${label})`);
    return { service: k8sService.metadata.name, port: servicePort.port };
  };

  for (const app of processes) {
    const where = `${label}: ${app.name}`;
    const deployment = only(deployments.filter((d) => d.metadata.name === app.name), `Deployment ${where}`);
    const podSpec = deployment.spec!.template.spec!;
    const podLabels = deployment.spec!.template.metadata?.labels ?? {};
    const container = only(podSpec.containers, `container in ${where}`);

    expect({ where, selectorMatchesPods: selects(deployment.spec!.selector, podLabels) }).toEqual({ where, selectorMatchesPods: true });
    expect({ where, component: podLabels["app.kubernetes.io/component"] }).toEqual({ where, component: app.component });
    expect({ where, command: [...(container.command ?? []), ...(container.args ?? [])] }).toEqual({ where, command: ["node", ...app.nodeFlags, app.entry] });
    expect({ where, sourceOfEntry: existsSync(join(root, app.entry.replace("/dist/", "/src/").replace(/\.js$/, ".ts"))) }).toEqual({ where, sourceOfEntry: true });

    // Ports and probes: the port the service listens on, the paths it serves.
    expect({ where, containerPort: resolvePort(container, "http") }).toEqual({ where, containerPort: app.port });
    expect({ where, readiness: container.readinessProbe?.httpGet?.path, port: resolvePort(container, container.readinessProbe?.httpGet?.port) }).toEqual({ where, readiness: "/health/ready", port: app.port });
    expect({ where, liveness: container.livenessProbe?.httpGet?.path, port: resolvePort(container, container.livenessProbe?.httpGet?.port) }).toEqual({ where, liveness: "/health/live", port: app.port });
    if (container.startupProbe) {
      expect({ where, startup: container.startupProbe.httpGet?.path, port: resolvePort(container, container.startupProbe.httpGet?.port) }).toEqual({ where, startup: expect.stringMatching(/^\/health\/(live|ready)$/), port: app.port });
    }
    const annotations = deployment.spec!.template.metadata?.annotations ?? {};
    expect({ where, scrape: annotations["prometheus.io/scrape"], port: annotations["prometheus.io/port"], path: annotations["prometheus.io/path"] }).toEqual({ where, scrape: "true", port: String(app.port), path: "/metrics" });

    expectResources(container, where);
    expectLockedDown(podSpec, container, where);

    // Environment: everything the config schema requires is provided, secrets by
    // secretKeyRef only, and the whole environment passes the service's own validation.
    const sources = environmentOf(container, configMaps);
    const missing = requiredVariables(app.schema).filter((name) => !sources.has(name));
    expect({ where, missing }).toEqual({ where, missing: [] });
    const notFromSecrets = [...sources].filter(([name, source]) => isSecretVariable(name) && !("secret" in source)).map(([name]) => name);
    expect({ where, notFromSecrets }).toEqual({ where, notFromSecrets: [] });
    const env = resolveEnvironment(sources, configMaps, app.name);
    const config = (app === gateway ? loadGatewayConfig(env) : parseConfig(app.schema, env)) as Record<string, unknown>;
    parsedConfigs.set(app.name, config);
    expect({ where, PORT: config.PORT, HOST: ["0.0.0.0", "::"].includes(String(config.HOST)) }).toEqual({ where, PORT: app.port, HOST: true });
    expect({ where, NODE_ENV: config.NODE_ENV }).toEqual({ where, NODE_ENV: "production" });
    if (app.hasDatabase) expect({ where, databaseUrlFromSecret: "secret" in (sources.get("DATABASE_URL") ?? {}) }).toEqual({ where, databaseUrlFromSecret: true });

    // Shutdown: Kubernetes waits for the preStop sleep and the drain before SIGKILL.
    const graceMs = Number(config.SHUTDOWN_GRACE_MS);
    const budgetMs = (podSpec.terminationGracePeriodSeconds ?? 30) * 1000;
    expect({ where, terminationGraceCoversDrain: budgetMs > graceMs + preStopMs(container) }).toEqual({ where, terminationGraceCoversDrain: true });

    // Service: selects exactly this Deployment's pods, on services.json's port. A worker pool
    // has none: nothing calls it.
    if (app.component === "worker") {
      const selecting = k8sServices.filter((s) => selects(s.spec?.selector, podLabels)).map((s) => s.metadata.name);
      expect({ where, selecting }).toEqual({ where, selecting: [] });
    } else {
      const k8sService = only(k8sServices.filter((s) => s.metadata.name === app.name), `Service ${where}`);
      expect({ where, selectsPods: selects(k8sService.spec?.selector, podLabels) }).toEqual({ where, selectsPods: true });
      const selectedElsewhere = deployments.filter((d) => d !== deployment && selects(k8sService.spec?.selector, d.spec!.template.metadata?.labels)).map((d) => d.metadata.name);
      expect({ where, selectedElsewhere }).toEqual({ where, selectedElsewhere: [] });
      const servicePort = only(k8sService.spec?.ports ?? [], `port on Service ${where}`);
      expect({ where, port: servicePort.port, targetPort: resolvePort(container, servicePort.targetPort ?? servicePort.port) }).toEqual({ where, port: app.port, targetPort: app.port });
    }

    // Autoscaling owns the replica count; the disruption budget lets a drain proceed.
    const hpa = only(hpas.filter((h) => h.spec?.scaleTargetRef.kind === "Deployment" && h.spec.scaleTargetRef.name === app.name), `HorizontalPodAutoscaler ${where}`);
    const minReplicas = hpa.spec!.minReplicas ?? 1;
    expect({ where, replicasLeftToHpa: deployment.spec!.replicas }).toEqual({ where, replicasLeftToHpa: undefined });
    expect({ where, bounds: minReplicas >= 1 && minReplicas <= hpa.spec!.maxReplicas, metrics: (hpa.spec!.metrics ?? []).length > 0 }).toEqual({ where, bounds: true, metrics: true });
    const pdb = only(pdbs.filter((p) => selects(p.spec?.selector, podLabels)), `PodDisruptionBudget ${where}`);
    const drainable = pdb.spec!.maxUnavailable !== undefined ? quantity(String(pdb.spec!.maxUnavailable).replace("%", "")) > 0 : Number(pdb.spec!.minAvailable) < minReplicas;
    expect({ where, drainable }).toEqual({ where, drainable: true });
  }

  // The gateway finds identity's keys and every subgraph through their Services.
  const gatewayConfig = parsedConfigs.get("gateway") as ReturnType<typeof loadGatewayConfig>;
  expect(Object.keys(gatewayConfig.subgraphUrls).sort()).toEqual(subgraphs.map((s) => s.name).sort());
  for (const s of subgraphs) {
    expect({ subgraph: s.name, ...serviceUrlTarget(gatewayConfig.subgraphUrls[s.name]!) }).toEqual({ subgraph: s.name, service: s.name, port: s.port });
    expect(new URL(gatewayConfig.subgraphUrls[s.name]!).pathname).toBe("/graphql");
  }
  // Every URL services.json wires to a subgraph (the gateway's JWKS, internal routes and
  // content; a subgraph's CAMPAIGN_URL; the provider worker pool's CONTENT_URL) reaches that
  // subgraph's Service, at its path.
  for (const app of processes) {
    for (const [variable, { service, port, path }] of Object.entries(subgraphUrlsOf(app.name))) {
      const value = String(parsedConfigs.get(app.name)![variable]);
      expect({ where: `${label}: ${app.name}`, variable, ...serviceUrlTarget(value), path: new URL(value).pathname }).toEqual({ where: `${label}: ${app.name}`, variable, service, port, path });
    }
  }
  // Behind the ingress the client's address is the one the ingress appends to
  // X-Forwarded-For; with TRUST_PROXY 0 every client would share the ingress's rate limit.
  expect({ label, TRUST_PROXY: (gatewayConfig as { TRUST_PROXY?: number }).TRUST_PROXY }).toEqual({ label, TRUST_PROXY: 1 });
  const identityConfig = parsedConfigs.get("identity")!;
  expect({ JWT_ISSUER: gatewayConfig.JWT_ISSUER, JWT_AUDIENCE: gatewayConfig.JWT_AUDIENCE }).toEqual({ JWT_ISSUER: identityConfig.JWT_ISSUER, JWT_AUDIENCE: identityConfig.JWT_AUDIENCE });

  // The migration Job migrates exactly the databases the subgraphs use.
  const job = only(ofKind<IJob>(resources, "Job"), `Job (${label})`);
  const jobPod = job.spec!.template.spec!;
  const jobContainer = only(jobPod.containers, "migration container");
  expect([...(jobContainer.command ?? []), ...(jobContainer.args ?? [])]).toEqual(["node", "prisma/migrate-all.mjs"]);
  expect(["Never", "OnFailure"]).toContain(jobPod.restartPolicy);
  expectResources(jobContainer, `${label}: migrate`);
  expectLockedDown(jobPod, jobContainer, `${label}: migrate`);
  const jobEnv = environmentOf(jobContainer, configMaps);
  for (const s of databaseServices) {
    const serviceSource = environmentOf(only(deployments.find((d) => d.metadata.name === s.name)!.spec!.template.spec!.containers, s.name), configMaps).get("DATABASE_URL");
    expect({ variable: `${s.name.toUpperCase()}_DATABASE_URL`, source: jobEnv.get(`${s.name.toUpperCase()}_DATABASE_URL`) }).toEqual({ variable: `${s.name.toUpperCase()}_DATABASE_URL`, source: serviceSource });
  }
  expect({ serverWideUrl: jobEnv.has("DATABASE_SERVER_URL") }).toEqual({ serverWideUrl: false });

  // Every container of ours runs the one image.
  const images = new Set(resources.flatMap(podSpecsOf).flatMap((spec) => spec.containers.map((c) => c.image)));
  expect({ label, images: images.size }).toEqual({ label, images: 1 });

  // The Ingress: nginx, sticky sessions for WebSockets, only the gateway behind it.
  const ingress = only(ofKind<IIngress>(resources, "Ingress"), `Ingress (${label})`);
  const a = ingress.metadata.annotations ?? {};
  expect(ingress.spec?.ingressClassName).toBe("nginx");
  expect(a["nginx.ingress.kubernetes.io/affinity"]).toBe("cookie");
  expect(a["nginx.ingress.kubernetes.io/session-cookie-name"]).toMatch(/\S/);
  expect(Number(a["nginx.ingress.kubernetes.io/proxy-read-timeout"])).toBeGreaterThanOrEqual(3600);
  expect(Number(a["nginx.ingress.kubernetes.io/proxy-send-timeout"])).toBeGreaterThanOrEqual(3600);
  const paths = (ingress.spec?.rules ?? []).flatMap((rule) => rule.http?.paths ?? []);
  expect(paths.map((p) => p.path)).toContain("/graphql");
  const gatewayContainer = deployments.find((d) => d.metadata.name === "gateway")!.spec!.template.spec!.containers[0]!;
  for (const p of paths) {
    const backend = p.backend.service;
    const k8sService = k8sServices.find((s) => s.metadata.name === backend?.name);
    const servicePort = k8sService?.spec?.ports?.find((sp) => (backend?.port?.name ? sp.name === backend.port.name : sp.port === backend?.port?.number));
    expect({ backend: backend?.name, port: servicePort && resolvePort(gatewayContainer, servicePort.targetPort ?? servicePort.port) }).toEqual({ backend: "gateway", port: gateway.port });
  }
  const tlsHosts = (ingress.spec?.tls ?? []).flatMap((t) => t.hosts ?? []);
  for (const rule of ingress.spec?.rules ?? []) expect(tlsHosts).toContain(rule.host);

  // Network policies, as a matrix of who may open which port.
  const podOf = (name: string) => {
    const resource = [...deployments, ...ofKind<IJob>(resources, "Job")].find((r) => r.metadata.name === name)!;
    const spec = (resource.spec as { template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } }).template;
    return inNamespace(namespace, spec.metadata?.labels ?? {}, spec.spec.containers.flatMap((c) => c.ports ?? []));
  };
  const ingressController = inNamespace("ingress-nginx", { "app.kubernetes.io/name": "ingress-nginx" });
  const prometheus = inNamespace("monitoring", { "app.kubernetes.io/name": "prometheus" });
  // Pods that must get nowhere: an unlabelled pod beside ours, look-alikes elsewhere.
  const strangers: Record<string, Endpoint> = {
    "a debug pod in our namespace": inNamespace(namespace, { app: "debug-shell" }),
    "a look-alike gateway in another namespace": inNamespace("other", { "app.kubernetes.io/name": "gateway", "app.kubernetes.io/part-of": "startales" }),
    "a look-alike ingress-nginx in another namespace": inNamespace("other", { "app.kubernetes.io/name": "ingress-nginx" }),
    "a look-alike prometheus in another namespace": inNamespace("other", { "app.kubernetes.io/name": "prometheus" }),
  };
  const may = (from: Endpoint, to: Endpoint, port: number, protocol?: string) => mayConnect(policies, namespace, from, to, port, protocol);
  const mayEnter = (from: Endpoint, to: Endpoint, port: number) => mayConnect(policies, namespace, from, to, port, "TCP", true);
  const matrix: Record<string, boolean> = {};
  const expected: Record<string, boolean> = {};
  const check = (name: string, actual: boolean, want: boolean) => {
    matrix[name] = actual;
    expected[name] = want;
  };
  check("ingress controller -> gateway", may(ingressController, podOf("gateway"), gateway.port), true);
  check("prometheus -> gateway", may(prometheus, podOf("gateway"), gateway.port), true);
  for (const [who, stranger] of Object.entries(strangers)) check(`${who} -> gateway`, mayEnter(stranger, podOf("gateway"), gateway.port), false);
  check("(gateway's ingress rules alone) migrate -> gateway", mayEnter(podOf("migrate"), podOf("gateway"), gateway.port), false);
  // Pods without a policy of their own (the migration) are closed by the default deny.
  for (const [who, stranger] of Object.entries(strangers)) check(`${who} -> migrate`, mayEnter(stranger, podOf("migrate"), 9229), false);
  for (const s of subgraphs) {
    check(`gateway -> ${s.name}`, may(podOf("gateway"), podOf(s.name), s.port), true);
    check(`prometheus -> ${s.name}`, may(prometheus, podOf(s.name), s.port), true);
    check(`ingress controller -> ${s.name}`, may(ingressController, podOf(s.name), s.port), false);
    check(`${s.name} -> gateway`, may(podOf(s.name), podOf("gateway"), gateway.port), false);
    // Each side must hold on its own: the subgraph's ingress rules admit only the gateway
    // (and Prometheus), whatever the sources' egress rules say.
    check(`(${s.name}'s ingress rules alone) migrate -> ${s.name}`, mayEnter(podOf("migrate"), podOf(s.name), s.port), false);
    // Subgraph-to-subgraph calls are the declared exceptions only (realtime asks campaign about memberships).
    for (const other of subgraphs.filter((o) => o !== s)) {
      const declared = SUBGRAPH_CALLS.has(`${other.name}->${s.name}`);
      check(`(${s.name}'s ingress rules alone) ${other.name} -> ${s.name}`, mayEnter(podOf(other.name), podOf(s.name), s.port), declared);
      check(`${other.name} -> ${s.name}`, may(podOf(other.name), podOf(s.name), s.port), declared);
    }
    for (const [who, stranger] of Object.entries(strangers)) check(`(${s.name}'s ingress rules alone) ${who} -> ${s.name}`, mayEnter(stranger, podOf(s.name), s.port), false);
  }
  for (const pool of workerPools) {
    check(`prometheus -> ${pool.name}`, may(prometheus, podOf(pool.name), pool.port), true);
    // The calls only a worker pool makes (WORKER_POOL_URLS) are allowed, each side holding on its own
    // (its subgraph's are not: the subgraph-to-subgraph matrix above).
    for (const s of subgraphs.filter((s) => WORKER_POOL_CALLS.has(`${pool.name}->${s.name}`))) {
      check(`${pool.name} -> ${s.name}`, may(podOf(pool.name), podOf(s.name), s.port), true);
      check(`(${s.name}'s ingress rules alone) ${pool.name} -> ${s.name}`, mayEnter(podOf(pool.name), podOf(s.name), s.port), true);
    }
    for (const [who, stranger] of Object.entries(strangers)) check(`(${pool.name}'s ingress rules alone) ${who} -> ${pool.name}`, mayEnter(stranger, podOf(pool.name), pool.port), false);
  }
  const datastores = { postgres: 5432, redis: 6379 };
  // Who reaches public HTTPS: OIDC providers, AI vendors, the push service (checked below).
  const public443 = new Set(["identity", "provider-worker", "notification-worker", ...reaches443]);
  for (const name of [...processes.map((s) => s.name), "migrate"]) {
    for (const [store, port] of Object.entries(datastores)) {
      check(`${name} -> external ${store}`, may(podOf(name), { external: { ip: "10.20.30.40" } }, port), true);
      check(`${name} -> in-cluster ${store}`, may(podOf(name), inNamespace("data", { "app.kubernetes.io/name": store }), port), true);
    }
    check(`${name} -> DNS`, may(podOf(name), inNamespace("kube-system", { "k8s-app": "kube-dns" }), 53, "UDP"), true);
    if (!public443.has(name)) check(`${name} -> the internet`, may(podOf(name), { external: { ip: "203.0.113.7" } }, 443), false);
  }
  // Identity reaches the OpenID Connect providers it signs players in with: public HTTPS only.
  check("identity -> an OIDC provider on the internet (443)", may(podOf("identity"), { external: { ip: "203.0.113.7" } }, 443), true);
  check("identity -> the internet on another port", may(podOf("identity"), { external: { ip: "203.0.113.7" } }, 80), false);
  check("identity -> cloud metadata (169.254.169.254)", may(podOf("identity"), { external: { ip: "169.254.169.254" } }, 443), false);
  check("identity -> a private address (10.1.2.3:443)", may(podOf("identity"), { external: { ip: "10.1.2.3" } }, 443), false);
  // The provider worker pool alone reaches AI vendors: public HTTPS, never metadata or private ranges.
  check("provider-worker -> a vendor on the internet (443)", may(podOf("provider-worker"), { external: { ip: "203.0.113.7" } }, 443), true);
  check("provider-worker -> the internet on another port", may(podOf("provider-worker"), { external: { ip: "203.0.113.7" } }, 80), false);
  check("provider-worker -> cloud metadata (169.254.169.254)", may(podOf("provider-worker"), { external: { ip: "169.254.169.254" } }, 443), false);
  check("provider-worker -> a private address (10.1.2.3:443)", may(podOf("provider-worker"), { external: { ip: "10.1.2.3" } }, 443), false);
  check("provider-worker -> campaign", may(podOf("provider-worker"), podOf("campaign"), 4002), false);
  // The notification worker pool reaches the push service the same way.
  check("notification-worker -> a push service on the internet (443)", may(podOf("notification-worker"), { external: { ip: "203.0.113.7" } }, 443), true);
  check("notification-worker -> the internet on another port", may(podOf("notification-worker"), { external: { ip: "203.0.113.7" } }, 80), false);
  check("notification-worker -> cloud metadata (169.254.169.254)", may(podOf("notification-worker"), { external: { ip: "169.254.169.254" } }, 443), false);
  check("notification-worker -> a private address (10.1.2.3:443)", may(podOf("notification-worker"), { external: { ip: "10.1.2.3" } }, 443), false);
  // The analytics worker pool (the ingest) calls no service: PostgreSQL and Redis only (above).
  for (const to of [gateway, ...subgraphs]) check(`analytics-worker -> ${to.name}`, may(podOf("analytics-worker"), podOf(to.name), to.port), false);
  expect(matrix).toEqual(expected);
}

// ---------------------------------------------------------------------------------------

describe("the gateway's V8 flags (gateway/src/node-flags.ts)", () => {
  it("are the same wherever the gateway is started: npm start, the image, compose and the Deployment", () => {
    const expected = ["node", ...GATEWAY_NODE_FLAGS, "gateway/dist/main.js"];
    const compose = parse(readFileSync(join(root, "docker-compose.yml"), "utf8")) as { services: Record<string, { command?: string[] }> };
    const deployment = parseAllDocuments(readFileSync(join(root, "k8s", "base", "gateway.yaml"), "utf8"))
      .map((d) => d.toJS() as { kind?: string; spec?: { template: { spec: { containers: { name: string; command?: string[] }[] } } } })
      .find((d) => d.kind === "Deployment");
    const dockerfile = /^CMD (\[.*\])$/m.exec(readFileSync(join(root, "Dockerfile"), "utf8"))?.[1];
    expect({
      compose: compose.services.gateway?.command,
      deployment: deployment?.spec?.template.spec.containers.find((c) => c.name === "gateway")?.command,
      image: dockerfile ? (JSON.parse(dockerfile) as string[]) : null,
      npmStart: (JSON.parse(readFileSync(join(root, "gateway", "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start,
    }).toEqual({ compose: expected, deployment: expected, image: expected, npmStart: ["node", ...GATEWAY_NODE_FLAGS, "dist/main.js"].join(" ") });
    expect(readFileSync(join(root, "scripts", "start.mjs"), "utf8")).toMatch(/GATEWAY_NODE_FLAGS\)/);
  });
});

describe("what the manifests are checked against", () => {
  it("finds the required variables of each service's config schema", () => {
    // If this detection broke, the checks below would pass vacuously.
    expect(requiredVariables(gateway.schema)).toEqual(["GATEWAY_SIGNING_SECRET"]);
    expect(requiredVariables(subgraphs.find((s) => s.name === "identity")!.schema).sort()).toEqual(["EMAIL_LINK_SECRET", "GATEWAY_SIGNING_SECRET", "JWT_PRIVATE_KEY"]);
    for (const s of subgraphs) expect(requiredVariables(s.schema)).toContain("GATEWAY_SIGNING_SECRET");
    expect(subgraphs.length).toBeGreaterThanOrEqual(2);
    expect(databaseServices.map((s) => s.name)).toEqual(expect.arrayContaining(["identity", "campaign"]));
  });

  it("the schema validation rejects an invalid resource", () => {
    const broken = yamlDocuments(join(k8sDir, "base", "gateway.yaml"))[0] as Resource;
    const copy = structuredClone(broken) as { spec: { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } } } & Resource;
    copy.spec.template.spec.containers[0]!.ports[0]!.containerPort = "http";
    expect(() => validateSchema(copy)).toThrow(/containerPort/);
  });

  it("the network-policy evaluator follows the API's semantics", () => {
    const web = inNamespace("ns", { app: "web" }, [{ name: "http", containerPort: 8080 }]);
    const allowWebFromA: INetworkPolicy & Resource = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "p", namespace: "ns" },
      spec: { podSelector: { matchLabels: { app: "web" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "a" } } }], ports: [{ port: "http" }] }] },
    };
    expect(mayConnect([], "ns", inNamespace("ns", { app: "b" }), web, 8080)).toBe(true); // no policy: open
    expect(mayConnect([allowWebFromA], "ns", inNamespace("ns", { app: "a" }), web, 8080)).toBe(true);
    expect(mayConnect([allowWebFromA], "ns", inNamespace("ns", { app: "a" }), web, 9090)).toBe(false);
    expect(mayConnect([allowWebFromA], "ns", inNamespace("ns", { app: "b" }), web, 8080)).toBe(false);
    expect(mayConnect([allowWebFromA], "ns", inNamespace("elsewhere", { app: "a" }), web, 8080)).toBe(false);
    expect(ipInCidr("10.1.2.3", "10.0.0.0/8")).toBe(true);
    expect(ipInCidr("11.1.2.3", "10.0.0.0/8")).toBe(false);
    expect(ipInCidr("203.0.113.7", "0.0.0.0/0")).toBe(true);
  });
});

const components = existsSync(join(k8sDir, "components")) ? readdirSync(join(k8sDir, "components")).sort() : [];

/**
 * An overlay with components added, as an operator adds `components:` to theirs: rendered
 * from a kustomization of its own outside the repository (kustomize takes relative paths only).
 */
function renderWithComponents(overlay: string, names: string[]): Resource[] {
  const dir = mkdtempSync(join(tmpdir(), "startales-kustomize-"));
  try {
    const { namespace } = readKustomization(join(k8sDir, "overlays", overlay));
    const kustomization = {
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      namespace,
      resources: [relative(dir, join(k8sDir, "overlays", overlay))],
      components: names.map((name) => relative(dir, join(k8sDir, "components", name))),
    };
    writeFileSync(join(dir, "kustomization.yaml"), JSON.stringify(kustomization));
    return render(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A pod of a Deployment or Job, as the network-policy evaluator sees it. */
function podEndpoint(resources: Resource[], name: string): Endpoint {
  const resource = only(
    resources.filter((r) => ["Deployment", "Job"].includes(r.kind) && r.metadata.name === name),
    `Deployment or Job ${name}`,
  );
  const template = (resource.spec as { template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } }).template;
  return inNamespace(resource.metadata.namespace ?? "startales", template.metadata?.labels ?? {}, template.spec.containers.flatMap((c) => c.ports ?? []));
}

function containerOf(resources: Resource[], name: string): Container {
  const deployment = only(resources.filter((r) => r.kind === "Deployment" && r.metadata.name === name), `Deployment ${name}`);
  return only(podSpecsOf(deployment)[0]?.containers ?? [], `container of ${name}`);
}

const configMapsOf = (resources: Resource[]) => new Map(ofKind<{ data?: Record<string, string> }>(resources, "ConfigMap").map((c) => [c.metadata.name, c.data ?? {}]));

const ANALYTICS_PROCESSES = ["analytics", "analytics-worker"];

describe("k8s/ manifests", () => {
  const files = yamlFilesUnder(k8sDir);
  const overlays = readdirSync(join(k8sDir, "overlays")).sort();

  it("has a base and the dev and prod overlays", () => {
    expect(existsSync(join(k8sDir, "base", "kustomization.yaml"))).toBe(true);
    expect(overlays).toEqual(expect.arrayContaining(["dev", "prod"]));
  });

  it("every YAML file under k8s/ parses, and each document has a kind", () => {
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const docs = yamlDocuments(file) as Partial<Resource>[];
      expect({ file: relative(root, file), documents: docs.length > 0 }).toEqual({ file: relative(root, file), documents: true });
      for (const doc of docs) expect({ file: relative(root, file), apiVersion: typeof doc.apiVersion, kind: typeof doc.kind }).toEqual({ file: relative(root, file), apiVersion: "string", kind: "string" });
    }
  });

  it("commits no secret values", () => {
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      expect({ file, privateKey: /PRIVATE KEY/.test(text) }).toEqual({ file, privateKey: false });
      for (const doc of yamlDocuments(file) as Resource[]) expect({ file, kind: doc.kind }).not.toEqual({ file, kind: "Secret" });
      for (const doc of (yamlDocuments(file) as Resource[]).filter((d) => d.kind === "ConfigMap")) {
        const secretKeys = Object.keys((doc as { data?: object }).data ?? {}).filter(isSecretVariable);
        expect({ file, secretKeys }).toEqual({ file, secretKeys: [] });
      }
    }
  });

  it("each kustomization references files that exist, and base lists every file it has", () => {
    const dirs = files.filter((f) => f.endsWith("kustomization.yaml")).map((f) => join(f, ".."));
    expect(dirs.map((d) => relative(k8sDir, d)).sort()).toEqual(["base", ...overlays.map((o) => `overlays/${o}`), ...components.map((c) => `components/${c}`)].sort());
    for (const dir of dirs) {
      const kustomization = readKustomization(dir);
      const referenced = [
        ...(kustomization.resources ?? []),
        ...(kustomization.components ?? []),
        ...(kustomization.patches ?? []).map((p) => p.path).filter((p): p is string => !!p),
      ];
      for (const entry of referenced) {
        const path = join(dir, entry);
        const exists = existsSync(path) && (!statSync(path).isDirectory() || existsSync(join(path, "kustomization.yaml")));
        expect({ kustomization: relative(root, dir), entry, exists }).toEqual({ kustomization: relative(root, dir), entry, exists: true });
      }
      // A YAML file beside a kustomization that it does not use is a mistake.
      const local = readdirSync(dir).filter((name) => /\.ya?ml$/.test(name) && name !== "kustomization.yaml");
      expect({ kustomization: relative(root, dir), unused: local.filter((name) => !referenced.includes(name)) }).toEqual({ kustomization: relative(root, dir), unused: [] });
      // Service names are the hosts in the gateway's URLs: overlays must not rename them.
      expect({ dir, namePrefix: kustomization.namePrefix, nameSuffix: kustomization.nameSuffix }).toEqual({ dir, namePrefix: undefined, nameSuffix: undefined });
    }
  });

  it("every base resource is a valid Kubernetes object", () => {
    const resources = builtInKustomize(join(k8sDir, "base"));
    expect(resources.length).toBeGreaterThanOrEqual(services.length * 4);
    for (const resource of resources) expect(() => validateSchema(resource)).not.toThrow();
  });

  it("the base follows the deployment rules", () => {
    checkStack(builtInKustomize(join(k8sDir, "base")), "base");
  });

  it("the secrets the manifests reference are documented in k8s/README.md", () => {
    const readme = readFileSync(join(k8sDir, "README.md"), "utf8").split("\n");
    const references = new Set<string>();
    // The base's, and those the overlays' and components' patches add.
    for (const resource of files.flatMap((file) => yamlDocuments(file) as Resource[])) {
      for (const container of podSpecsOf(resource).flatMap((spec) => spec.containers ?? [])) {
        for (const variable of container.env ?? []) {
          const ref = variable.valueFrom?.secretKeyRef;
          if (ref) references.add(`${ref.name}/${ref.key}`);
        }
      }
    }
    expect(references.size).toBeGreaterThanOrEqual(3);
    for (const reference of references) {
      const [name, key] = reference.split("/");
      expect({ reference, documented: readme.some((line) => line.includes(`\`${name}\``) && line.includes(`\`${key}\``)) }).toEqual({ reference, documented: true });
    }
  });

  it("runs no Redis itself, and k8s/README.md requires BullMQ's settings of the one operators provide", () => {
    const images = builtInKustomize(join(k8sDir, "base")).flatMap(podSpecsOf).flatMap((spec) => spec.containers.map((c) => c.image ?? ""));
    expect(images.filter((image) => /(^|\/)redis(:|@|$)/.test(image))).toEqual([]);
    const readme = readFileSync(join(k8sDir, "README.md"), "utf8");
    expect(readme).toContain("`maxmemory-policy noeviction`");
    expect(readme).toContain("`appendonly yes`");
  });

  it("the base keeps analytics on PostgreSQL (ANALYTICS_STORE=postgres in analytics-config)", () => {
    const resources = builtInKustomize(join(k8sDir, "base"));
    const configMaps = configMapsOf(resources);
    expect(configMaps.get("analytics-config")?.ANALYTICS_STORE).toBe("postgres");
    for (const name of ANALYTICS_PROCESSES) {
      const sources = environmentOf(containerOf(resources, name), configMaps);
      expect({ name, source: sources.get("ANALYTICS_STORE") }).toEqual({ name, source: { configMap: { name: "analytics-config", key: "ANALYTICS_STORE" } } });
      expect({ name, clickhouse: [...sources.keys()].filter((variable) => variable.startsWith("CLICKHOUSE_")) }).toEqual({ name, clickhouse: [] });
    }
  });

  it("the base keeps content's files on a ReadWriteMany claim that every replica mounts writable at CONTENT_DIR", () => {
    const resources = builtInKustomize(join(k8sDir, "base"));
    const configMaps = configMapsOf(resources);
    const content = processes.find((p) => p.name === "content")!;
    const container = containerOf(resources, "content");
    const sources = environmentOf(container, configMaps);
    expect({ storage: sources.get("CONTENT_STORAGE"), dir: sources.get("CONTENT_DIR") }).toEqual({
      storage: { configMap: { name: "content-config", key: "CONTENT_STORAGE" } },
      dir: { configMap: { name: "content-config", key: "CONTENT_DIR" } },
    });
    expect(sources.get("CONTENT_URL_SIGNING_SECRET")).toEqual({ secret: { name: "content-secrets", key: "CONTENT_URL_SIGNING_SECRET" } });
    const config = parseConfig(content.schema, resolveEnvironment(sources, configMaps, "content")) as Record<string, unknown>;
    expect(config.CONTENT_STORAGE).toBe("filesystem");
    const mount = only((container.volumeMounts ?? []).filter((m) => m.mountPath === config.CONTENT_DIR), `volume mount at ${String(config.CONTENT_DIR)}`);
    expect(mount.readOnly ?? false).toBe(false);
    const podSpec = podSpecsOf(only(resources.filter((r) => r.kind === "Deployment" && r.metadata.name === "content"), "Deployment content"))[0]!;
    const volume = only((podSpec.volumes ?? []).filter((v) => v.name === mount.name), `volume ${mount.name}`);
    const claim = only(ofKind<IPersistentVolumeClaim>(resources, "PersistentVolumeClaim").filter((c) => c.metadata.name === volume.persistentVolumeClaim?.claimName), "the content claim");
    expect(claim.spec?.accessModes).toEqual(["ReadWriteMany"]);
    expect(quantity(claim.spec?.resources?.requests?.storage)).toBeGreaterThan(0);
  });

  describe.each(overlays)("overlay %s", (overlay) => {
    const dir = join(k8sDir, "overlays", overlay);

    it(`renders (${kubectlAvailable ? "kubectl kustomize, matched by the built-in renderer" : "built-in renderer; kubectl is not installed"}) into valid objects that follow the rules`, () => {
      const resources = render(dir);
      for (const resource of resources) expect(() => validateSchema(resource)).not.toThrow();
      checkStack(resources, `overlays/${overlay}`);

      const { namespace, images = [] } = readKustomization(dir);
      expect(namespace).toMatch(/\S/);
      expect(only(ofKind<object>(resources, "Namespace"), "Namespace").metadata.name).toBe(namespace);
      for (const r of resources.filter((r) => r.kind !== "Namespace")) expect({ resource: keyOf(r), namespace: r.metadata.namespace }).toEqual({ resource: keyOf(r), namespace });
      const image = only(images, "images entry");
      for (const container of resources.flatMap(podSpecsOf).flatMap((spec) => spec.containers)) {
        expect(container.image?.startsWith(`${image.newName}:`) || container.image?.startsWith(`${image.newName}@`)).toBe(true);
      }
      if (overlay === "prod") {
        for (const hpa of ofKind<IHorizontalPodAutoscaler>(resources, "HorizontalPodAutoscaler")) expect({ hpa: hpa.metadata.name, highlyAvailable: (hpa.spec?.minReplicas ?? 1) >= 2 }).toEqual({ hpa: hpa.metadata.name, highlyAvailable: true });
      }
    });
  });

  it("has the component analytics-clickhouse", () => {
    expect(components).toContain("analytics-clickhouse");
  });

  describe.each(overlays)("overlay %s with the component analytics-clickhouse", (overlay) => {
    it("renders into objects that follow the rules, with analytics and its worker pool on ClickHouse and nothing else changed", () => {
      const plain = render(join(k8sDir, "overlays", overlay));
      const resources = renderWithComponents(overlay, ["analytics-clickhouse"]);
      for (const resource of resources) expect(() => validateSchema(resource)).not.toThrow();
      checkStack(resources, `overlays/${overlay} + components/analytics-clickhouse`);
      const { namespace } = readKustomization(join(k8sDir, "overlays", overlay));

      // The engine is one config for both processes: their ConfigMap, their password, one policy.
      const before = new Map(plain.map((r) => [keyOf(r), r]));
      const changed = resources.filter((r) => !isDeepStrictEqual(before.get(keyOf(r)), r)).map(keyOf);
      expect(changed.sort()).toEqual(
        [`ConfigMap/${namespace}/analytics-config`, `Deployment/${namespace}/analytics`, `Deployment/${namespace}/analytics-worker`, `NetworkPolicy/${namespace}/analytics-to-clickhouse`].sort(),
      );
      expect(resources.length).toBe(plain.length + 1);

      const configMaps = configMapsOf(resources);
      for (const name of ANALYTICS_PROCESSES) {
        const app = processes.find((p) => p.name === name)!;
        const sources = environmentOf(containerOf(resources, name), configMaps);
        expect({ name, password: sources.get("CLICKHOUSE_PASSWORD") }).toEqual({ name, password: { secret: { name: "analytics-secrets", key: "CLICKHOUSE_PASSWORD" } } });
        for (const variable of ["ANALYTICS_STORE", "CLICKHOUSE_URL", "CLICKHOUSE_DATABASE", "CLICKHOUSE_USER"]) {
          expect({ name, variable, source: sources.get(variable) }).toEqual({ name, variable, source: { configMap: { name: "analytics-config", key: variable } } });
        }
        const config = parseConfig(app.schema, resolveEnvironment(sources, configMaps, name)) as Record<string, unknown>;
        expect({ name, store: config.ANALYTICS_STORE, port: new URL(String(config.CLICKHOUSE_URL)).port }).toEqual({ name, store: "clickhouse", port: "8123" });
      }

      // Only analytics and its worker pool reach ClickHouse's HTTP interface (plain or TLS), wherever it runs.
      const policies = ofKind<INetworkPolicy>(resources, "NetworkPolicy");
      const may = (from: string, to: Endpoint, port: number) => mayConnect(policies, namespace!, podEndpoint(resources, from), to, port);
      const managed: Endpoint = { external: { ip: "10.20.30.40" } };
      const inCluster = inNamespace("clickhouse", { "app.kubernetes.io/name": "clickhouse" });
      const reach: Record<string, boolean> = {};
      const expected: Record<string, boolean> = {};
      for (const name of [...processes.map((p) => p.name), "migrate"]) {
        const analytics = ANALYTICS_PROCESSES.includes(name);
        for (const [where, to, port] of [["managed", managed, 8123], ["managed", managed, 8443], ["in-cluster", inCluster, 8123]] as const) {
          reach[`${name} -> ${where} ClickHouse :${port}`] = may(name, to, port);
          expected[`${name} -> ${where} ClickHouse :${port}`] = analytics;
        }
      }
      for (const name of ANALYTICS_PROCESSES) {
        reach[`${name} -> the internet (443)`] = may(name, { external: { ip: "203.0.113.7" } }, 443);
        expected[`${name} -> the internet (443)`] = false;
      }
      expect(reach).toEqual(expected);
    });
  });
});

describe("k8s/ manifests with the component content-s3", () => {
  const overlays = readdirSync(join(k8sDir, "overlays")).sort();

  it("exists", () => {
    expect(components).toContain("content-s3");
  });

  describe.each(overlays)("overlay %s", (overlay) => {
    it("renders into objects that follow the rules, with content on S3, its claim and mount gone, uploads staged on a claim the replicas share, and nothing else changed", () => {
      const plain = render(join(k8sDir, "overlays", overlay));
      const resources = renderWithComponents(overlay, ["content-s3"]);
      for (const resource of resources) expect(() => validateSchema(resource)).not.toThrow();
      checkStack(resources, `overlays/${overlay} + components/content-s3`, { reaches443: ["content"] });
      const { namespace } = readKustomization(join(k8sDir, "overlays", overlay));

      const before = new Map(plain.map((r) => [keyOf(r), r]));
      const after = new Map(resources.map((r) => [keyOf(r), r]));
      const changed = resources.filter((r) => !isDeepStrictEqual(before.get(keyOf(r)), r)).map(keyOf);
      expect(changed.sort()).toEqual(
        [`ConfigMap/${namespace}/content-config`, `Deployment/${namespace}/content`, `NetworkPolicy/${namespace}/content-to-object-storage`, `PersistentVolumeClaim/${namespace}/content-upload-staging`].sort(),
      );
      expect(plain.filter((r) => !after.has(keyOf(r))).map(keyOf)).toEqual([`PersistentVolumeClaim/${namespace}/content-data`]);

      const configMaps = configMapsOf(resources);
      const content = processes.find((p) => p.name === "content")!;
      const container = containerOf(resources, "content");
      const sources = environmentOf(container, configMaps);
      for (const key of ["S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"]) expect({ key, source: sources.get(key) }).toEqual({ key, source: { secret: { name: "content-secrets", key } } });
      const config = parseConfig(content.schema, resolveEnvironment(sources, configMaps, "content")) as Record<string, unknown>;
      expect({ storage: config.CONTENT_STORAGE, bucket: config.S3_BUCKET }).toEqual({ storage: "s3", bucket: expect.stringMatching(/\S{3,}/) });
      const podSpec = podSpecsOf(resources.find((r) => r.kind === "Deployment" && r.metadata.name === "content")!)[0]!;
      // Resumable uploads' parts are staged where CONTENT_UPLOAD_DIR says, on a claim every
      // replica mounts: a client's next PATCH may reach another replica (the locks are in Redis).
      expect((container.volumeMounts ?? []).map((m) => m.mountPath).sort()).toEqual(["/data/uploads", "/tmp"]);
      const staging = only((container.volumeMounts ?? []).filter((m) => m.mountPath === config.CONTENT_UPLOAD_DIR), `volume mount at ${String(config.CONTENT_UPLOAD_DIR)}`);
      expect(staging.readOnly ?? false).toBe(false);
      const claims = (podSpec.volumes ?? []).filter((v) => v.persistentVolumeClaim);
      expect(claims.map((v) => ({ name: v.name, claim: v.persistentVolumeClaim?.claimName }))).toEqual([{ name: staging.name, claim: "content-upload-staging" }]);
      const claim = only(ofKind<IPersistentVolumeClaim>(resources, "PersistentVolumeClaim").filter((c) => c.metadata.name === "content-upload-staging"), "the staging claim");
      expect(claim.spec?.accessModes).toEqual(["ReadWriteMany"]);
      expect(quantity(claim.spec?.resources?.requests?.storage)).toBeGreaterThan(0);

      // Only content reaches an object store: HTTPS (AWS S3, STS) or MinIO's port.
      const policies = ofKind<INetworkPolicy>(resources, "NetworkPolicy");
      const may = (from: string, port: number) => mayConnect(policies, namespace!, podEndpoint(resources, from), { external: { ip: "203.0.113.7" } }, port);
      const reach: Record<string, boolean> = {};
      const expected: Record<string, boolean> = {};
      for (const name of [...processes.map((p) => p.name), "migrate"]) {
        for (const port of [443, 9000]) {
          reach[`${name} -> object store :${port}`] = may(name, port);
          expected[`${name} -> object store :${port}`] = name === "content" || (port === 443 && ["identity", "provider-worker", "notification-worker"].includes(name));
        }
      }
      reach["content -> the internet on port 80"] = may("content", 80);
      expected["content -> the internet on port 80"] = false;
      expect(reach).toEqual(expected);
    });

    it("renders with every component at once", () => {
      const resources = renderWithComponents(overlay, components);
      for (const resource of resources) expect(() => validateSchema(resource)).not.toThrow();
      checkStack(resources, `overlays/${overlay} + ${components.map((c) => `components/${c}`).join(" + ")}`, { reaches443: ["content"] });
    });
  });
});

// ---------------------------------------------------------------------------------------
// docker-compose.yml

type ComposeService = {
  image?: string;
  profiles?: string[];
  build?: string | { context?: string };
  entrypoint?: string[] | string;
  command?: string[] | string;
  environment?: Record<string, string | number | null> | string[];
  healthcheck?: { test?: string[] | string };
  depends_on?: Record<string, { condition?: string }> | string[];
  ports?: (string | { target?: number; published?: string | number })[];
  volumes?: (string | { source?: string; target?: string })[];
  restart?: string;
  stop_grace_period?: string;
  read_only?: boolean;
  cap_drop?: string[];
};

const composeSource = read("docker-compose.yml");
const compose = parse(composeSource, { merge: true }) as { services: Record<string, ComposeService> };
const dotenvExample = Object.fromEntries(
  read(".env.example")
    .split("\n")
    .filter((line) => /^[A-Z_][A-Z0-9_]*=/.test(line))
    .map((line) => {
      const [, key, raw] = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line)!;
      return [key!, raw!.replace(/^'(.*)'$|^"(.*)"$/, "$1$2")];
    }),
);

/** Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error} and $$. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (match, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (match === "$$") return "$";
    const name = (braced ?? bare)!;
    const current = vars[name];
    const unset = current === undefined || (op?.startsWith(":") && current === "");
    if (op?.endsWith("?") && unset) throw new Error(`compose refuses: ${name}: ${arg}`);
    if (op?.endsWith("-") && unset) return arg ?? "";
    return current ?? "";
  });
}

function environmentOfCompose(service: ComposeService, vars: Record<string, string>): Record<string, string> {
  const entries = Array.isArray(service.environment)
    ? service.environment.map((line) => [line.split("=")[0]!, line.slice(line.indexOf("=") + 1)] as const)
    : Object.entries(service.environment ?? {}).map(([k, v]) => [k, v === null ? "" : String(v)] as const);
  return Object.fromEntries(entries.map(([k, v]) => [k, interpolate(v, vars)]));
}

/** Compose's command line: Debian's docker-compose (installed by the test setup if missing; a missing one fails, naming the package). */
const composeCli = [debianTool(DOCKER_COMPOSE)] as const;

/** .env.example with its empty placeholders filled, as an operator would. */
const filledDotenv = Object.fromEntries(Object.entries(dotenvExample).map(([key, value]) => [key, value === "" && isSecretVariable(key) ? sampleSecret(key) : value]));

describe("docker-compose.yml", () => {
  const appNames = processes.map((s) => s.name);
  /** Services that run once and exit (restart: "no"): no healthcheck; dependents wait for their success. */
  const oneShots = Object.entries(compose.services).filter(([, service]) => service.restart === "no").map(([name]) => name);

  it("runs PostgreSQL, Redis, the migration, and every process of services.json", () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(["postgres", "redis", "migrate", ...appNames]));
    expect(compose.services.postgres!.image).toMatch(/^postgres:15/);
    expect(compose.services.redis!.image).toMatch(/^redis:7/);
    const redisCommand = ([] as string[]).concat(compose.services.redis!.command ?? []).join(" ");
    expect(redisCommand).toMatch(/--maxmemory-policy[ =]noeviction/);
  });

  it("runs Redis as BullMQ asks for production: AOF persistence on a named volume, no eviction", () => {
    const redis = compose.services.redis!;
    const args = ([] as string[]).concat(redis.command ?? []);
    const option = (name: string) => args[args.indexOf(`--${name}`) + 1];
    expect({ appendonly: option("appendonly"), policy: option("maxmemory-policy") }).toEqual({ appendonly: "yes", policy: "noeviction" });
    // The AOF is written in the image's working directory, /data: it must outlive the container.
    const mounts = (redis.volumes ?? []).map((v) => (typeof v === "string" ? v : `${v.source}:${v.target}`));
    const data = mounts.find((m) => m.split(":")[1] === "/data");
    expect(data).toBeDefined();
    const named = (parse(composeSource, { merge: true }) as { volumes?: Record<string, unknown> }).volumes ?? {};
    expect(Object.keys(named)).toContain(data!.split(":")[0]);
  });

  it("gives every long-running service a healthcheck, and the app services one on /health/ready", () => {
    expect(oneShots).toEqual(expect.arrayContaining(["migrate", "minio-setup"]));
    for (const [name, service] of Object.entries(compose.services).filter(([name]) => !oneShots.includes(name))) {
      expect({ name, healthcheck: !!service.healthcheck?.test?.length }).toEqual({ name, healthcheck: true });
    }
    for (const app of processes) {
      const test = ([] as string[]).concat(compose.services[app.name]!.healthcheck!.test!).join(" ");
      expect({ app: app.name, test }).toEqual({ app: app.name, test: expect.stringContaining(`:${app.port}/health/ready`) });
    }
    // The one-shots (the migration, the bucket setup) have no healthcheck: they must end, and others wait for their success.
    expect(compose.services.migrate!.restart).toBe("no");
  });

  it("starts services in order, waiting on health (and on the migration's success)", () => {
    const dependencies = (name: string) => {
      const dependsOn = compose.services[name]!.depends_on ?? {};
      expect({ name, longForm: !Array.isArray(dependsOn) }).toEqual({ name, longForm: true });
      return dependsOn as Record<string, { condition?: string }>;
    };
    for (const name of Object.keys(compose.services)) {
      for (const [target, { condition }] of Object.entries(dependencies(name))) {
        const want = oneShots.includes(target) ? "service_completed_successfully" : "service_healthy";
        expect({ name, target, condition }).toEqual({ name, target, condition: want });
      }
    }
    for (const s of [...subgraphs, ...workerPools]) expect(Object.keys(dependencies(s.name))).toEqual(expect.arrayContaining(["redis", ...(s.hasDatabase ? ["migrate", "postgres"] : [])]));
    expect(Object.keys(dependencies("gateway"))).toEqual(expect.arrayContaining(["redis", ...subgraphs.map((s) => s.name)]));
    expect(Object.keys(dependencies("migrate"))).toEqual(["postgres"]);
  });

  it("publishes only the gateway, on 4000", () => {
    const published = Object.entries(compose.services).filter(([, s]) => s.ports?.length).map(([name]) => name);
    expect(published).toEqual(["gateway"]);
    const port = interpolate(String(compose.services.gateway!.ports![0]), {});
    expect(port).toBe(`4000:${gateway.port}`);
  });

  it("runs the app services from the repository's image, locked down", () => {
    for (const name of [...appNames, "migrate"]) {
      const service = compose.services[name]!;
      const context = typeof service.build === "string" ? service.build : service.build?.context;
      expect({ name, context, image: service.image, read_only: service.read_only, cap_drop: service.cap_drop }).toEqual({
        name,
        context: ".",
        image: compose.services.gateway!.image,
        read_only: true,
        cap_drop: ["ALL"],
      });
    }
    // Compose's stop timeout must cover the drain, or Docker kills mid-request.
    for (const app of processes) {
      const drainMs = Number(environmentOfCompose(compose.services[app.name]!, filledDotenv).SHUTDOWN_GRACE_MS ?? 10_000);
      const stopMs = Number(/^(\d+)s$/.exec(compose.services[app.name]!.stop_grace_period ?? "10s")?.[1]) * 1000;
      expect({ app: app.name, stopCoversDrain: stopMs > drainMs }).toEqual({ app: app.name, stopCoversDrain: true });
    }
    const command = (name: string) => ([] as string[]).concat(compose.services[name]!.command ?? []);
    for (const app of processes) expect(command(app.name)).toEqual(["node", ...app.nodeFlags, app.entry]);
    expect(command("migrate")).toEqual(["node", "prisma/migrate-all.mjs"]);
  });

  it("takes every secret from .env, which .env.example lists without values", () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const raw = Array.isArray(service.environment) ? Object.fromEntries(service.environment.map((l) => l.split("="))) : (service.environment ?? {});
      for (const [variable, value] of Object.entries(raw)) {
        if (variable === "POSTGRES_PASSWORD" || variable === "GATEWAY_SIGNING_SECRET" || variable === "JWT_PRIVATE_KEY") {
          expect({ name, variable, value }).toEqual({ name, variable, value: expect.stringMatching(new RegExp(`^\\$\\{${variable}:\\?`)) });
        }
        if (/DATABASE(_SERVER)?_URL$/.test(variable)) expect({ name, variable, value }).toEqual({ name, variable, value: expect.stringContaining("${POSTGRES_PASSWORD:?") });
      }
    }
    const referenced = [...composeSource.matchAll(/\$\{([A-Z_][A-Z0-9_]*):\?/g)].map((m) => m[1]!);
    expect(referenced.length).toBeGreaterThan(0);
    for (const variable of new Set(referenced)) expect({ variable, inExample: variable in dotenvExample, value: dotenvExample[variable] }).toEqual({ variable, inExample: true, value: "" });
    expect(read(".env.example")).not.toMatch(/PRIVATE KEY-----[A-Za-z0-9+/\\]/);
    // With the placeholders left empty, compose refuses to start.
    for (const app of processes) expect(() => environmentOfCompose(compose.services[app.name]!, dotenvExample)).toThrow(/compose refuses/);
  });

  it("gives every app service an environment its config schema accepts, wired to the other services", () => {
    const configs = new Map<string, Record<string, unknown>>();
    for (const app of processes) {
      const env = environmentOfCompose(compose.services[app.name]!, filledDotenv);
      const missing = requiredVariables(app.schema).filter((name) => !(name in env));
      expect({ app: app.name, missing }).toEqual({ app: app.name, missing: [] });
      const config = (app === gateway ? loadGatewayConfig(env) : parseConfig(app.schema, env)) as Record<string, unknown>;
      configs.set(app.name, config);
      expect({ app: app.name, PORT: config.PORT, HOST: config.HOST }).toEqual({ app: app.name, PORT: app.port, HOST: "0.0.0.0" });
      expect(new URL(String(config.REDIS_URL)).hostname).toBe("redis");
      if (app.hasDatabase) {
        const url = new URL(String(config.DATABASE_URL));
        expect({ app: app.name, host: url.hostname, database: url.pathname }).toEqual({ app: app.name, host: "postgres", database: `/${app.database}` });
      }
    }
    const gatewayConfig = configs.get("gateway") as ReturnType<typeof loadGatewayConfig>;
    expect(Object.keys(gatewayConfig.subgraphUrls).sort()).toEqual(subgraphs.map((s) => s.name).sort());
    for (const s of subgraphs) expect(gatewayConfig.subgraphUrls[s.name]).toBe(`http://${s.name}:${s.port}/graphql`);
    // Every URL services.json wires to a subgraph, on compose's network: http://<service>:<port><path>.
    for (const app of processes) {
      for (const [variable, { service, port, path }] of Object.entries(subgraphUrlsOf(app.name))) {
        const value = new URL(String(configs.get(app.name)![variable]));
        expect({ app: app.name, variable, url: `${value.protocol}//${value.host}${value.pathname}` }).toEqual({ app: app.name, variable, url: `http://${service}:${port}${path}` });
      }
    }
    expect(configs.get("identity")!.JWT_ISSUER).toBe(gatewayConfig.JWT_ISSUER);
  });

  it("runs ClickHouse only in the profile clickhouse, on a volume of its own, where analytics reaches it with ANALYTICS_STORE=clickhouse", () => {
    const clickhouse = compose.services.clickhouse!;
    expect(clickhouse.image).toMatch(/^clickhouse\/clickhouse-server:\d+\.\d+/);
    expect(clickhouse.profiles).toEqual(["clickhouse"]);
    // `docker compose up` starts the services without a profile: none of them is or needs ClickHouse.
    const defaults = Object.entries(compose.services).filter(([, service]) => !service.profiles?.length).map(([name]) => name);
    expect(defaults).not.toContain("clickhouse");
    for (const name of defaults) expect({ name, dependsOn: Object.keys(compose.services[name]!.depends_on ?? {}) }).toEqual({ name, dependsOn: expect.not.arrayContaining(["clickhouse"]) });
    const mounts = (clickhouse.volumes ?? []).map((v) => (typeof v === "string" ? v : `${v.source}:${v.target}`));
    const data = mounts.find((m) => m.split(":")[1] === "/var/lib/clickhouse");
    const named = (parse(composeSource, { merge: true }) as { volumes?: Record<string, unknown> }).volumes ?? {};
    expect(Object.keys(named)).toContain(data?.split(":")[0]);

    const switched = { ...filledDotenv, ANALYTICS_STORE: "clickhouse", CLICKHOUSE_PASSWORD: sampleSecret("CLICKHOUSE_PASSWORD") };
    const serverPassword = environmentOfCompose(clickhouse, switched).CLICKHOUSE_PASSWORD;
    const healthcheck = ([] as string[]).concat(clickhouse.healthcheck?.test ?? []).join(" ");
    for (const name of ANALYTICS_PROCESSES) {
      const app = processes.find((p) => p.name === name)!;
      const asIs = parseConfig(app.schema, environmentOfCompose(compose.services[name]!, filledDotenv)) as Record<string, unknown>;
      expect({ name, store: asIs.ANALYTICS_STORE }).toEqual({ name, store: "postgres" });
      const config = parseConfig(app.schema, environmentOfCompose(compose.services[name]!, switched)) as Record<string, unknown>;
      const url = new URL(String(config.CLICKHOUSE_URL));
      // The image's entrypoint gives its `default` user the password it is started with.
      expect({ name, store: config.ANALYTICS_STORE, host: url.hostname, user: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD }).toEqual({
        name,
        store: "clickhouse",
        host: "clickhouse",
        user: "default",
        password: serverPassword,
      });
      expect(healthcheck).toContain(`:${url.port}/ping`);
    }
  });

  it("takes ClickHouse's password from .env, and ClickHouse refuses to start without one", () => {
    // Not with :? as the other secrets: compose reads every service, of a profile or not, and
    // would stop the default stack too.
    for (const [name, service] of Object.entries(compose.services)) {
      const raw = Array.isArray(service.environment) ? Object.fromEntries(service.environment.map((l) => l.split("="))) : (service.environment ?? {});
      if ("CLICKHOUSE_PASSWORD" in raw) expect({ name, value: raw.CLICKHOUSE_PASSWORD }).toEqual({ name, value: "${CLICKHOUSE_PASSWORD:-}" });
    }
    const [shell, flag, script = ""] = ([] as string[]).concat(compose.services.clickhouse!.entrypoint ?? []);
    expect({ shell, flag, handsOver: script.endsWith("exec /entrypoint.sh") }).toEqual({ shell: "bash", flag: "-c", handsOver: true });
    // The check as the container runs it ($$ is compose's $), the image's entrypoint left out.
    const check = interpolate(script, {}).replace(/exec \/entrypoint\.sh$/, "exit 0");
    // stdin not a socket and --norc: bash would otherwise take itself for an ssh session's and read ~/.bashrc.
    const run = (password: string) =>
      spawnSync("bash", ["--norc", "--noprofile", "-c", check], { env: { PATH: process.env.PATH, CLICKHOUSE_PASSWORD: password }, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
    expect({ status: run("").status, stderr: run("").stderr.trim() }).toEqual({ status: 1, stderr: "set CLICKHOUSE_PASSWORD in .env" });
    expect(run("a-password").status).toBe(0);
  });

  it("is accepted by `docker-compose config`, without and with the profile clickhouse", () => {
    // A .env of the operator's own must not decide the outcome: an empty one, and the filled example in the environment.
    const dir = mkdtempSync(join(tmpdir(), "startales-compose-"));
    try {
      writeFileSync(join(dir, ".env"), "");
      const env = { PATH: process.env.PATH, HOME: process.env.HOME ?? dir, COMPOSE_PROJECT_NAME: "startales", ...filledDotenv };
      const config = (args: string[], extra: Record<string, string> = {}) =>
        spawnSync(composeCli[0]!, [...composeCli.slice(1), "--project-directory", root, "-f", join(root, "docker-compose.yml"), "--env-file", join(dir, ".env"), ...args, "config", "-q"], {
          env: { ...env, ...extra },
          encoding: "utf8",
        });
      for (const [args, extra] of [
        [[], {}],
        [["--profile", "clickhouse"], { ANALYTICS_STORE: "clickhouse", CLICKHOUSE_PASSWORD: sampleSecret("CLICKHOUSE_PASSWORD") }],
      ] as const) {
        const result = config([...args], extra);
        expect({ args, status: result.status, stderr: result.status === 0 ? "" : result.stderr }).toEqual({ args, status: 0, stderr: "" });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps content's files in the MinIO bucket that minio-setup makes, with MinIO's root keys, on a volume of its own", () => {
    const minio = compose.services.minio!;
    const setup = compose.services["minio-setup"]!;
    expect(minio.image).toMatch(/^minio\/minio:RELEASE\./);
    expect(setup.image).toMatch(/^minio\/mc:RELEASE\./);
    const mounts = (minio.volumes ?? []).map((v) => (typeof v === "string" ? v : `${v.source}:${v.target}`));
    const data = mounts.find((m) => m.split(":")[1] === "/data");
    const named = (parse(composeSource, { merge: true }) as { volumes?: Record<string, unknown> }).volumes ?? {};
    expect(Object.keys(named)).toContain(data?.split(":")[0]);
    expect(Object.keys(setup.depends_on ?? {})).toEqual(["minio"]);
    expect(Object.keys(compose.services.content!.depends_on ?? {})).toEqual(expect.arrayContaining(["minio-setup"]));

    const content = processes.find((p) => p.name === "content")!;
    const env = environmentOfCompose(compose.services.content!, filledDotenv);
    const config = parseConfig(content.schema, env) as Record<string, unknown>;
    const server = environmentOfCompose(minio, filledDotenv);
    expect({
      storage: config.CONTENT_STORAGE,
      host: new URL(String(config.S3_ENDPOINT)).host,
      pathStyle: config.S3_FORCE_PATH_STYLE,
      accessKeyId: config.S3_ACCESS_KEY_ID,
      secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    }).toEqual({ storage: "s3", host: "minio:9000", pathStyle: true, accessKeyId: server.MINIO_ROOT_USER, secretAccessKey: server.MINIO_ROOT_PASSWORD });
    const script = ([] as string[]).concat(setup.command ?? []).join(" ");
    expect(script).toContain(`mc mb --ignore-existing local/${String(config.S3_BUCKET)}`);
    // Asset URLs start with the gateway as published.
    expect(String(config.GATEWAY_PORT)).toBe(interpolate(String(compose.services.gateway!.ports![0]), {}).split(":")[0]);
  });

  it("migrates exactly the databases the subgraphs use (as prisma/migrate-all.mjs derives them)", () => {
    const env = environmentOfCompose(compose.services.migrate!, filledDotenv);
    for (const s of databaseServices) {
      const own = env[`${s.name.toUpperCase()}_DATABASE_URL`];
      const fromServer = env.DATABASE_SERVER_URL && Object.assign(new URL(env.DATABASE_SERVER_URL), { pathname: `/${s.database}` }).toString();
      const used = environmentOfCompose(compose.services[s.name]!, filledDotenv).DATABASE_URL;
      expect({ service: s.name, migrates: own ?? fromServer }).toEqual({ service: s.name, migrates: used });
    }
  });
});

// ---------------------------------------------------------------------------------------
// Dockerfile and .dockerignore

describe("Dockerfile", () => {
  const dockerfile = read("Dockerfile").replace(/\\\n/g, " ");
  const lastStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));

  it("runs as a numeric non-root user, the one the Kubernetes pods run as", () => {
    const user = /^USER\s+(\d+)(?::(\d+))?\s*$/m.exec(lastStage);
    expect(user).not.toBeNull();
    expect(Number(user![1])).toBeGreaterThan(0);
    const runAsUsers = new Set(builtInKustomize(join(k8sDir, "base")).flatMap(podSpecsOf).map((spec) => spec.securityContext?.runAsUser));
    expect([...runAsUsers]).toEqual([Number(user![1])]);
  });

  it("starts the gateway by default, listens on all interfaces, and builds with the repository's build", () => {
    expect(lastStage).toMatch(/^CMD \["node", "--max-semi-space-size=64", "gateway\/dist\/main\.js"\]\s*$/m);
    expect(lastStage).toMatch(/HOST=0\.0\.0\.0/);
    expect(dockerfile).toMatch(/RUN npm ci\b/);
    expect(dockerfile).toMatch(/RUN npm run build\b/);
  });

  // CI tests every major that package.json "engines" allows; production should get the
  // newest of them, not one that reaches its end of life first.
  it("runs on the newest Node major that package.json supports", () => {
    const image = /^ARG NODE_IMAGE=node:(\d+)-bookworm-slim$/m.exec(dockerfile)?.[1];
    const engines = (JSON.parse(read("package.json")) as { engines: { node: string } }).engines.node;
    const majors = engines.split("||").map((range) => Number(/^\s*\^(\d+)\.\d+\.\d+\s*$/.exec(range)?.[1]));
    expect({ engines, majors }).toEqual({ engines, majors: expect.not.arrayContaining([NaN]) });
    expect(Number(image)).toBe(Math.max(...majors));
  });

  it("keeps local installs, build output and secrets out of the build context", () => {
    const ignored = read(".dockerignore").split("\n").map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(["**/node_modules", "**/dist", ".local", ".env", ".git"]));
  });
});
