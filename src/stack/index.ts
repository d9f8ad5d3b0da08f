export { finishesWork, type IntakeOptions } from './intake.js';
export {
  IncomingRequest,
  OutgoingRequest,
  type RequestHandler,
  type RequestOptions,
  SipStack,
  type SipStackOptions,
} from './sip-stack.js';
