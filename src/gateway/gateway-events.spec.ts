import 'reflect-metadata';
import { PARAMTYPES_METADATA } from '@nestjs/common/constants';
import { MESSAGE_MAPPING_METADATA, MESSAGE_METADATA } from '@nestjs/websockets/constants';
import { getMetadataStorage } from 'class-validator';
import { loadConfig } from '../config/load-config';
import { asyncApiDocument } from '../docs/asyncapi';
import { MetricsService } from '../metrics/metrics.service';
import { ChatGateway } from './chat.gateway';
import { DECODED_FIELDS } from './frames';

/** ChatGateway's handler methods, found by their @SubscribeMessage metadata as Nest finds them. */
function handlerNames(): string[] {
  return Object.getOwnPropertyNames(ChatGateway.prototype).filter((name) => {
    const method = ChatGateway.prototype[name as keyof ChatGateway] as unknown;
    return typeof method === 'function' && Reflect.getMetadata(MESSAGE_MAPPING_METADATA, method);
  });
}

/** The events ChatGateway handles. */
function gatewayEvents(): string[] {
  return handlerNames().map(
    (name) =>
      Reflect.getMetadata(MESSAGE_METADATA, ChatGateway.prototype[name as keyof ChatGateway]) as string,
  );
}

/** Every property a handler's DTO validates: what decodeFrame must keep of a frame. */
function dtoFields(): string[] {
  const types = handlerNames().flatMap(
    (name) => (Reflect.getMetadata(PARAMTYPES_METADATA, ChatGateway.prototype, name) ?? []) as Function[],
  );
  const storage = getMetadataStorage();
  const fields = types.flatMap((type) =>
    storage.getTargetValidationMetadatas(type, '', false, false).map((m) => m.propertyName),
  );
  return [...new Set(fields)].sort();
}

// The metrics and the AsyncAPI document list the protocol's events by hand; an event added to
// the gateway and not to them would be counted as `unknown` and left out of the document.
describe('the events ChatGateway handles', () => {
  const events = gatewayEvents();

  it('are found', () => {
    expect(events.sort()).toEqual(['auth', 'broadcast', 'echo', 'history', 'join', 'leave', 'message', 'presence']);
  });

  it.each(events)('%s has a chat_frames_total series of its own', async (event) => {
    const metrics = new MetricsService();
    metrics.countFrame(event);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(new RegExp(`^chat_frames_total\\{event="${event}"\\} 1$`, 'm'));
    expect(text).toMatch(/^chat_frames_total\{event="unknown"\} 0$/m);
  });

  // frames.ts copies only the fields it lists out of a frame: a field added to a DTO and not
  // there would always arrive undefined.
  it('read exactly the fields decodeFrame keeps', () => {
    expect(dtoFields()).toEqual([...DECODED_FIELDS].sort());
  });

  it.each(events)('%s has an operation in the AsyncAPI document', (event) => {
    const document = asyncApiDocument(loadConfig({})) as { operations: Record<string, { action: string }> };
    expect(document.operations[event]).toMatchObject({ action: 'receive' });
  });
});
