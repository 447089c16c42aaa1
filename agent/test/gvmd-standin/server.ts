import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { makeFixture, type GvmdFixture } from './fixture.js';
import { GVMD_PROFILES, type GvmdProfile, type GvmdProfileId } from './profiles.js';
import {
  authenticateAnswer,
  countedAnswer,
  featuresAnswer,
  feedsAnswer,
  ok,
  reportsAnswer,
  scannersAnswer,
  statusOnly,
  tasksAnswer,
  versionAnswer,
  el,
} from './responses.js';
import { reportDetailsAnswer, resultsAnswer } from './results.js';
import { permissionCommand, roleMay, seesAdminObjects } from './permissions.js';

export interface GvmdUser {
  username: string;
  password: string;
  /** Commands this user may not run: gvmd answers 400 "Permission denied". */
  deny?: string[];
  /** gvmd's id of the user (made when first needed). */
  id?: string;
  /** A gvmd role (permissions.ts); none: may do and see everything. */
  role?: string;
}

export interface GvmdFaults {
  /** Wait this long before each answer (only for `slowCommands` when given). */
  slowMs?: number;
  slowCommands?: string[];
  /** Send the first half of this command's answer, then close the connection. */
  truncate?: string;
  /** Close the connection on this command without answering. */
  closeOn?: string;
  /** Write every answer one byte at a time (each byte its own write). */
  splitEveryByte?: boolean;
  /** Feeds report a sync in progress. */
  syncing?: boolean;
  /** The scanner does not answer: verify_scanner 503, the NVT feed unavailable. */
  scannerDown?: boolean;
  /** gvmd's "Max Rows Per Page" setting: get_tasks never returns more rows than this. */
  maxRowsPerPage?: number;
}

export interface GvmdStandinOptions {
  socketPath: string;
  profile?: GvmdProfileId;
  faults?: GvmdFaults;
  users?: GvmdUser[];
  fixture?: GvmdFixture;
  /**
   * The container default `admin` user's password (default `admin`, as a fresh community
   * container has it); null: no admin user. Added unless `users` names an admin already.
   */
  adminPassword?: string | null;
}

export interface GvmdStandin {
  socketPath: string;
  profile: GvmdProfile;
  fixture: GvmdFixture;
  /** Every command received, by element name, in order (over all connections). */
  commands: string[];
  /** Every answer sent in full or in part (to check what the client was given). */
  answers: string[];
  /** Change faults while running (applies to the next command). */
  faults: GvmdFaults;
  /** The users gvmd knows (the stand-in gvmd command line, cli.ts, adds and changes them; tests may too). */
  users: GvmdUser[];
  close(): Promise<void>;
}

export const DEFAULT_USERS: GvmdUser[] = [{ username: 'xspectre-agent', password: 'correct horse battery staple' }];

const requestParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  attributesGroupName: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: true,
});
const MAX_REQUEST = 1024 * 1024;

/**
 * A stand-in gvmd on a Unix socket: GMP framing (answers end when their root element closes,
 * nothing else marks them), gvmd's session rules (only get_version and authenticate before
 * authentication; anything else gets gvmd's 400 and the session ends, as it does for an unknown
 * command), paging of get_tasks, per-user permission errors, and fault knobs.
 */
export async function startGvmdStandin(options: GvmdStandinOptions): Promise<GvmdStandin> {
  const profile = GVMD_PROFILES[options.profile ?? 'current'];
  const fixture = options.fixture ?? makeFixture();
  // Copies: the command line changes them, never DEFAULT_USERS.
  const users = (options.users ?? DEFAULT_USERS).map((u) => ({ ...u }));
  const adminPassword = options.adminPassword === undefined ? 'admin' : options.adminPassword;
  if (adminPassword !== null && !users.some((u) => u.username === 'admin')) users.push({ username: 'admin', password: adminPassword });
  const sockets = new Set<Socket>();
  const standin: GvmdStandin = {
    socketPath: options.socketPath,
    profile,
    fixture,
    commands: [],
    answers: [],
    faults: { ...options.faults },
    users,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(options.socketPath, { force: true });
    },
  };

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let user: GvmdUser | null = null;
    let buffer = '';
    let busy = Promise.resolve();

    const write = async (xml: string, end = false) => {
      standin.answers.push(xml);
      const bytes = Buffer.from(xml, 'utf8');
      if (standin.faults.splitEveryByte) {
        for (const byte of bytes) {
          if (socket.destroyed) return;
          socket.write(Buffer.from([byte]));
          await new Promise((resolve) => setImmediate(resolve));
        }
      } else socket.write(bytes);
      if (end) socket.end();
    };

    const handle = async (command: string, attributes: Record<string, string>, body: Record<string, unknown>) => {
      standin.commands.push(command);
      const faults = standin.faults;
      if (faults.slowMs && (!faults.slowCommands || faults.slowCommands.includes(command)))
        await new Promise((r) => setTimeout(r, faults.slowMs));
      if (socket.destroyed) return;
      if (faults.closeOn === command) return void socket.destroy();
      const answer = (xml: string) => {
        if (faults.truncate === command) {
          const bytes = Buffer.from(xml, 'utf8');
          standin.answers.push(xml);
          // Half the bytes, often mid-character: the client must not take it for an answer.
          socket.end(bytes.subarray(0, Math.floor(bytes.length / 2)));
          return Promise.resolve();
        }
        return write(xml);
      };

      if (command === 'get_version') return answer(versionAnswer(profile));
      if (command === 'authenticate') {
        const credentials = (body.credentials ?? {}) as Record<string, unknown>;
        const found = users.find(
          (u) => u.username === String(credentials.username ?? '') && u.password === String(credentials.password ?? ''),
        );
        if (!found) return answer(statusOnly('authenticate', '400', 'Authentication failed'));
        user = found;
        return answer(authenticateAnswer());
      }
      if (user === null) {
        // gvmd: a 400 from "gmp", then the parser error ends the session.
        return write(statusOnly('gmp', '400', 'Only command GET_VERSION is allowed before AUTHENTICATE'), true);
      }
      if (user.deny?.includes(command) || !roleMay(user, command)) return answer(statusOnly(command, '400', 'Permission denied'));
      const administered = permissionCommand(standin, user, command, attributes, body);
      if (administered !== null) return answer(administered);
      // The fixture's tasks and reports belong to admin: an Observer sees them only through a Super permission.
      const visible = seesAdminObjects(standin, user) ? fixture : { ...fixture, tasks: [] };
      switch (command) {
        case 'get_feeds':
          return answer(feedsAnswer(fixture, { syncing: !!faults.syncing, scannerDown: !!faults.scannerDown }));
        case 'get_scanners':
          return answer(scannersAnswer(fixture));
        case 'verify_scanner': {
          const scanner = fixture.scanners.find((s) => s.id === attributes.scanner_id);
          if (!scanner) return answer(statusOnly(command, '404', `Failed to find scanner '${attributes.scanner_id ?? ''}'`));
          if (faults.scannerDown && scanner.type === '2') return answer(statusOnly(command, '503', 'Service unavailable'));
          return answer(ok(command, el('version', {}, scanner.version)));
        }
        case 'get_tasks':
          return answer(tasksAnswer(visible, profile, attributes.filter ?? '', faults.maxRowsPerPage));
        case 'get_targets':
          return answer(countedAnswer(command, fixture.targets));
        case 'get_credentials':
          return answer(countedAnswer(command, fixture.credentials));
        case 'get_results':
          return answer(resultsAnswer(visible, attributes.filter ?? ''));
        case 'get_reports': {
          const xml =
            attributes.details === '1' ? reportDetailsAnswer(visible, attributes.report_id) : reportsAnswer(visible, attributes.report_id);
          return answer(xml ?? statusOnly(command, '404', `Failed to find report '${attributes.report_id ?? ''}'`));
        }
        case 'get_features': {
          const xml = featuresAnswer(profile);
          if (xml !== null) return answer(xml);
          break; // unknown before gvmd 23.8
        }
      }
      return write(statusOnly('gmp', '400', 'Bogus command name'), true);
    };

    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1'); // bytes kept 1:1; decoded as UTF-8 once a request is whole
      if (buffer.length > MAX_REQUEST) return void socket.destroy();
      const text = Buffer.from(buffer, 'latin1').toString('utf8').trim();
      if (text === '' || XMLValidator.validate(text) !== true) return;
      buffer = '';
      const parsed = requestParser.parse(text) as Record<string, unknown>;
      const [command = ''] = Object.keys(parsed);
      const value = parsed[command];
      const element = (value !== null && typeof value === 'object' ? value : {}) as Record<string, unknown>;
      const attributes = (element['@'] ?? {}) as Record<string, string>;
      busy = busy.then(() => handle(command.toLowerCase(), attributes, element)).catch(() => void socket.destroy());
    });
  });

  await rm(options.socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.socketPath, () => resolve());
  });
  return standin;
}
