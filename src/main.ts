import { settleV8Flags } from './runtime/v8-flags';

// The V8 flags first: a process that has to start again with them loads nothing else before.
const settled = settleV8Flags();
if (settled.serve) {
  void (require('./server') as typeof import('./server')).serve(settled.untuned);
}
