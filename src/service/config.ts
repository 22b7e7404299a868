// The environment is `unknown` until this parser has run; inside, Config carries the guarantees.
import { defaultOperationLimits, type OperationLimits } from './operation-limits.js';
import type { OperationRateLimitOptions } from 'pokegate/graphql';
import { durableQueueTypes, type DurableQueueType } from 'pokegate/amqp';

export interface Config {
  readonly port: number;
  /** Unset → the embedded in-process bus. */
  readonly amqpUrl: string | undefined;
  /** Unset → embedded PGlite. */
  readonly databaseUrl: string | undefined;
  /**
   * `DATABASE_POOL_MAX`: the read view's connections at most. Every replica
   * holds up to this many, plus the owner ledger's 4 and the notice listener's
   * one: R replicas on one PostgreSQL need R × (this + 5) of its `max_connections`.
   */
  readonly databasePoolMax: number;
  readonly authSecret: string;
  /** `AUTH_JWKS_URL`: verify tokens with an identity provider's key set instead of the secret. */
  readonly jwksUrl: string | undefined;
  /** `AUTH_JWKS_ALGORITHM`, the one algorithm allowed with the key set. */
  readonly jwksAlgorithm: string;
  /** `AUTH_ISSUER` / `AUTH_AUDIENCE`: checked when set. */
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  /** `METRICS_PORT`: serve `/metrics` only there, apart from the public port. */
  readonly metricsPort: number | undefined;
  /** True when AUTH_SECRET was not set and the development secret is in use. */
  readonly devSecret: boolean;
  readonly exchange: string;
  /** The projector's durable queue: replicas that share it share one projection. */
  readonly projectorQueue: string;
  /** `PROJECTOR_QUEUE_TYPE`: the type the projector's durable queues are created as. */
  readonly projectorQueueType: DurableQueueType;
  /** Longest wait of a request for its read-after tokens. */
  readonly readAfterTimeoutMs: number;
  readonly projectionDelayMs: number;
  /** False: this replica projects nothing and relies on another's projector writing the same database. */
  readonly projectorEnabled: boolean;
  /** With commit notifications live: how long a poke waits for its commit's notice before it checks anyway. */
  readonly gateFallbackMs: number;
  readonly logLevel: string;
  /** Comma-separated `ALLOWED_ORIGINS`; unset → any origin. */
  readonly allowedOrigins: readonly string[] | undefined;
  /** How long a graceful shutdown may take before the process exits anyway. */
  readonly shutdownTimeoutMs: number;
  /** `NODE_ENV=production`: internal errors masked, AUTH_SECRET required, introspection and GraphiQL off by default. */
  readonly production: boolean;
  /** `GRAPHQL_INTROSPECTION`; default: on except in production. */
  readonly introspection: boolean;
  /** `GRAPHIQL`; default: on except in production. */
  readonly graphiql: boolean;
  /** Operations per token and per connection (`RATE_LIMIT_*`). */
  readonly rateLimit: Required<Omit<OperationRateLimitOptions, 'clock' | 'onRefused'>>;
  /** What one GraphQL operation may ask for (`MAX_OPERATION_*`). */
  readonly operationLimits: Required<OperationLimits>;
  /** Interest routing (`INTEREST_*`); see DESIGN.md, "Interest routing". */
  readonly interest: InterestConfig;
}

export interface InterestConfig {
  /** `INTEREST_ROUTING`: `tenant` binds per company with local subscribers; `all` binds `orders.#` always. */
  readonly routing: 'tenant' | 'all';
  /** `INTEREST_LINGER_MS`: how long a company's binding stays after its last local subscriber left. */
  readonly lingerMs: number;
  /** `INTEREST_MAX_BINDINGS`: companies bound at most; past it the replica binds `orders.#`. */
  readonly maxBindings: number;
}

/** Signs development tokens only: never use it in production. */
export const devAuthSecret = 'pokegate-dev-secret-do-not-use-in-production';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function integer(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  minimum: number,
  maximum: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < minimum || value > maximum) {
    throw new ConfigError(`Expected ${name} to be an integer from ${minimum} to ${maximum}, got "${raw}"`);
  }
  return value;
}

function text(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
}

function url(env: NodeJS.ProcessEnv, name: string, protocols: readonly string[]): string | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`Expected ${name} to be a URL, got "${raw}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`Expected ${name} to use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
  }
  return raw;
}

function choice<C extends string>(env: NodeJS.ProcessEnv, name: string, choices: readonly C[]): C {
  const raw = text(env, name) ?? choices[0];
  if (!choices.includes(raw as C)) {
    throw new ConfigError(`Expected ${name} to be ${choices.join(' or ')}, got "${raw}"`);
  }
  return raw as C;
}

function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`Expected ${name} to be true or false, got "${raw}"`);
}

function queueType(env: NodeJS.ProcessEnv): DurableQueueType {
  const raw = text(env, 'PROJECTOR_QUEUE_TYPE') ?? 'classic-v2';
  const type = durableQueueTypes.find((known) => known === raw);
  if (type === undefined) {
    throw new ConfigError(
      `Expected PROJECTOR_QUEUE_TYPE to be one of ${durableQueueTypes.join(', ')}, got ${JSON.stringify(raw)}`,
    );
  }
  return type;
}

export function parseConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const production = text(env, 'NODE_ENV') === 'production';
  const secret = text(env, 'AUTH_SECRET');
  const jwksUrl = url(env, 'AUTH_JWKS_URL', ['https:', 'http:']);
  if (production && secret === undefined && jwksUrl === undefined) {
    throw new ConfigError(
      'AUTH_SECRET (or AUTH_JWKS_URL) is required with NODE_ENV=production (the development secret is public)',
    );
  }
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    throw new ConfigError('Expected AUTH_SECRET to be at least 32 bytes (HS256 needs a 256-bit key)');
  }
  const origins = text(env, 'ALLOWED_ORIGINS');
  const exchange = text(env, 'EXCHANGE') ?? 'pokegate.events';
  return {
    port: integer(env, 'PORT', 4000, 0, 65_535),
    amqpUrl: url(env, 'AMQP_URL', ['amqp:', 'amqps:']),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    databasePoolMax: integer(env, 'DATABASE_POOL_MAX', 10, 1, 1_000),
    authSecret: secret ?? devAuthSecret,
    devSecret: secret === undefined && jwksUrl === undefined,
    jwksUrl,
    jwksAlgorithm: text(env, 'AUTH_JWKS_ALGORITHM') ?? 'RS256',
    issuer: text(env, 'AUTH_ISSUER'),
    audience: text(env, 'AUTH_AUDIENCE'),
    metricsPort:
      text(env, 'METRICS_PORT') === undefined ? undefined : integer(env, 'METRICS_PORT', 0, 0, 65_535),
    exchange,
    projectorQueue: text(env, 'PROJECTOR_QUEUE') ?? `${exchange}.orders-projector`,
    projectorQueueType: queueType(env),
    readAfterTimeoutMs: integer(env, 'READ_AFTER_TIMEOUT_MS', 2_000, 0, 60_000),
    projectionDelayMs: integer(env, 'PROJECTION_DELAY_MS', 0, 0, 60_000),
    projectorEnabled: flag(env, 'PROJECTOR_ENABLED', true),
    gateFallbackMs: integer(env, 'GATE_FALLBACK_MS', 1_000, 1, 60_000),
    logLevel: text(env, 'LOG_LEVEL') ?? 'info',
    allowedOrigins: origins
      ?.split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    production,
    introspection: flag(env, 'GRAPHQL_INTROSPECTION', !production),
    graphiql: flag(env, 'GRAPHIQL', !production),
    rateLimit: {
      perToken: {
        ratePerSec: integer(env, 'RATE_LIMIT_TOKEN_PER_SEC', 50, 1, 1_000_000),
        burst: integer(env, 'RATE_LIMIT_TOKEN_BURST', 200, 1, 1_000_000),
      },
      perConnection: {
        ratePerSec: integer(env, 'RATE_LIMIT_CONNECTION_PER_SEC', 20, 1, 1_000_000),
        burst: integer(env, 'RATE_LIMIT_CONNECTION_BURST', 100, 1, 1_000_000),
      },
      closeAfterRefusals: integer(env, 'RATE_LIMIT_CLOSE_AFTER', 20, 1, 1_000_000),
    },
    operationLimits: {
      maxTokens: integer(env, 'MAX_OPERATION_TOKENS', defaultOperationLimits.maxTokens, 1, 1_000_000),
      maxAliases: integer(env, 'MAX_OPERATION_ALIASES', defaultOperationLimits.maxAliases, 0, 1_000_000),
      maxDepth: integer(env, 'MAX_OPERATION_DEPTH', defaultOperationLimits.maxDepth, 1, 1_000),
      maxCost: integer(env, 'MAX_OPERATION_COST', defaultOperationLimits.maxCost, 1, 1_000_000_000),
    },
    interest: {
      routing: choice(env, 'INTEREST_ROUTING', ['tenant', 'all'] as const),
      lingerMs: integer(env, 'INTEREST_LINGER_MS', 30_000, 0, 3_600_000),
      maxBindings: integer(env, 'INTEREST_MAX_BINDINGS', 1_000, 1, 100_000),
    },
  };
}
