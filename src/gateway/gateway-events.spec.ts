import 'reflect-metadata';
import { MESSAGE_MAPPING_METADATA, MESSAGE_METADATA } from '@nestjs/websockets/constants';
import { loadConfig } from '../config/load-config';
import { asyncApiDocument } from '../docs/asyncapi';
import { MetricsService } from '../metrics/metrics.service';
import { ChatGateway } from './chat.gateway';

/** The events ChatGateway handles, read from its @SubscribeMessage metadata as Nest reads them. */
function gatewayEvents(): string[] {
  return Object.getOwnPropertyNames(ChatGateway.prototype)
    .map((name) => ChatGateway.prototype[name as keyof ChatGateway] as unknown)
    .filter((method) => typeof method === 'function' && Reflect.getMetadata(MESSAGE_MAPPING_METADATA, method))
    .map((method) => Reflect.getMetadata(MESSAGE_METADATA, method as object) as string);
}

// The metrics and the AsyncAPI document list the protocol's events by hand; an event added to
// the gateway and not to them would be counted as `unknown` and left out of the document.
describe('the events ChatGateway handles', () => {
  const events = gatewayEvents();

  it('are found', () => {
    expect(events.sort()).toEqual(['auth', 'broadcast', 'echo', 'join', 'leave', 'message']);
  });

  it.each(events)('%s has a chat_frames_total series of its own', async (event) => {
    const metrics = new MetricsService();
    metrics.countFrame(event);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(new RegExp(`^chat_frames_total\\{event="${event}"\\} 1$`, 'm'));
    expect(text).toMatch(/^chat_frames_total\{event="unknown"\} 0$/m);
  });

  it.each(events)('%s has an operation in the AsyncAPI document', (event) => {
    const document = asyncApiDocument(loadConfig({})) as { operations: Record<string, { action: string }> };
    expect(document.operations[event]).toMatchObject({ action: 'receive' });
  });
});
