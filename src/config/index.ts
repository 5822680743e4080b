export { APP_CONFIG, ConfigModule } from './config.module';
export type { AppConfig } from './config.schema';
export { ConfigValidationError, loadConfig, parseConfig } from './load-config';
