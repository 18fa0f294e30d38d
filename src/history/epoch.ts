import { randomBytes } from 'node:crypto';

/** A new log's name: 8 characters, random, so a log started afresh never matches an old position. */
export const newEpoch = (): string => randomBytes(6).toString('base64url');
