-- AlterTable
ALTER TABLE "Webhook" ADD COLUMN     "fromSessionConfig" BOOLEAN NOT NULL DEFAULT false;
