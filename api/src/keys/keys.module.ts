import { Module } from '@nestjs/common';
import { KeyStore } from './key-store.js';

/** The signing keys (api/src/keys/key-store.ts): opened, and created on the very first start, at boot. */
@Module({
  providers: [KeyStore],
  exports: [KeyStore],
})
export class KeysModule {}
