import type { Client, SFTPWrapper } from 'ssh2';

/** ssh2's channel window and packet size (lib/client.js MAX_WINDOW, PACKET_SIZE). */
const WINDOW = 2 * 1024 * 1024;
const PACKET = 32 * 1024;

/** Where Debian/Ubuntu and RHEL-likes keep OpenSSH's sftp-server; fixed strings, never input. */
const SFTP_SERVER_COMMAND =
  'exec sudo -n /usr/lib/openssh/sftp-server 2>/dev/null || exec sudo -n /usr/libexec/openssh/sftp-server 2>/dev/null || exec sudo -n /usr/lib/ssh/sftp-server';

interface ClientInternals {
  _chanMgr: { add(wrapper: unknown): number };
  _protocol: {
    session(localChan: number, window: number, packetSize: number): void;
    exec(id: number, command: string, wantReply: boolean): void;
  };
}
interface ChannelInternals {
  outgoing: { id: number; state: string };
  _callbacks: Array<(hadError: unknown) => void>;
  subtype?: string;
  _init(): void;
}

/**
 * An SFTP session as root: OpenSSH's sftp-server started through `sudo -n` on an exec channel
 * (the account xspectre-ops has passwordless sudo), since a file manager limited to that account
 * could not read or fix what operators need (/etc, /var/log, the scanner's data). ssh2 only
 * starts SFTP as the `sftp` subsystem, so this opens the channel the way its `Client.sftp` does
 * (an `sftp`-typed channel, so ssh2 wraps it in its SFTP class) but asks for exec instead.
 */
export function openRootSftp(client: Client, timeoutMs: number): Promise<SFTPWrapper> {
  const internals = client as unknown as ClientInternals;
  return new Promise<SFTPWrapper>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => finish(new Error(`sftp-server did not start within ${timeoutMs} ms`)), timeoutMs);
    const finish = (error: Error | null, sftp?: SFTPWrapper) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(sftp!);
    };
    const wrapper = (error: Error | undefined, channel: SFTPWrapper & ChannelInternals) => {
      if (error) return finish(error);
      channel._callbacks.push((hadError) => {
        if (hadError) return finish(new Error('the device refused to start sftp-server through sudo'));
        channel.subtype = 'exec';
        const onExit = () => finish(new Error('sftp-server exited at once (is sudo installed and xspectre-ops allowed?)'));
        channel.once('ready', () => {
          channel.removeListener('close', onExit);
          finish(null, channel);
        });
        channel.once('close', onExit);
        channel.once('error', (e: Error) => finish(e));
        channel._init();
      });
      internals._protocol.exec(channel.outgoing.id, SFTP_SERVER_COMMAND, true);
    };
    (wrapper as unknown as { type: string }).type = 'sftp';
    const local = internals._chanMgr.add(wrapper);
    if (local === -1) return finish(new Error('no free SSH channel'));
    internals._protocol.session(local, WINDOW, PACKET);
  });
}
