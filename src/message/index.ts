export { AuthHeader, digestHeader, parseAuthHeader } from './auth-header.js';
export { CSeq, parseCSeq, parseRAck, RAck } from './cseq.js';
export { formatDate, parseDate } from './date.js';
export { escapeUri, unescapeUri } from './escape.js';
export { StreamFramer } from './framer.js';
export { HeaderField } from './header-field.js';
export { canonicalHeaderName, HEADERS, type HeaderInfo, headerInfo } from './header-names.js';
export { parseCallId } from './header-parsers.js';
export { newBranch, newCallId, newTag, randomToken } from './ids.js';
export { DEFAULT_LIMITS, type ParseLimits, resolveLimits } from './limits.js';
export { splitList } from './list.js';
export { MediaType, parseAccept, parseMediaType } from './media-type.js';
export {
  type HeaderInit,
  type HeaderValue,
  isRequest,
  type RequestInit,
  type ResponseInit,
  SipMessage,
  SipRequest,
  SipResponse,
  serialize,
} from './message.js';
export { isKnownMethod, METHODS, type Method } from './methods.js';
export { type BodyPart, parseMultipart } from './multipart.js';
export {
  type ContactValue,
  NameAddr,
  parseContactList,
  parseNameAddr,
  parseNameAddrList,
  Wildcard,
} from './name-addr.js';
export {
  parseDeltaSeconds,
  parseExpires,
  parseMaxForwards,
  parseRetryAfter,
  parseSessionExpires,
  RetryAfter,
  SessionExpires,
} from './numeric.js';
export { Params } from './params.js';
export { type ParseOptions, parseMessage } from './parser.js';
export { createResponse } from './response.js';
export { quote, unquote } from './scanner.js';
export { REASON_PHRASES, reasonPhrase } from './status-codes.js';
export { parseTokenList, parseTokenWithParams, TokenWithParams } from './token-list.js';
export {
  AbsoluteUri,
  isSips,
  parseSipUri,
  parseUri,
  SipUri,
  type SipUriInit,
  TelUri,
  type Uri,
} from './uri.js';
export { uriEquals } from './uri-compare.js';
export {
  DEFAULT_ACCEPT,
  type Inspection,
  inspect,
  looksLikeResponse,
  type ValidationOptions,
  type ValidationRole,
  type Verdict,
  validate,
  validateRequest,
  validateResponse,
  verdictForParseError,
} from './validate.js';
export { MAGIC_COOKIE, parseViaList, Via } from './via.js';
export { parseWarningList, Warning } from './warning.js';
