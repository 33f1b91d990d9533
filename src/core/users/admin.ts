/**
 * User administration: one function per operation, called by both the `/api/v1/users` routes and the
 * `janua users` commands. Who may act is read from the RequestContext: platform admins (`actorType: 'admin'`)
 * and operators (`cli`, `system`) may administer anyone; a signed-in user only themself, and only where an
 * operation says so. Every change writes its audit row and domain events in the transaction that makes it.
 *
 * The operations live in one module per concern (./admin-list.ts, -create, -update, -status, -sessions, -locks,
 * -import; who may act in ./admin-access.ts); this module is the one place callers import them from.
 */

export { isPrivileged } from './admin-access.js';
export * from './admin-create.js';
export * from './admin-import.js';
export * from './admin-list.js';
export * from './admin-locks.js';
export * from './admin-sessions.js';
export * from './admin-status.js';
export * from './admin-update.js';
