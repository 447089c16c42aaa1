export { startGvmdStandin, DEFAULT_USERS, type GvmdFaults, type GvmdStandin, type GvmdStandinOptions, type GvmdUser } from './server.js';
export { GVMD_PROFILES, type GvmdProfile, type GvmdProfileId } from './profiles.js';
export { makeFixture, SENSITIVE_STRINGS, type GvmdFixture, type FixtureTask } from './fixture.js';
export { prepareGvmdCliFiles, startGvmdCliWatcher, GVMD_CLI_SCRIPT, GVMD_IMAGE_FILES, type GvmdCliWatcher } from './cli.js';
export { FIXTURE_RESULTS, OTHER_HOSTS } from './results.js';
export { ROLE_IDS, seesAdminObjects, standinPermissions, type StandinPermission } from './permissions.js';
