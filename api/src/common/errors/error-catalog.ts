/**
 * Every error code the API answers with, and its HTTP status and title. The one place
 * where codes meet HTTP: `satisfies` keeps it exhaustive for the union of codes.
 */
export const ERROR_CATALOG = {
  // request shape
  VALIDATION_FAILED: { status: 400, title: 'The request is not valid' },
  MALFORMED_JSON: { status: 400, title: 'The request body is not valid JSON' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The request body must be application/json' },
  URI_TOO_LONG: { status: 414, title: 'The URL is too long' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  INTERNAL_ERROR: { status: 500, title: 'Internal error' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'A dependency is unavailable' },
  CONCURRENT_CHANGE: { status: 409, title: 'A concurrent request changed the same records: retry' },
  // auth
  AUTH_REQUIRED: { status: 401, title: 'Authentication required' },
  AUTH_INVALID_CREDENTIALS: { status: 401, title: 'Wrong email or password' },
  AUTH_TOKEN_INVALID: { status: 401, title: 'The token is invalid or expired' },
  AUTH_SESSION_REVOKED: { status: 401, title: 'The session has ended' },
  AUTH_REFRESH_REUSED: { status: 401, title: 'Refresh token reuse detected: the session was revoked' },
  AUTH_USER_DISABLED: { status: 401, title: 'The account is disabled' },
  AUTH_LOGIN_BACKOFF: { status: 429, title: 'Too many failed logins: wait before trying again' },
  AUTH_ACCOUNT_LOCKED: { status: 423, title: 'The account is locked: an administrator must unlock it' },
  AUTH_CSRF_FAILED: { status: 403, title: 'Missing or wrong CSRF token' },
  AUTH_FORBIDDEN: { status: 403, title: 'Your role does not allow this' },
  AUTH_ROUTE_UNDECLARED: { status: 403, title: 'This route declares no permission and is closed' },
  AUTH_STEP_UP_REQUIRED: { status: 403, title: 'This action needs a TOTP code verified in the last minutes' },
  AUTH_TOTP_SETUP_REQUIRED: { status: 403, title: 'Two-factor authentication must be set up first' },
  AUTH_TOTP_INVALID: { status: 401, title: 'The code is wrong, expired or already used' },
  AUTH_TOTP_NOT_ENABLED: { status: 409, title: 'Two-factor authentication is not enabled' },
  AUTH_TOTP_ALREADY_ENABLED: { status: 409, title: 'Two-factor authentication is already enabled' },
  AUTH_TOTP_NOT_STARTED: { status: 409, title: 'Start TOTP setup first' },
  AUTH_TOTP_REQUIRED_BY_POLICY: { status: 409, title: 'Two-factor authentication is required for everyone' },
  AUTH_INTERNAL_READ_ONLY: { status: 403, title: 'Internal infrastructure is read-only for your role' },
  // users
  USER_NOT_FOUND: { status: 404, title: 'No such user' },
  USER_EMAIL_TAKEN: { status: 409, title: 'A user with this email exists' },
  USER_LAST_SUPER_ADMIN: { status: 409, title: 'The last active Super Admin cannot be demoted or disabled' },
  USER_SELF_CHANGE: { status: 409, title: 'You cannot change your own role or status' },
  // organizations and sites
  ORGANIZATION_NOT_FOUND: { status: 404, title: 'No such organization' },
  ORGANIZATION_NAME_TAKEN: { status: 409, title: 'An organization with this name exists' },
  ORGANIZATION_INTERNAL_EXISTS: { status: 409, title: 'The internal organization exists already' },
  ORGANIZATION_NOT_EMPTY: { status: 409, title: 'The organization still has sites' },
  SITE_NOT_FOUND: { status: 404, title: 'No such site' },
  SITE_NAME_TAKEN: { status: 409, title: 'The organization has a site with this name' },
  SITE_NOT_EMPTY: { status: 409, title: 'The site still has devices' },
  // devices and enrollment
  DEVICE_NOT_FOUND: { status: 404, title: 'No such device' },
  DEVICE_NAME_TAKEN: { status: 409, title: 'The organization has a device with this name' },
  DEVICE_SITE_MISMATCH: { status: 422, title: 'The site belongs to another organization' },
  DEVICE_NOT_PENDING: { status: 409, title: 'The device is already enrolled or no longer in service' },
  DEVICE_ALREADY_REVOKED: { status: 409, title: 'The device is already revoked or retired' },
  CLAIM_CODE_NOT_FOUND: { status: 404, title: 'No such claim code' },
  CLAIM_CODE_INVALID: { status: 401, title: 'The claim code is not valid' },
  CLAIM_CODE_EXPIRED: { status: 410, title: 'The claim code has expired: create a new one' },
  CLAIM_CODE_USED: { status: 409, title: 'The claim code was used already: create a new one' },
  CLAIM_CODE_REVOKED: { status: 410, title: 'The claim code was revoked: create a new one' },
  ENROLL_KEY_IN_USE: { status: 409, title: 'This WireGuard key belongs to another device: generate a new key pair' },
  ENROLL_KEY_IS_HUB: { status: 409, title: "This WireGuard key is the hub's own key: generate a new key pair" },
  OVERLAY_POOL_EXHAUSTED: { status: 503, title: 'No overlay address is free in this pool' },
  HUB_UNAVAILABLE: { status: 503, title: 'The WireGuard hub could not be updated' },
  HUB_NOT_CONFIGURED: { status: 503, title: 'This API instance drives no WireGuard hub (API_WG_INTERFACE)' },
  DEVICE_AUTH_REQUIRED: { status: 401, title: 'A device credential is required' },
  DEVICE_AUTH_INVALID: { status: 401, title: 'The device credential is not valid' },
  DEVICE_SOURCE_MISMATCH: { status: 403, title: 'Agent requests must come through the device tunnel' },
  DEVICE_ID_MISMATCH: { status: 403, title: 'The message names another device' },
  HEARTBEAT_QUEUE_FULL: { status: 503, title: 'Too many heartbeats are waiting to be written: retry later' },
  DEVICE_NOT_QUARANTINED: { status: 409, title: 'The device is not quarantined' },
  INVENTORY_NOT_REPORTED: { status: 409, title: 'The device has not reported an inventory that can be fingerprinted' },
  // commands
  DEVICE_NOT_ACTIVE: { status: 409, title: 'The device is not enrolled and in service' },
  DEVICE_QUARANTINED: { status: 409, title: 'The device is quarantined: no commands until an operator accepts its hardware' },
  COMMAND_WRONG_ROUTE: {
    status: 400,
    title: 'Critical actions use POST devices/:id/critical-commands, the others POST devices/:id/commands',
  },
  COMMAND_NOT_FOUND: { status: 404, title: 'No such command' },
  COMMAND_TRANSITION_INVALID: { status: 409, title: 'The command cannot move to this status' },
  // managed settings: credential rotation, command-key rotation
  DEVICE_CREDENTIAL_REFUSED: { status: 409, title: 'This credential cannot become the device credential: make another' },
  KEY_ANNOUNCEMENT_PENDING: { status: 409, title: 'A command-signing key is announced already: rotate again once it signs' },
  // script library
  SCRIPT_NOT_FOUND: { status: 404, title: 'No such script' },
  SCRIPT_NAME_TAKEN: { status: 409, title: 'A script with this name exists' },
  SCRIPT_ARCHIVED: { status: 409, title: 'The script is archived: it cannot be run or changed' },
  AGENT_BINARY_MISSING: { status: 404, title: 'The agent executable has not been built on this server' },
  AGENT_BUILD_NOT_FOUND: { status: 404, title: 'This server serves no such agent build' },
  AGENT_BUILD_AMBIGUOUS: { status: 409, title: 'Several agent builds match: name one by its build id' },
  // alert delivery: targets and the delivery queue
  ALERT_TARGET_NOT_FOUND: { status: 404, title: 'No such alert target' },
  ALERT_TARGET_ADDRESS_REFUSED: {
    status: 400,
    title: 'The target address is loopback, link-local, private or in the overlay: set allowPrivateAddress to allow it',
  },
  ALERT_DELIVERY_NOT_FOUND: { status: 404, title: 'No such alert delivery' },
  ALERT_DELIVERY_NOT_DEAD: { status: 409, title: 'Only a dead delivery can be retried' },
  // live updates (GET live, a WebSocket)
  LIVE_UPGRADE_REQUIRED: { status: 426, title: 'Open this URL as a WebSocket' },
  LIVE_ORIGIN_FORBIDDEN: { status: 403, title: 'This origin may not open the live connection' },
  /** Sent in a live `error` message (with MALFORMED_JSON and VALIDATION_FAILED); never an HTTP answer. */
  LIVE_MESSAGE_UNSUPPORTED: { status: 400, title: 'Unknown live message type' },
  // audit
  AUDIT_EXPORT_TOO_LARGE: { status: 422, title: 'Narrow the filter: the export is too large' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;
