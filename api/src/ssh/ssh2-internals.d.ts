// ssh2 ships no types for its protocol internals; certificate-login.ts uses exactly this much of them.
declare module 'ssh2/lib/protocol/utils.js' {
  const utils: { sendPacket(protocol: unknown, packet: Buffer): void };
  export default utils;
}
