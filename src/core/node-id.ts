import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * This process as other nodes see it in leases and run records: the host, the process id and a few random
 * bytes (two containers may share a hostname and a pid).
 */
export const NODE_ID = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
