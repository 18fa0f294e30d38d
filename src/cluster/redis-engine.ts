import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { HistoryConfig, PresenceConfig } from '../config/load-config';
import { unpositionedJson } from '../gateway/frames';
import {
  type Draft,
  offsetRequired,
  type Page,
  type Position,
  type Recovery,
} from '../history/history-store';
import { RedisHistory } from '../history/redis-history';
import type { MemberHere, MemberPage } from '../presence/presence-store';
import { RedisPresence } from '../presence/redis-presence';
import type { Connection } from '../rooms/connection';
import {
  type Census,
  type Control,
  type Except,
  isExclusion,
  type LocalRooms,
  type MaybeAsync,
  type Published,
  type RoomsEngine,
} from '../rooms/engine';
import { OutboundText } from '../rooms/outbound';
import {
  createTransport,
  REDIS_TIMEOUT_MS,
  type RedisClient,
  type RedisTarget,
  type RedisTransport,
} from './redis-clients';
import { BoundedMap } from './bounded-map';
import { ControlLog } from './control-log';
import { Registry } from './registry';
import { type LocalCopy, RoomFeeds } from './room-feeds';

export interface RedisEngineOptions {
  target: RedisTarget;
  /** Namespace of every key and channel, so several deployments (or test runs) share a Redis. */
  prefix: string;
  /** A node silent for 2 heartbeats is reaped, so a dead one stops counting within 3. */
  heartbeatIntervalMs: number;
  history: HistoryConfig;
  presence: PresenceConfig;
  /** Which webhook streams the presence scripts write which events to (webhookSpec); '' for none. */
  webhooks?: string;
}

// A published broadcast is `<node id><epoch><frame JSON>`: the node id (9 random bytes in
// base64url) and its registration epoch (base 36, fixed width) in front of the frame. Room
// messages go through the room's log instead (RedisHistory), control commands through theirs
// (ControlLog).
const NODE_ID_LENGTH = 12;
const EPOCH_LENGTH = 6;
const HEADER_LENGTH = NODE_ID_LENGTH + EPOCH_LENGTH;
/**
 * Bytes of published messages awaiting Redis's reply; past this (a hung Redis, before the
 * probe notices) messages stop crossing instances rather than pile up in memory.
 */
const MAX_PENDING_PUBLISH_BYTES = 8 * 1024 * 1024;

/**
 * Cluster mode on Redis. A room message is appended to the room's log by one script, which
 * gives it its offset and publishes it on the room's channel; RoomFeeds delivers it to the
 * local members in offset order, from the script's answer or the channel, whichever comes
 * first. An instance subscribes to a room's channel on its first local member and drops it
 * with the last, so it receives only rooms it serves. Counts live in Registry. While Redis
 * is unreachable (`ready` false) the instance serves its local members alone, with messages
 * that have no offset; when Redis is back, even empty, it re-registers, resubscribes and
 * catches each room up (or resets it).
 */
export class RedisEngine implements RoomsEngine, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RedisEngine.name);
  readonly nodeId = randomBytes(9).toString('base64url');
  private readonly redis: RedisTransport;
  private readonly commands: RedisClient;
  private readonly subscriber: RedisClient;
  private readonly registry: Registry;
  private readonly log: RedisHistory;
  private readonly roster: RedisPresence;
  private readonly feeds: RoomFeeds;
  /** Who must not get each append awaiting Redis (its local sender), by the origin the script publishes with it. */
  private readonly sending = new Map<string, Except>();
  /**
   * Appends Redis did not answer, should it run them late: the sender of one refused as
   * unavailable (it has a cid) must still not get it, and one delivered here without an offset
   * is not delivered here again.
   */
  private readonly unanswered = new BoundedMap<string, WeakRef<Connection> | 'delivered'>(100_000);
  private appends = 0;
  /** This instance's last append (or local delivery queued behind appends), for ordering. */
  private appendsTail: Promise<unknown> = Promise.resolve();
  private readonly broadcastChannel: string;
  private readonly controls: ControlLog;
  private local!: LocalRooms;
  private up = false;
  /** Rooms whose channel is subscribed (or being subscribed), and when it is live. */
  private readonly subscriptions = new Map<string, Promise<unknown>>();
  /** Rooms whose membership changed while not up, and whether connections did: put right after a re-registration. */
  private readonly touchedWhileDown = new Set<string>();
  /** The same for members, by `<room> <member key>`: the latest of each. */
  private readonly membersTouchedWhileDown = new Map<string, [string, MemberHere]>();
  private connectionsTouched = false;
  /** Counts connection losses: a re-registration that saw one must start over. */
  private connectionLosses = 0;
  private syncing: Promise<void> | undefined;
  private pendingPublishBytes = 0;
  private dropping = false;
  /** What goes in front of each message this node publishes; set at each registration. */
  private header = '';
  /** The newest registration epoch seen from each other node. */
  private readonly senderEpochs = new Map<string, number>();
  private censusInFlight: Promise<Census> | undefined;
  private readonly missedProbes = [0, 0];
  private connectionsWrite: NodeJS.Immediate | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(private readonly options: RedisEngineOptions) {
    this.redis = createTransport(options.target, `rooms:${this.nodeId}`);
    ({ commands: this.commands, subscriber: this.subscriber } = this.redis);
    const publish = this.redis.messageEvent === 'smessage' ? 'SPUBLISH' : 'PUBLISH';
    this.roster = new RedisPresence(
      this.commands,
      options.prefix,
      options.presence.graceMs,
      publish,
      options.webhooks,
    );
    this.registry = new Registry(this.commands, options.prefix, this.nodeId, this.roster.scriptArgs);
    this.log = new RedisHistory(this.commands, options.prefix, options.history, publish);
    this.feeds = new RoomFeeds(
      this.log,
      options.history,
      () => this.local,
      (origin) => this.sending.get(origin) ?? deref(this.unanswered.take(origin)) ?? excludedBy(origin),
    );
    this.broadcastChannel = `${options.prefix}:broadcast`;
    this.controls = new ControlLog(this.commands, options.prefix, publish);
    for (const client of [this.commands, this.subscriber]) {
      client.on('ready', () => this.resync());
      client.on('close', () => {
        this.connectionLosses++;
        this.down('connection closed');
      });
      client.on('error', (err: Error) => this.down(err.message));
    }
    this.subscriber.on(this.redis.messageEvent, this.onMessage);
  }

  readonly spansInstances = true;

  get ready(): boolean {
    return this.up;
  }

  attach(local: LocalRooms): void {
    this.local = local;
    local.presenceReset(true); // until Redis answers, presence is this instance's
  }

  /** Connects, and waits a little for Redis so a healthy start is ready at once; a Redis that is away does not stop the start. */
  async onApplicationBootstrap(): Promise<void> {
    for (const client of [this.commands, this.subscriber]) client.connect().catch(() => undefined);
    this.every(REDIS_TIMEOUT_MS, () => this.probe());
    this.every(this.options.heartbeatIntervalMs, () => this.heartbeat());
    this.every(this.options.history.ttlMs / 3, () => this.keepQuietRooms());
    // Any instance ends the graces that are over: a member left by a dead one still leaves.
    const sweepMs = Math.min(Math.max(this.options.presence.graceMs / 4, 100), 1000);
    this.every(sweepMs, () => this.up && void this.roster.sweep().catch(this.writeFailed));
    const deadline = Date.now() + 5 * REDIS_TIMEOUT_MS;
    while (!this.up && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    if (!this.up)
      this.logger.warn(
        `Redis at ${describe(this.options.target)} is not reachable yet; serving local members only`,
      );
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.timers.forEach(clearInterval);
    if (this.up) await this.registry.unregister().catch(() => undefined);
    for (const client of [this.commands, this.subscriber]) client.disconnect();
  }

  joined(room: string, localMembers: number, member: MemberHere): MaybeAsync<number> {
    if (!this.up) return this.touched(room, localMembers, member);
    const live = this.subscriptions.get(room) ?? this.subscribe(room);
    return Promise.all([live, this.setLocal(room, localMembers, member)]).then(
      ([, members]) => members,
      () => localMembers,
    );
  }

  left(room: string, localMembers: number, member?: MemberHere): MaybeAsync<number> {
    if (!this.up) {
      if (localMembers === 0) this.feeds.drop(room);
      return this.touched(room, localMembers, member);
    }
    if (localMembers === 0) {
      this.unsubscribe(room);
      this.log.keep(room);
    }
    return this.setLocal(room, localMembers, member);
  }

  enter<T>(room: string, since: Position | undefined, enter: (at: Position | Recovery) => T): Promise<T> {
    return this.feeds.enter(room, since, this.up, enter);
  }

  history(room: string, before: number | undefined, limit: number): MaybeAsync<Page | 'unavailable'> {
    if (!this.up) return 'unavailable';
    return this.log.page(room, before, limit).catch(() => 'unavailable' as const);
  }

  connectionsChanged(): void {
    if (!this.up) return void (this.connectionsTouched = true);
    // Only the latest count matters: one write per event-loop turn at most.
    this.connectionsWrite ??= setImmediate(() => {
      this.connectionsWrite = undefined;
      if (!this.up) return;
      this.registry
        .setConnections(this.local.localCensus().connections)
        .then((registered) => registered || this.down('this instance was not registered'))
        .catch(this.writeFailed);
    });
  }

  /**
   * One script call. While Redis is away (or past the bound of what awaits it) the message
   * cannot have an offset: a client's message without a cid goes to the members here alone,
   * with no offset, after this instance's appends still awaiting Redis, and the room's members
   * here get `reset` when Redis is back. One that must have an offset (`offsetRequired`) goes
   * nowhere ('unavailable'), so that a retry is delivered once. An append Redis does not
   * answer within REDIS_TIMEOUT_MS is treated the same way; if Redis runs it late, its copy is
   * not delivered here again. Connections the backend excluded travel in the origin, which
   * every instance reads them from.
   */
  publish(room: string, draft: Draft, except: Except): MaybeAsync<Published> {
    const bytes = draft.head.length; // UTF-16 units: close enough for a bound
    if (!this.up || !this.reserve(bytes)) return this.publishHere(room, draft, except);
    let origin = `${this.nodeId}:${(++this.appends).toString(36)}`;
    if (isExclusion(except)) origin += `${EXCLUDED}${[...except].join(',')}`;
    if (except) this.sending.set(origin, except);
    const settle = () => {
      this.pendingPublishBytes -= bytes;
      this.sending.delete(origin);
    };
    const appended = this.log.append(room, { ...draft, origin }).then(
      (appended): Published => {
        if (!appended.duplicate) {
          const via = this.up ? 'append' : 'late';
          this.feeds.receive(room, appended.epoch, appended.offset, appended.frame, origin, via);
        }
        settle();
        return appended;
      },
      (err: Error): Published => {
        settle();
        this.writeFailed(err);
        const required = offsetRequired(draft);
        if (!required) this.unanswered.set(origin, 'delivered');
        else if (except && !isExclusion(except)) this.unanswered.set(origin, new WeakRef(except));
        // Redis may be only slow: a catch-up once it should have answered puts the room right.
        if (this.up) setTimeout(() => void this.feeds.catchUp(room), REDIS_TIMEOUT_MS).unref();
        return required ? 'unavailable' : this.deliverHere(room, draft, except);
      },
    );
    this.appendsTail = appended;
    return appended;
  }

  private publishHere(room: string, draft: Draft, except: Except): MaybeAsync<Published> {
    if (offsetRequired(draft)) return 'unavailable';
    if (this.pendingPublishBytes === 0) return this.deliverHere(room, draft, except);
    // Appends still await Redis: this one goes after them, as it was sent after them.
    const after = this.appendsTail.then(() => this.deliverHere(room, draft, except));
    this.appendsTail = after;
    return after;
  }

  private deliverHere(room: string, draft: Draft, except: Except): 'local' {
    this.feeds.unpositioned(room);
    this.local.deliverToRoom(room, new OutboundText(unpositionedJson(draft.head)), except);
    return 'local';
  }

  broadcast(text: OutboundText): MaybeAsync<boolean> {
    if (!this.up || !this.reserve(text.json.length)) return false;
    const settle = () => void (this.pendingPublishBytes -= text.json.length);
    return this.redis.publish(this.broadcastChannel, this.header + text.json).then(
      () => (settle(), true),
      () => (settle(), false),
    );
  }

  /**
   * Through the control log, which every instance hears, and which one cut off from Redis now
   * reads when it is back. False, and sent nowhere, while Redis is away.
   */
  control(command: Control): MaybeAsync<boolean> {
    if (!this.up) return false;
    return this.controls.send(command).then(
      () => true,
      () => false,
    );
  }

  presence(room: string, offset: number, limit: number): MaybeAsync<MemberPage | 'unavailable'> {
    if (!this.up) return 'unavailable';
    return this.roster.page(room, offset, limit).catch(() => 'unavailable' as const);
  }

  members(room: string): MaybeAsync<number> {
    if (!this.up) return this.local.localMembers(room);
    return this.registry.members(room).catch(() => this.local.localMembers(room));
  }

  /** Requests that arrive while one is in flight share its answer: a flood of GET /rooms costs Redis one read per round trip. */
  census(): MaybeAsync<Census> {
    if (!this.up) return this.local.localCensus();
    return (this.censusInFlight ??= this.registry
      .census()
      .catch(() => this.local.localCensus())
      .finally(() => (this.censusInFlight = undefined)));
  }

  strictCensus(): MaybeAsync<Census | 'unavailable'> {
    if (!this.up) return 'unavailable';
    return this.registry.census().catch(() => 'unavailable' as const);
  }

  /** Room for `bytes` more awaiting Redis (UTF-16 units: close enough for a bound); false past the bound. */
  private reserve(bytes: number): boolean {
    if (this.pendingPublishBytes + bytes > MAX_PENDING_PUBLISH_BYTES) {
      if (!this.dropping) this.logger.warn('Redis is not answering: messages no longer cross instances');
      this.dropping = true;
      return false;
    }
    this.dropping = false;
    this.pendingPublishBytes += bytes;
    return true;
  }

  private readonly onMessage = (channel: string, message: string): void => {
    if (channel === this.roster.channel) return this.onPresence(message);
    if (channel === this.controls.channel) return this.onControl(message);
    if (channel !== this.broadcastChannel) return this.onRoomMessage(channel, message);
    if (message.startsWith(this.nodeId)) return; // our own, already delivered locally
    // A hung Redis that resumes may still run publishes from a sender's older registration
    // after newer ones: those are dropped, so each sender's messages stay in order.
    const sender = message.slice(0, NODE_ID_LENGTH);
    const epoch = parseInt(message.slice(NODE_ID_LENGTH, HEADER_LENGTH), 36);
    const latest = this.senderEpochs.get(sender) ?? 0;
    if (epoch < latest) return;
    if (epoch > latest) this.senderEpochs.set(sender, epoch);
    this.local.deliverToAll(new OutboundText(message.slice(HEADER_LENGTH)));
  };

  private onControl(message: string): void {
    try {
      const command = this.controls.heard(message);
      if (command) this.local.controlled(command);
    } catch (err) {
      this.logger.warn(`Dropped a control command that failed: ${(err as Error).message}`);
    }
  }

  private onPresence(message: string): void {
    const change = this.roster.parse(message);
    if (change) this.local.presenceChanged(change);
    else this.logger.warn('Dropped a presence change that does not decode');
  }

  /** `<epoch> <offset> <origin> <frame>`, as the append script publishes it. */
  private onRoomMessage(channel: string, message: string): void {
    const afterEpoch = message.indexOf(' ');
    const afterOffset = message.indexOf(' ', afterEpoch + 1);
    const afterOrigin = message.indexOf(' ', afterOffset + 1);
    if (afterOrigin === -1) return this.logger.warn(`Dropped a message on ${channel} that does not decode`);
    const origin = message.slice(afterOffset + 1, afterOrigin);
    this.feeds.receive(
      this.log.roomOf(channel),
      message.slice(0, afterEpoch),
      parseInt(message.slice(afterEpoch + 1, afterOffset), 10),
      message.slice(afterOrigin + 1),
      origin,
      'channel',
    );
  }

  private subscribe(room: string): Promise<unknown> {
    const live = this.redis.subscribe([this.log.channel(room)]);
    this.subscriptions.set(room, live);
    void this.feeds.follow(room, live);
    // A room this instance serves but does not hear would silently lose messages: start over.
    live.catch(
      (err: Error) => this.subscriptions.get(room) === live && this.down(`subscribe: ${err.message}`),
    );
    return live;
  }

  // Sent on the same connection as any later subscribe, so Redis applies them in order.
  private unsubscribe(room: string): void {
    this.feeds.drop(room);
    if (!this.subscriptions.delete(room)) return;
    this.redis.unsubscribe(this.log.channel(room)).catch(() => undefined);
  }

  /**
   * Never rejects: on failure, the count this instance knows. `reconciled`: a change made while
   * Redis was away, told after the re-registration; its webhook events say so.
   */
  private async setLocal(
    room: string,
    localMembers: number,
    member?: MemberHere,
    reconciled = false,
  ): Promise<number> {
    try {
      const members = await this.registry.setLocal(room, localMembers, member, reconciled);
      if (members >= 0) return members;
      this.down('this instance was not registered');
    } catch (err) {
      this.writeFailed(err as Error);
    }
    return localMembers;
  }

  // A lost connection or a timeout is the probe's business. Redis refusing a write (out of
  // memory, a read-only replica after a failover) leaves its counts wrong: start over, and
  // stay unready while it goes on refusing.
  private readonly writeFailed = (err: Error): void => {
    if (err.name === 'ReplyError') this.down(`Redis refused a write: ${err.message}`);
  };

  private touched(room: string, localMembers: number, member: MemberHere | undefined): number {
    this.touchedWhileDown.add(room);
    if (member) this.membersTouchedWhileDown.set(`${room} ${member.key}`, [room, member]);
    return localMembers;
  }

  private down(reason: string): void {
    if (this.stopped) return;
    if (this.up) {
      this.logger.warn(`Redis unreachable (${reason}); serving local members only`);
      this.local.presenceReset(true);
    }
    this.up = false;
    this.feeds.deliverAllHeld();
    this.resync();
  }

  /**
   * Makes Redis hold what this instance holds: its registration replaced with the local
   * counts, and a subscription for each local room (and for broadcasts). Starts over if a
   * connection was lost meanwhile. Rooms that changed during the round trip are put right
   * just after, on the same connections, so Redis applies them after the registration.
   * Runs once at a time.
   */
  private resync(): void {
    if (this.stopped || this.syncing) return;
    this.syncing = (async () => {
      let failures = 0;
      while (!this.up && this.commands.status === 'ready' && this.subscriber.status === 'ready') {
        const losses = this.connectionLosses;
        this.touchedWhileDown.clear();
        this.membersTouchedWhileDown.clear();
        this.connectionsTouched = false;
        try {
          await this.syncOnce();
        } catch (err) {
          if (failures++ === 0)
            this.logger.warn(`Re-registering with Redis failed: ${(err as Error).message}`);
          await new Promise((resolve) => setTimeout(resolve, Math.min(failures * 100, REDIS_TIMEOUT_MS)));
          continue;
        }
        if (
          losses !== this.connectionLosses ||
          this.commands.status !== 'ready' ||
          this.subscriber.status !== 'ready'
        )
          continue;
        this.up = true;
        this.logger.log(`Redis reachable: node ${this.nodeId} registered`);
        for (const room of this.touchedWhileDown) this.reconcile(room);
        for (const [room, member] of this.membersTouchedWhileDown.values()) {
          void this.setLocal(room, this.local.localMembers(room), member, true);
        }
        if (this.connectionsTouched) this.connectionsChanged();
        this.local.presenceReset(false);
        void this.catchUpControls();
      }
    })().finally(() => (this.syncing = undefined));
  }

  /** Carries out the backend's commands sent while this instance could not hear them. */
  private async catchUpControls(): Promise<void> {
    try {
      for (const command of await this.controls.missed()) this.local.controlled(command);
    } catch (err) {
      this.logger.warn(`Reading the control commands missed failed: ${(err as Error).message}`);
    }
  }

  /** Brings one room's subscription and count in Redis in line with its local members. */
  private reconcile(room: string): void {
    const localMembers = this.local.localMembers(room);
    if (localMembers > 0 && !this.subscriptions.has(room)) this.subscribe(room).catch(() => undefined);
    if (localMembers === 0) this.unsubscribe(room);
    void this.setLocal(room, localMembers);
  }

  private async syncOnce(): Promise<void> {
    const local = this.local.localCensus();
    const rooms = new Set(local.rooms.map((room) => room.name));
    // A room whose only connections here are still joining is not in the census, but is served.
    for (const room of this.feeds.rooms()) if (this.local.localMembers(room) > 0) rooms.add(room);
    for (const room of [...this.subscriptions.keys()]) if (!rooms.has(room)) this.unsubscribe(room);
    for (const room of this.feeds.rooms()) if (!rooms.has(room)) this.feeds.drop(room);
    const channels = [
      this.broadcastChannel,
      this.controls.channel,
      this.roster.channel,
      ...[...rooms].map((room) => this.log.channel(room)),
    ];
    const live = this.redis.subscribe(channels);
    for (const room of rooms) {
      this.subscriptions.set(room, live);
      void this.feeds.follow(room, live); // caught up from the log once its channel is live again
    }
    const registered = this.registry.register(local, this.local.localPresence());
    this.header = this.nodeId + this.registry.epoch.toString(36).padStart(EPOCH_LENGTH, '0');
    await Promise.all([live, registered]);
  }

  /**
   * A hung Redis keeps its sockets open: commands that time out are the only sign. Two
   * probes in a row must fail, since one can time out because this process's own event
   * loop was busy (a burst of fan-out) when the answer came in.
   */
  private probe(): void {
    [this.commands, this.subscriber].forEach((client, i) => {
      if (client.status !== 'ready') return;
      client.ping().then(
        () => (this.missedProbes[i] = 0),
        (err: Error) => {
          if (client.status !== 'ready' || ++this.missedProbes[i] < 2) return;
          this.missedProbes[i] = 0;
          this.down(err.message);
          client.disconnect(true); // reconnect: a fresh connection, ready again when Redis answers
        },
      );
    });
  }

  /**
   * A message keeps its room's log alive in Redis; a room with members here that had none
   * since the last turn is kept alive by hand, so that its members never see it expire.
   */
  private keepQuietRooms(): void {
    if (!this.up) return;
    for (const room of this.feeds.quiet()) this.log.keep(room);
  }

  private heartbeat(): void {
    if (!this.up) return;
    this.registry
      .heartbeat(2 * this.options.heartbeatIntervalMs)
      .then((registered) => registered || this.down('this instance was reaped'))
      .catch(this.writeFailed);
  }

  private every(ms: number, run: () => void): void {
    const timer = setInterval(run, ms);
    timer.unref();
    this.timers.push(timer);
  }
}

// An origin is `<node id>:<count>`, then, for a backend's message that excludes connections,
// `!` and their ids (base64url, so neither `!`, `,` nor a space) separated by commas.
const EXCLUDED = '!';
const excludedBy = (origin: string): ReadonlySet<string> | undefined => {
  const at = origin.indexOf(EXCLUDED);
  return at === -1 ? undefined : new Set(origin.slice(at + 1).split(','));
};

const deref = (copy: WeakRef<Connection> | 'delivered' | undefined): LocalCopy =>
  copy === 'delivered' ? copy : copy?.deref();

/** Where Redis is, without credentials, for the log. */
function describe(target: RedisTarget): string {
  const redacted = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@');
  return 'url' in target ? redacted(target.url) : `cluster ${target.clusterNodes.map(redacted).join(',')}`;
}
