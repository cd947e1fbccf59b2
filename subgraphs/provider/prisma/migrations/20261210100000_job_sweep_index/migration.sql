-- CreateIndex
CREATE INDEX "provider_jobs_status_created_at_idx" ON "provider_jobs"("status", "created_at");

