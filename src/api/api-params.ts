import { ApiError } from './api-error';
import { isRoomName, ROOM_NAME_RULE } from '../rooms/room-name';

/** A room name from the path, or 400. */
export function roomParam(name: string): string {
  if (!isRoomName(name)) throw new ApiError(400, 'invalid_payload', `room must be ${ROOM_NAME_RULE}`);
  return name;
}

// A JWT's `sub` is any string; this bounds what a path may carry.
const MAX_SUB_LENGTH = 256;

/** A user's `sub` from the path, or 400. */
export function subParam(sub: string): string {
  if (sub.length === 0 || sub.length > MAX_SUB_LENGTH) {
    throw new ApiError(400, 'invalid_payload', `sub must be 1 to ${MAX_SUB_LENGTH} characters`);
  }
  return sub;
}

export const ROOM_PARAM = { name: 'name', description: `The room: ${ROOM_NAME_RULE}.` } as const;
export const SUB_PARAM = {
  name: 'sub',
  description: "The user's `sub`, as its tokens carry it (URL-encoded).",
} as const;
