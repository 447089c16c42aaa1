import { Module } from '@nestjs/common';
import { DeviceEventsModule } from '../device-events/device-events.module.js';
import { DevicesModule } from '../devices/devices.module.js';
import { HubModule } from '../hub/hub.module.js';
import { KeysModule } from '../keys/keys.module.js';
import { SshModule } from '../ssh/ssh.module.js';
import { EnrollmentController } from './enrollment.controller.js';
import { EnrollmentService } from './enrollment.service.js';

/** A device redeems its claim code: an overlay address, a hub peer, a credential, in one transaction. */
@Module({
  imports: [DevicesModule, HubModule, DeviceEventsModule, KeysModule, SshModule],
  controllers: [EnrollmentController],
  providers: [EnrollmentService],
})
export class EnrollmentModule {}
