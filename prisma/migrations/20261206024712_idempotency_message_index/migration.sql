-- CreateIndex
CREATE INDEX "IdempotencyKey_messageId_idx" ON "IdempotencyKey"("messageId");
