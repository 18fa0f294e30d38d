import { isSub, SUB_RULE } from '../auth/identity';
import { isRoomName, ROOM_NAME_RULE } from '../rooms/room-name';
import { ApiError } from './api-error';

/** A room name from the path, or 400. */
export function roomParam(name: string): string {
  if (!isRoomName(name)) throw new ApiError(400, 'invalid_payload', `room must be ${ROOM_NAME_RULE}`);
  return name;
}

/** A user's `sub` from the path (as a token may carry it), or 400. */
export function subParam(sub: string): string {
  if (!isSub(sub)) throw new ApiError(400, 'invalid_payload', `sub must be ${SUB_RULE}`);
  return sub;
}

export const ROOM_PARAM = { name: 'name', description: `The room: ${ROOM_NAME_RULE}.` } as const;
export const SUB_PARAM = {
  name: 'sub',
  description: "The user's `sub`, as its tokens carry it (URL-encoded).",
} as const;
