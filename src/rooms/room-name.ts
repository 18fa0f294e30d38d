/** The one room-name rule, shared by the WebSocket DTOs and GET /rooms/:name. */
export const ROOM_NAME_MAX_LENGTH = 64;
export const ROOM_NAME_PATTERN = new RegExp(`^[A-Za-z0-9_.:-]{1,${ROOM_NAME_MAX_LENGTH}}$`);
export const ROOM_NAME_RULE = `1 to ${ROOM_NAME_MAX_LENGTH} characters: ASCII letters, digits, _ - . :`;

export function isRoomName(value: unknown): value is string {
  return typeof value === 'string' && ROOM_NAME_PATTERN.test(value);
}
