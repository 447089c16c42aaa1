import { Module } from '@nestjs/common';
import { DeviceEventsRepository } from './device-events.repository.js';
import { DeviceEventsService } from './device-events.service.js';

/** The device event outbox: written with what caused each event, announced live after commit. */
@Module({ providers: [DeviceEventsService, DeviceEventsRepository], exports: [DeviceEventsService] })
export class DeviceEventsModule {}
