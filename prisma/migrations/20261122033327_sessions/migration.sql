-- CreateEnum
CREATE TYPE "CircuitState" AS ENUM ('CLOSED', 'OPEN', 'HALF_OPEN');

-- AlterTable
ALTER TABLE "Session" ADD COLUMN     "circuitFailures" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "circuitState" "CircuitState" NOT NULL DEFAULT 'CLOSED',
ADD COLUMN     "nextReconnectAt" TIMESTAMP(3),
ADD COLUMN     "qr" TEXT,
ADD COLUMN     "qrExpiresAt" TIMESTAMP(3),
ADD COLUMN     "queuedAt" TIMESTAMP(3),
ADD COLUMN     "reconnectAttempts" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "AuthCreds" (
    "sessionId" UUID NOT NULL,
    "data" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AuthCreds_pkey" PRIMARY KEY ("sessionId")
);

-- CreateTable
CREATE TABLE "AuthKey" (
    "sessionId" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "keyId" TEXT NOT NULL,
    "value" TEXT NOT NULL,

    CONSTRAINT "AuthKey_pkey" PRIMARY KEY ("sessionId","type","keyId")
);

-- CreateIndex
CREATE INDEX "Session_status_queuedAt_idx" ON "Session"("status", "queuedAt");

-- AddForeignKey
ALTER TABLE "AuthCreds" ADD CONSTRAINT "AuthCreds_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "Session"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AuthKey" ADD CONSTRAINT "AuthKey_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "Session"("id") ON DELETE CASCADE ON UPDATE CASCADE;
