import type { AppConfig } from '../config/load-config';
import { CLOSE_GOING_AWAY, CLOSE_TOO_BIG } from '../gateway/close-codes';
import { examples } from './asyncapi-examples';
import { payloadSchemas, type PayloadSchemas } from './asyncapi-payloads';
import { SERVICE } from './service-info';

/** The settings the protocol's limits come from. */
type ProtocolConfig = Pick<
  AppConfig,
  'wsPath' | 'maxMessageLength' | 'maxRoomsPerConnection' | 'maxPayloadBytes'
>;

type MessageKey = keyof PayloadSchemas;

const MESSAGES: Record<MessageKey, { name: string; summary: string; contentType?: string }> = {
  join: { name: 'join', summary: 'Join a room; `name` sets your display name.' },
  leave: { name: 'leave', summary: 'Leave a room.' },
  message: { name: 'message', summary: 'Send to a room you are in; without `room`, to your current room.' },
  broadcast: { name: 'broadcast', summary: 'Send to every open connection, yours included.' },
  echo: { name: 'echo', summary: 'Have a message sent back to you alone.' },
  notJson: { name: 'text', summary: 'A text frame that is not JSON.', contentType: 'text/plain' },
  refused: { name: 'refused', summary: 'JSON the server refuses: not an object, no event, bad fields.' },
  binary: { name: 'binary', summary: 'A binary frame.', contentType: 'application/octet-stream' },
  joined: { name: 'joined', summary: 'You are in the room; `members` counts its members now.' },
  left: { name: 'left', summary: 'You left the room; `members` counts those remaining.' },
  roomMessage: { name: 'message', summary: 'A message another member sent to a room you are in.' },
  broadcastMessage: { name: 'broadcast', summary: 'A broadcast, from anyone (you included).' },
  echoReply: { name: 'echo', summary: 'Your echo, back to you alone.' },
  error: { name: 'error', summary: 'A frame was refused; nothing changed and the connection stays open.' },
};

// What a client sends, and what may come back to it on the same connection.
const REQUESTS: Record<string, { messages: MessageKey[]; replies: MessageKey[]; summary: string }> = {
  join: { messages: ['join'], replies: ['joined', 'error'], summary: 'Join a room' },
  leave: { messages: ['leave'], replies: ['left', 'error'], summary: 'Leave a room' },
  message: {
    messages: ['message'],
    replies: ['error'],
    summary: 'Send a message to a room: its other members get it (deliverMessage), the sender nothing',
  },
  broadcast: { messages: ['broadcast'], replies: ['broadcastMessage', 'error'], summary: 'Broadcast' },
  echo: { messages: ['echo'], replies: ['echoReply', 'error'], summary: 'Echo' },
  refuse: {
    messages: ['notJson', 'refused', 'binary'],
    replies: ['error'],
    summary: 'Frames the server refuses',
  },
};

// What the server sends.
const DELIVERIES: Record<string, { message: MessageKey; summary: string }> = {
  replyJoined: { message: 'joined', summary: 'Reply to join' },
  replyLeft: { message: 'left', summary: 'Reply to leave' },
  deliverMessage: { message: 'roomMessage', summary: "A room's message, to its members but the sender" },
  deliverBroadcast: { message: 'broadcastMessage', summary: 'A broadcast, to every connection' },
  replyEcho: { message: 'echoReply', summary: 'Reply to echo' },
  replyError: { message: 'error', summary: 'Reply to a frame refused' },
};

const channel = { $ref: '#/channels/chat' };
const message = (key: MessageKey) => ({ $ref: `#/channels/chat/messages/${key}` });

/**
 * The AsyncAPI 3.0.0 document of the WebSocket protocol, with the running limits; without
 * `servers`, which depends on the request.
 */
export function asyncApiDocument(config: ProtocolConfig): object {
  const payloads = payloadSchemas(config);
  const examplesOf = examples(config);
  const messages = Object.fromEntries(
    (Object.keys(MESSAGES) as MessageKey[]).map((key) => [
      key,
      {
        ...MESSAGES[key],
        payload: payloads[key],
        examples: examplesOf[key].examples,
        ...(examplesOf[key].recipes && { 'x-recipes': examplesOf[key].recipes }),
      },
    ]),
  );
  const receive = Object.entries(REQUESTS).map(([id, op]) => [
    id,
    {
      action: 'receive',
      channel,
      summary: op.summary,
      messages: op.messages.map(message),
      reply: { channel, messages: op.replies.map(message) },
    },
  ]);
  const send = Object.entries(DELIVERIES).map(([id, op]) => [
    id,
    { action: 'send', channel, summary: op.summary, messages: [message(op.message)] },
  ]);
  return {
    asyncapi: '3.0.0',
    info: { title: SERVICE.title, version: SERVICE.version, description: description(config) },
    defaultContentType: 'application/json',
    channels: {
      chat: { address: config.wsPath, title: 'Chat', description: 'One WebSocket per client.', messages },
    },
    operations: Object.fromEntries([...receive, ...send]),
  };
}

function description(config: ProtocolConfig): string {
  const protocol = [
    `${SERVICE.description}. Every frame is a text frame holding one JSON object, in either envelope:`,
    'the tutorial\'s, fields beside `type` (`{"type":"join","room":"room1"}`), or Nest\'s, fields under',
    '`data` (`{"event":"join","data":{"room":"room1"}}`). A connection\'s frames are handled in order and',
    'its replies leave in that order. Every refused frame gets one `error` frame and changes nothing.',
    `A connection may be in ${config.maxRoomsPerConnection} rooms at once (MAX_ROOMS_PER_CONNECTION).`,
    `A frame over ${config.maxPayloadBytes} bytes (MAX_PAYLOAD_BYTES) closes the connection with`,
    `${CLOSE_TOO_BIG}, text that is not UTF-8 with 1007; shutdown closes with ${CLOSE_GOING_AWAY}.`,
  ];
  const recipes = [
    "A client message's `x-recipes` says what each of its examples does: `given` lists the frames",
    'the same connection sends first (each answered), `reply` is the reply (its `type`, and `code` for',
    'an error), or null when none comes. An entry of `given` with a `repeat` count and a `frame` stands',
    'for that many frames, numbered from 1: `{i}` in the strings of the frame is replaced by the number',
    '(`{"repeat":2,"frame":{"type":"join","room":"room-{i}"}}` joins room-1, then room-2).',
  ];
  return `${protocol.join(' ')}\n\n${recipes.join(' ')}`;
}
