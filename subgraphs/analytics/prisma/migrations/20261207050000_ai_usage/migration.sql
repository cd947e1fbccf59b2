-- Provider's usage records (JOB_FINISHED), per minute, kind, deployment, model and campaign
-- ('' where none): requests, failures, cache hits, failovers, tokens, cost, and a histogram of
-- the jobs' run times (bounds 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120 s, then longer).
CREATE TABLE "ai_usage" (
    "minute" TIMESTAMPTZ(0) NOT NULL,
    "kind" TEXT NOT NULL,
    "deployment" TEXT NOT NULL,
    "model" TEXT NOT NULL,
    "campaign" TEXT NOT NULL,
    "requests" INTEGER NOT NULL,
    "failures" INTEGER NOT NULL,
    "cache_hits" INTEGER NOT NULL,
    "failovers" INTEGER NOT NULL,
    "prompt_tokens" BIGINT NOT NULL,
    "completion_tokens" BIGINT NOT NULL,
    "cost_micros" BIGINT NOT NULL,
    "run_buckets" INTEGER[] NOT NULL,

    CONSTRAINT "ai_usage_pkey" PRIMARY KEY ("minute","kind","deployment","model","campaign")
);

CREATE VIEW "analyst"."ai_usage" AS
    SELECT "minute", "kind", "deployment", "model", "campaign", "requests", "failures", "cache_hits", "failovers", "prompt_tokens", "completion_tokens", "cost_micros", "run_buckets" FROM "ai_usage";
GRANT SELECT ON "analyst"."ai_usage" TO "startales_analyst";
