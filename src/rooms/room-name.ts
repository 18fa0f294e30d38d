/** The one room-name rule, shared by the WebSocket DTOs and GET /rooms/:name. */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
export const ROOM_NAME_RULE = '1 to 64 characters: ASCII letters, digits, _ - . :';

export function isRoomName(value: unknown): value is string {
  return typeof value === 'string' && ROOM_NAME_PATTERN.test(value);
}
