-- CreateEnum
CREATE TYPE "SessionAction" AS ENUM ('RESTART', 'LOGOUT', 'DELETE');

-- AlterTable
ALTER TABLE "Session" ADD COLUMN     "actionSeq" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "deletedAt" TIMESTAMP(3),
ADD COLUMN     "leaseEpoch" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "pendingAction" "SessionAction";
