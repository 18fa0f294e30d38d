import { startApp } from './support/app';
import { describePresence, PRESENCE_ENV } from './support/presence-contract';

describePresence('one instance', async () => {
  const app = await startApp(PRESENCE_ENV);
  return { urls: [app.wsUrl], close: () => app.close() };
});
