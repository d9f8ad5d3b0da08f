export {
  DEFAULT_PORTS,
  formatTransportAddress,
  hostPort,
  isReliable,
  parseTransportAddress,
  type TransportAddress,
  type TransportName,
} from './address.js';
export type { Connection } from './connection.js';
export { salvageRequestHeaders } from './salvage.js';
export {
  type Source,
  type Target,
  type TlsOptions,
  TransportLayer,
  type TransportLayerOptions,
} from './transport-layer.js';
