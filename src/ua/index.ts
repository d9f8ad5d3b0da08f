export {
  Call,
  type CallEnd,
  type CallEvents,
  type CallOptions,
  type CallState,
  IncomingCall,
  OutgoingCall,
} from './call.js';
export { Dialog, type DialogRejection, type DialogState, dialogKey } from './dialog.js';
export { IncomingReferral, type ReferOptions, type ReferOutcome } from './refer.js';
export {
  Registration,
  type RegistrationEvents,
  type RegistrationOptions,
  type RegistrationState,
} from './registration.js';
export {
  ALLOWED_METHODS,
  RequestFailedError,
  SUPPORTED_OPTIONS,
  UserAgent,
  type UserAgentEvents,
  type UserAgentOptions,
} from './user-agent.js';
