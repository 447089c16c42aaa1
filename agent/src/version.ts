/** The agent's version, sent in every message. Kept equal to agent/package.json (a test checks it). */
export const AGENT_VERSION = '0.1.0';
