export { type Clock, FakeClock, systemClock } from './clock.js';
export { buildAck, buildCancel, InviteClientTransaction } from './invite-client.js';
export { InviteServerTransaction } from './invite-server.js';
export { clientKey, responseKey, serverKey } from './keys.js';
export {
  type Channel,
  type RequestRouting,
  TransactionLayer,
  type TransactionLayerOptions,
} from './layer.js';
export { NonInviteClientTransaction } from './non-invite-client.js';
export { NonInviteServerTransaction } from './non-invite-server.js';
export {
  DEFAULT_TIMERS,
  INVITE_TRYING_MS,
  nonInviteTryingMs,
  resolveTimers,
  type TimerSettings,
} from './timers.js';
export type {
  ClientState,
  ClientTransaction,
  ClientTransactionUser,
  ServerState,
  ServerTransaction,
  ServerTransactionUser,
  TransactionContext,
} from './transaction.js';
