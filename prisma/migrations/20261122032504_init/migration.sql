-- CreateEnum
CREATE TYPE "SessionStatus" AS ENUM ('STOPPED', 'QUEUED', 'STARTING', 'SCAN_QR', 'WORKING', 'RECONNECTING', 'FAILED', 'LOGGED_OUT', 'CONFLICT');

-- CreateEnum
CREATE TYPE "DesiredState" AS ENUM ('RUNNING', 'STOPPED');

-- CreateEnum
CREATE TYPE "QueueItemStatus" AS ENUM ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED');

-- CreateTable
CREATE TABLE "Session" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "desiredState" "DesiredState" NOT NULL DEFAULT 'STOPPED',
    "status" "SessionStatus" NOT NULL DEFAULT 'STOPPED',
    "config" JSONB NOT NULL DEFAULT '{}',
    "me" JSONB,
    "lastError" TEXT,
    "stats" JSONB NOT NULL DEFAULT '{}',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "MessageQueueItem" (
    "id" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "chatId" TEXT NOT NULL,
    "messageId" UUID,
    "payload" JSONB NOT NULL,
    "status" "QueueItemStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "lockedBy" TEXT,
    "lockedAt" TIMESTAMP(3),
    "availableAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "MessageQueueItem_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Session_name_key" ON "Session"("name");

-- CreateIndex
CREATE INDEX "Session_desiredState_status_idx" ON "Session"("desiredState", "status");

-- CreateIndex
CREATE INDEX "MessageQueueItem_sessionId_chatId_status_createdAt_idx" ON "MessageQueueItem"("sessionId", "chatId", "status", "createdAt");

-- CreateIndex
CREATE INDEX "MessageQueueItem_status_updatedAt_idx" ON "MessageQueueItem"("status", "updatedAt");

-- CreateIndex
CREATE INDEX "MessageQueueItem_status_createdAt_idx" ON "MessageQueueItem"("status", "createdAt");

-- CreateIndex
CREATE INDEX "MessageQueueItem_status_lockedAt_idx" ON "MessageQueueItem"("status", "lockedAt");

-- AddForeignKey
ALTER TABLE "MessageQueueItem" ADD CONSTRAINT "MessageQueueItem_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "Session"("id") ON DELETE CASCADE ON UPDATE CASCADE;
