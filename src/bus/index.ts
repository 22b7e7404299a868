/**
 * The same three components in one process, with no broker: for tests and embedded defaults.
 *
 * @module pokegate/bus
 */
export { createInProcessBus } from './in-process-bus.js';
export type { InProcessBus, InProcessBusOptions } from './in-process-bus.js';
