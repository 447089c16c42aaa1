import { Module } from '@nestjs/common';
import { KeysModule } from '../keys/keys.module.js';
import { SshCertificateAuthority } from './ssh-certificate-authority.js';

/** The SSH user certificate authority (api/src/ssh/ssh-certificate-authority.ts). */
@Module({
  imports: [KeysModule],
  providers: [SshCertificateAuthority],
  exports: [SshCertificateAuthority],
})
export class SshModule {}
