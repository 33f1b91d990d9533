/** The session object of `GET /api/v1/users/{id}/sessions` and `janua users sessions --json`: its keys, sorted. */
export const SESSION_FIELDS = [
  'created_at',
  'current',
  'expires_at',
  'id',
  'ip',
  'last_used_at',
  'user_agent',
];
