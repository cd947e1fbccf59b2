-- The gateway's usage statistics (OPERATION_STATS events), per minute: operations by name and
-- client with a latency histogram (the gateway's OPERATION_LATENCY_BUCKETS_MS, then one bucket
-- for longer), error codes, and the deprecated schema elements each client still uses.
CREATE TABLE "api_operations" (
    "minute" TIMESTAMPTZ(0) NOT NULL,
    "operation" TEXT NOT NULL,
    "client_name" TEXT NOT NULL,
    "client_version" TEXT NOT NULL,
    "requests" INTEGER NOT NULL,
    "errors" INTEGER NOT NULL,
    "duration_ms_sum" DOUBLE PRECISION NOT NULL,
    "duration_buckets" INTEGER[] NOT NULL,

    CONSTRAINT "api_operations_pkey" PRIMARY KEY ("minute","operation","client_name","client_version")
);

CREATE TABLE "api_errors" (
    "minute" TIMESTAMPTZ(0) NOT NULL,
    "operation" TEXT NOT NULL,
    "client_name" TEXT NOT NULL,
    "client_version" TEXT NOT NULL,
    "code" TEXT NOT NULL,
    "count" INTEGER NOT NULL,

    CONSTRAINT "api_errors_pkey" PRIMARY KEY ("minute","operation","client_name","client_version","code")
);

CREATE TABLE "deprecated_usage" (
    "minute" TIMESTAMPTZ(0) NOT NULL,
    "field" TEXT NOT NULL,
    "client_name" TEXT NOT NULL,
    "client_version" TEXT NOT NULL,
    "count" INTEGER NOT NULL,

    CONSTRAINT "deprecated_usage_pkey" PRIMARY KEY ("minute","field","client_name","client_version")
);

-- For BI tools (the analyst schema): the same rows, read-only.
CREATE VIEW "analyst"."api_operations" AS
    SELECT "minute", "operation", "client_name", "client_version", "requests", "errors", "duration_ms_sum", "duration_buckets" FROM "api_operations";
CREATE VIEW "analyst"."api_errors" AS
    SELECT "minute", "operation", "client_name", "client_version", "code", "count" FROM "api_errors";
CREATE VIEW "analyst"."deprecated_usage" AS
    SELECT "minute", "field", "client_name", "client_version", "count" FROM "deprecated_usage";
GRANT SELECT ON "analyst"."api_operations", "analyst"."api_errors", "analyst"."deprecated_usage" TO "startales_analyst";
