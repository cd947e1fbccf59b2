-- The users forgetUser erased, as a SHA-256 of their id and nothing else: the ingest keeps
-- their later events (a membership their account deletion ended, a session that ended with
-- it) without naming them. Not in the analyst views.
CREATE TABLE "forgotten_users" (
    "user_hash" TEXT NOT NULL,
    "forgotten_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),

    CONSTRAINT "forgotten_users_pkey" PRIMARY KEY ("user_hash")
);
