/*
  Warnings:

  - You are about to drop the column `payload` on the `MessageQueueItem` table. All the data in the column will be lost.
  - A unique constraint covering the columns `[seq]` on the table `MessageQueueItem` will be added. If there are existing duplicate values, this will fail.
  - A unique constraint covering the columns `[messageId]` on the table `MessageQueueItem` will be added. If there are existing duplicate values, this will fail.
  - Made the column `messageId` on table `MessageQueueItem` required. This step will fail if there are existing NULL values in that column.

*/
-- CreateEnum
CREATE TYPE "MessageDirection" AS ENUM ('OUTBOUND', 'INBOUND');

-- CreateEnum
CREATE TYPE "MessageStatus" AS ENUM ('QUEUED', 'SENDING', 'SENT', 'DELIVERED', 'READ', 'FAILED', 'EXPIRED', 'CANCELED', 'RECEIVED');

-- DropIndex
DROP INDEX "MessageQueueItem_sessionId_chatId_status_createdAt_idx";

-- Rows written before the Message table existed have no message to send (nothing wrote any)
DELETE FROM "MessageQueueItem" WHERE "messageId" IS NULL;

-- AlterTable
ALTER TABLE "MessageQueueItem" DROP COLUMN "payload",
ADD COLUMN     "seq" BIGSERIAL NOT NULL,
ALTER COLUMN "messageId" SET NOT NULL;

-- CreateTable
CREATE TABLE "Message" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "sessionId" UUID NOT NULL,
    "chatId" TEXT NOT NULL,
    "direction" "MessageDirection" NOT NULL,
    "type" TEXT NOT NULL,
    "status" "MessageStatus" NOT NULL,
    "text" TEXT,
    "content" JSONB,
    "replyToId" UUID,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "waMessageId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "sentAt" TIMESTAMP(3),
    "deliveredAt" TIMESTAMP(3),
    "readAt" TIMESTAMP(3),

    CONSTRAINT "Message_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "IdempotencyKey" (
    "sessionId" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "requestHash" TEXT NOT NULL,
    "messageId" UUID NOT NULL,
    "response" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "IdempotencyKey_pkey" PRIMARY KEY ("sessionId","key")
);

-- CreateIndex
CREATE UNIQUE INDEX "Message_seq_key" ON "Message"("seq");

-- CreateIndex
CREATE INDEX "Message_sessionId_seq_idx" ON "Message"("sessionId", "seq");

-- CreateIndex
CREATE INDEX "Message_sessionId_chatId_seq_idx" ON "Message"("sessionId", "chatId", "seq");

-- CreateIndex
CREATE INDEX "Message_status_createdAt_idx" ON "Message"("status", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Message_sessionId_waMessageId_key" ON "Message"("sessionId", "waMessageId");

-- CreateIndex
CREATE INDEX "IdempotencyKey_createdAt_idx" ON "IdempotencyKey"("createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "MessageQueueItem_seq_key" ON "MessageQueueItem"("seq");

-- CreateIndex
CREATE UNIQUE INDEX "MessageQueueItem_messageId_key" ON "MessageQueueItem"("messageId");

-- CreateIndex
CREATE INDEX "MessageQueueItem_sessionId_chatId_status_seq_idx" ON "MessageQueueItem"("sessionId", "chatId", "status", "seq");

-- AddForeignKey
ALTER TABLE "MessageQueueItem" ADD CONSTRAINT "MessageQueueItem_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "Message"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Message" ADD CONSTRAINT "Message_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "Session"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "IdempotencyKey" ADD CONSTRAINT "IdempotencyKey_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "Session"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "IdempotencyKey" ADD CONSTRAINT "IdempotencyKey_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "Message"("id") ON DELETE CASCADE ON UPDATE CASCADE;
