/**
 * The GraphQL side: read-after tokens (a yoga plugin that holds a request
 * until the changes its tokens stand for are visible on this replica).
 *
 * @module pokegate/graphql
 */
export { createReadAfter } from './read-after.js';
export type {
  ReadAfter,
  ReadAfterOptions,
  ReadAfterObserver,
  ReadAfterEvent,
  ReadAfterOutcome,
  ReadAfterExtension,
  VersionTarget,
  VisibilityCheck,
} from './read-after.js';
