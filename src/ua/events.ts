import type { EventEmitter } from 'node:events';
import type { IncomingRequest } from '../stack/sip-stack.js';

/**
 * Hands an error of application code to the process, as Node does with an
 * error thrown where no caller can catch it: the protocol work that found
 * it goes on.
 */
export function toProcess(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

/**
 * Emits an event whose listeners are application code, so that one that
 * throws cannot cut short the protocol work around the emit (a response
 * still to send, a timer still to set): its error goes to the process.
 * Returns false when a listener threw.
 */
export function emitSafely<E extends Record<keyof E, unknown[]>, K extends keyof E & string>(
  emitter: EventEmitter<E>,
  event: K,
  ...args: E[K]
): boolean {
  try {
    (emitter.emit as unknown as (e: K, ...a: E[K]) => boolean).call(emitter, event, ...args);
    return true;
  } catch (error) {
    toProcess(error);
    return false;
  }
}

/**
 * Hands a request to the listeners of `event`, which answer it: with none,
 * it is answered 200; when one throws before it is answered, 500.
 */
export function offerRequest<E extends Record<keyof E, unknown[]>, K extends keyof E & string>(
  emitter: EventEmitter<E>,
  event: K,
  incoming: IncomingRequest,
): void {
  if ((emitter as EventEmitter).listenerCount(event) === 0) {
    incoming.respond(200, 'OK');
    return;
  }
  const ok = emitSafely(emitter, event, ...([incoming] as unknown as E[K]));
  if (!ok && (incoming.state === 'trying' || incoming.state === 'proceeding'))
    incoming.respond(500, 'Server Internal Error');
}
