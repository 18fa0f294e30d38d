import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Counter, Gauge } from 'prom-client';
import { createCommandClient, type RedisClient, type RedisTarget } from '../cluster/redis-clients';
import type { MetricsService } from '../metrics/metrics.service';
import { EndpointDeliverer } from './endpoint-deliverer';
import type { EndpointQueue } from './endpoint-queue';
import { MemoryEndpointQueue } from './memory-endpoint-queue';
import { RedisEndpointQueue } from './redis-endpoint-queue';
import type { WebhookConfig, WebhookEndpoint } from './webhook-config';
import type { EventSink, WebhookEvent, WebhookEventName } from './webhook-event';
import { WebhookSigner } from './webhook-signer';

interface Endpoint {
  readonly config: WebhookEndpoint;
  readonly queue: EndpointQueue & { close?(): Promise<void> };
  readonly deliverer: EndpointDeliverer;
}

/**
 * The webhooks of this instance: a queue and a deliverer per endpoint (WEBHOOK_URL). On one
 * instance the queues are in memory and events are pushed here as they happen (`emit`); in
 * cluster mode they are Redis streams the presence scripts write room and member events to,
 * and each is delivered by whichever instance holds its lease. Messages (opt-in) are pushed by
 * the instance whose append gave them their offset, once.
 */
export class WebhookService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly endpoints: Endpoint[] = [];
  private readonly redis: RedisClient | undefined;
  // Event ids on one instance: a per-process random prefix and a counter.
  private readonly idPrefix = randomBytes(6).toString('base64url');
  private lastId = 0;
  /** Whether any endpoint takes `message` events, so the message path asks nothing more otherwise. */
  readonly sendsMessages: boolean;

  constructor(
    config: WebhookConfig | undefined,
    cluster: { target: RedisTarget; prefix: string } | undefined,
    metrics: MetricsService,
  ) {
    this.sendsMessages = config?.endpoints.some((e) => e.events.includes('message')) ?? false;
    if (!config) return;
    const signer = new WebhookSigner(config.secrets);
    if (cluster) {
      this.redis = createCommandClient(cluster.target, 'rooms-webhooks');
      this.redis.on('error', () => undefined); // the engine reports Redis's state; deliverers log their own failures
    }
    const nodeId = randomBytes(9).toString('base64url');
    for (const endpoint of config.endpoints) {
      const queue = this.redis
        ? new RedisEndpointQueue(this.redis, cluster!.prefix, endpoint.url, config.queueSize, nodeId)
        : new MemoryEndpointQueue(config.queueSize);
      const deliverer = new EndpointDeliverer({
        url: endpoint.url,
        queue,
        signer,
        timeoutMs: config.timeoutMs,
        retryForMs: config.retryForMs,
      });
      this.endpoints.push({ config: endpoint, queue, deliverer });
    }
    this.registerMetrics(metrics);
  }

  /** One instance's events, as they happen (the sink MemoryPresence is given). */
  readonly emit: EventSink = (name, room, fields) => {
    if (this.endpoints.length === 0) return;
    const ts = Date.now();
    this.push(name, { id: `${this.idPrefix}-${(++this.lastId).toString(36)}`, name, room, ts, ...fields });
  };

  /** A room message that got its offset here (built from what the sender had, not parsed back from its frame). */
  message(m: {
    room: string;
    id: string;
    ts: number;
    offset: number;
    message: string;
    from: string;
    user?: string;
    origin?: 'server';
  }): void {
    const { room, id, ts, ...fields } = m;
    this.push('message', { id: `msg-${id}`, name: 'message', room, ts, message_id: id, ...fields });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.redis?.connect().catch(() => undefined); // it retries on its own
    for (const { deliverer } of this.endpoints) deliverer.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.endpoints.map(({ deliverer }) => deliverer.stop()));
    await Promise.all(this.endpoints.map(({ queue }) => queue.close?.().catch(() => undefined)));
    this.redis?.disconnect();
  }

  private push(name: WebhookEventName, event: WebhookEvent): void {
    for (const { config, queue } of this.endpoints) {
      if (!config.events.includes(name)) continue;
      const pushed = queue.push([event]);
      if (pushed instanceof Promise) {
        pushed.catch((err: Error) => this.logger.warn(`A ${name} event was not queued: ${err.message}`));
      }
    }
  }

  /**
   * Per endpoint (its URL without the query, which can hold a token): requests by outcome,
   * counted by the instance that made them; the queue's depth and drops, which in cluster mode
   * are the cluster's and read the same on every instance.
   */
  private registerMetrics(metrics: MetricsService): void {
    const endpoints = this.endpoints;
    const registers = [metrics.registry];
    new Counter({
      name: 'chat_webhook_deliveries_total',
      help: 'Webhook requests (delivery attempts) made by this instance, by endpoint and outcome (delivered, retried, rejected, expired)',
      labelNames: ['endpoint', 'outcome'],
      registers,
      collect() {
        this.reset();
        for (const { deliverer } of endpoints) {
          for (const [outcome, tally] of Object.entries(deliverer.outcomes)) {
            this.inc({ endpoint: deliverer.endpoint, outcome }, tally.value);
          }
        }
      },
    });
    new Gauge({
      name: 'chat_webhook_queue_depth',
      help: 'Events waiting for each webhook endpoint (cluster-wide in cluster mode)',
      labelNames: ['endpoint'],
      registers,
      async collect() {
        for (const { deliverer, queue } of endpoints) {
          this.set({ endpoint: deliverer.endpoint }, await Promise.resolve(queue.depth()).catch(() => NaN));
        }
      },
    });
    new Counter({
      name: 'chat_webhook_dropped_events_total',
      help: "Events dropped because a webhook endpoint's queue was full (cluster-wide in cluster mode)",
      labelNames: ['endpoint'],
      registers,
      async collect() {
        this.reset();
        for (const { deliverer, queue } of endpoints) {
          const dropped = await Promise.resolve(queue.dropped()).catch(() => 0);
          this.inc({ endpoint: deliverer.endpoint }, dropped);
        }
      },
    });
  }
}
