-- CreateEnum
CREATE TYPE "backend" AS ENUM ('simulated', 'openai', 'vllm_lora', 'llamacpp_lora');

-- CreateEnum
CREATE TYPE "metric" AS ENUM ('multiple_choice', 'exact_match', 'exact_match_reference', 'abstain', 'judge');

-- CreateEnum
CREATE TYPE "split" AS ENUM ('dev', 'test');

-- CreateEnum
CREATE TYPE "run_status" AS ENUM ('queued', 'running', 'paused', 'cancelled', 'completed', 'failed');

-- CreateEnum
CREATE TYPE "step_kind" AS ENUM ('init', 'role', 'weight', 'final');

-- CreateEnum
CREATE TYPE "event_level" AS ENUM ('info', 'warn', 'error');

-- CreateTable
CREATE TABLE "pool" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "pool_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "pool_model" (
    "id" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "backend" "backend" NOT NULL,
    "endpoint" TEXT,
    "modelName" TEXT NOT NULL,
    "generationSettings" JSONB NOT NULL,
    "apiKey" TEXT,
    "baseModel" TEXT,
    "adapterPath" TEXT,
    "simulatedPreset" TEXT,
    "simulatedParams" JSONB,
    "weightCapable" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "pool_model_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "metric" "metric" NOT NULL,
    "promptTemplates" JSONB NOT NULL,
    "iclPrompt" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "task_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task_item" (
    "id" SERIAL NOT NULL,
    "taskId" TEXT NOT NULL,
    "split" "split" NOT NULL,
    "index" INTEGER NOT NULL,
    "question" TEXT NOT NULL,
    "answer" TEXT NOT NULL,
    "choices" JSONB,
    "domain" TEXT,
    "externalId" TEXT,
    "contextChunks" JSONB,

    CONSTRAINT "task_item_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "run" (
    "id" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "taskId" TEXT NOT NULL,
    "method" TEXT NOT NULL,
    "config" JSONB NOT NULL,
    "seed" INTEGER NOT NULL,
    "status" "run_status" NOT NULL DEFAULT 'queued',
    "iteration" INTEGER NOT NULL DEFAULT 0,
    "callsDone" INTEGER NOT NULL DEFAULT 0,
    "callsExpected" INTEGER NOT NULL DEFAULT 0,
    "cacheHits" INTEGER NOT NULL DEFAULT 0,
    "tokens" BIGINT NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "checkpoint" JSONB,
    "result" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "leaseOwner" TEXT,
    "leaseUntil" TIMESTAMP(3),

    CONSTRAINT "run_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "run_step" (
    "id" SERIAL NOT NULL,
    "runId" TEXT NOT NULL,
    "index" INTEGER NOT NULL,
    "kind" "step_kind" NOT NULL,
    "iteration" INTEGER NOT NULL,
    "graphs" JSONB NOT NULL,
    "models" JSONB NOT NULL,
    "best" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "run_step_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "item_result" (
    "runId" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "split" "split" NOT NULL,
    "itemIndex" INTEGER NOT NULL,
    "correct" BOOLEAN NOT NULL,
    "score" DOUBLE PRECISION NOT NULL,
    "output" TEXT,

    CONSTRAINT "item_result_pkey" PRIMARY KEY ("runId","subject","split","itemIndex")
);

-- CreateTable
CREATE TABLE "run_event" (
    "id" SERIAL NOT NULL,
    "runId" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "level" "event_level" NOT NULL,
    "message" TEXT NOT NULL,
    "data" JSONB,

    CONSTRAINT "run_event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "generation_cache_entry" (
    "key" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "promptTokens" INTEGER,
    "completionTokens" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "generation_cache_entry_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "system" (
    "id" TEXT NOT NULL,
    "runId" TEXT,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "definition" JSONB NOT NULL,

    CONSTRAINT "system_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "pool_name_key" ON "pool"("name");

-- CreateIndex
CREATE UNIQUE INDEX "pool_model_poolId_index_key" ON "pool_model"("poolId", "index");

-- CreateIndex
CREATE UNIQUE INDEX "task_name_key" ON "task"("name");

-- CreateIndex
CREATE UNIQUE INDEX "task_item_taskId_split_index_key" ON "task_item"("taskId", "split", "index");

-- CreateIndex
CREATE INDEX "run_status_idx" ON "run"("status");

-- CreateIndex
CREATE INDEX "run_poolId_idx" ON "run"("poolId");

-- CreateIndex
CREATE INDEX "run_taskId_idx" ON "run"("taskId");

-- CreateIndex
CREATE UNIQUE INDEX "run_step_runId_index_key" ON "run_step"("runId", "index");

-- CreateIndex
CREATE INDEX "run_event_runId_at_idx" ON "run_event"("runId", "at");

-- CreateIndex
CREATE INDEX "system_runId_idx" ON "system"("runId");

-- AddForeignKey
ALTER TABLE "pool_model" ADD CONSTRAINT "pool_model_poolId_fkey" FOREIGN KEY ("poolId") REFERENCES "pool"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task_item" ADD CONSTRAINT "task_item_taskId_fkey" FOREIGN KEY ("taskId") REFERENCES "task"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "run" ADD CONSTRAINT "run_poolId_fkey" FOREIGN KEY ("poolId") REFERENCES "pool"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "run" ADD CONSTRAINT "run_taskId_fkey" FOREIGN KEY ("taskId") REFERENCES "task"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "run_step" ADD CONSTRAINT "run_step_runId_fkey" FOREIGN KEY ("runId") REFERENCES "run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "item_result" ADD CONSTRAINT "item_result_runId_fkey" FOREIGN KEY ("runId") REFERENCES "run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "run_event" ADD CONSTRAINT "run_event_runId_fkey" FOREIGN KEY ("runId") REFERENCES "run"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "system" ADD CONSTRAINT "system_runId_fkey" FOREIGN KEY ("runId") REFERENCES "run"("id") ON DELETE SET NULL ON UPDATE CASCADE;
