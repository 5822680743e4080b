import { Global, Injectable, Module } from '@nestjs/common';

export type InfoProvider = () => Promise<Record<string, unknown>> | Record<string, unknown>;

/**
 * Lets feature modules contribute informational sections to /health/ready
 * (`pool` from sessions, `flows` from messaging) without the health module
 * importing them: dependencies keep pointing from modules to infra.
 */
@Injectable()
export class HealthInfoRegistry {
  private readonly providers = new Map<string, InfoProvider>();

  register(name: string, provider: InfoProvider): void {
    this.providers.set(name, provider);
  }

  get(name: string): InfoProvider | undefined {
    return this.providers.get(name);
  }
}

@Global()
@Module({ providers: [HealthInfoRegistry], exports: [HealthInfoRegistry] })
export class HealthInfoModule {}
