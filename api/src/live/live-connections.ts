import { Injectable } from '@nestjs/common';
import { messageFor, type LiveEnvelope } from './live-channel.js';
import type { LiveConnection } from './live-connection.js';

/** The live connections of this API instance, and the fan-out of each message to them. */
@Injectable()
export class LiveConnections {
  private readonly connections = new Set<LiveConnection>();

  get size(): number {
    return this.connections.size;
  }

  add(connection: LiveConnection): void {
    this.connections.add(connection);
  }

  delete(connection: LiveConnection): void {
    this.connections.delete(connection);
  }

  all(): LiveConnection[] {
    return [...this.connections];
  }

  /** The open connections grouped by session, so a periodic check reads each session once. */
  bySession(): Map<string, LiveConnection[]> {
    const sessions = new Map<string, LiveConnection[]>();
    for (const connection of this.connections) {
      const list = sessions.get(connection.principal.sessionId);
      if (list) list.push(connection);
      else sessions.set(connection.principal.sessionId, [connection]);
    }
    return sessions;
  }

  dispatch(envelope: LiveEnvelope): void {
    // A fleet message is the same for everyone: serialize it once.
    let shared: string | undefined;
    for (const connection of this.connections) {
      const message = messageFor(envelope, connection.subscribedDevices);
      if (!message) continue;
      if (message === envelope.message) connection.sendText((shared ??= JSON.stringify(message)));
      else connection.send(message);
    }
  }
}
