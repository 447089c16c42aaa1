import { Module } from '@nestjs/common';
import { DevicesModule } from '../devices/devices.module.js';
import { InventoryModule } from '../inventory/inventory.module.js';
import { LiveEndpointModule } from '../live/live-endpoint.module.js';
import { RecoveryModule } from '../recovery/recovery.module.js';
import { SshModule } from '../ssh/ssh.module.js';
import { DeviceSshConnector } from './device-ssh.connector.js';
import { RemoteFilesController } from './files/remote-files.controller.js';
import { RemoteFilesService } from './files/remote-files.service.js';
import { SftpConnections } from './files/sftp-connections.js';
import { OpenRemoteSessions } from './open-remote-sessions.js';
import { RemoteAccessPolicy } from './remote-access-policy.js';
import { RemoteSessionsController } from './remote-sessions.controller.js';
import { RemoteAccessStoreModule } from './remote-access-store.module.js';
import { TerminalController } from './terminal/terminal.controller.js';
import { TerminalGateway } from './terminal/terminal.gateway.js';
import { TerminalTickets } from './terminal/terminal-tickets.js';

/**
 * Terminal and file sessions over SSH (api/docs/remote-access.md): the SSH connector (certificate
 * login, pinned host keys), the terminal WebSocket with its recordings, the file manager's routes,
 * and the registry that closes sessions the moment access goes. API only; the sessions' records and
 * the recordings come from RemoteAccessStoreModule, which the worker imports too.
 */
@Module({
  imports: [DevicesModule, InventoryModule, LiveEndpointModule, SshModule, RemoteAccessStoreModule, RecoveryModule],
  controllers: [TerminalController, RemoteSessionsController, RemoteFilesController],
  providers: [
    DeviceSshConnector,
    RemoteAccessPolicy,
    OpenRemoteSessions,
    TerminalTickets,
    TerminalGateway,
    RemoteFilesService,
    SftpConnections,
  ],
})
export class RemoteAccessModule {}
