import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';

/** Whether shutdown has begun; Nest calls the hook before it closes the servers. */
@Injectable()
export class LifecycleService implements BeforeApplicationShutdown {
  private shuttingDown = false;

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  beforeApplicationShutdown(): void {
    this.shuttingDown = true;
  }
}
