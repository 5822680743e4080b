import { Global, Module } from '@nestjs/common';
import { LifecycleService } from './lifecycle.service';
import { SchemaCheck } from './schema-check';

@Global()
@Module({ providers: [LifecycleService, SchemaCheck], exports: [LifecycleService] })
export class LifecycleModule {}
