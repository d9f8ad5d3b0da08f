export {
  IncomingRequest,
  OutgoingRequest,
  type RequestHandler,
  SipStack,
  type SipStackOptions,
} from './sip-stack.js';
