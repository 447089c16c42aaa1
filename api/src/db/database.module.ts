import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { dataSourceOptions } from './data-source-options.js';
import { Database } from './database.js';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({ ...dataSourceOptions(config.DB_URL, config.DB_POOL_SIZE), retryAttempts: 3, retryDelay: 1000 }),
    }),
  ],
  providers: [Database],
  exports: [Database],
})
export class DatabaseModule {}
