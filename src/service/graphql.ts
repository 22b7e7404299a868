import { readdirSync, readFileSync } from 'node:fs';
import { NoSchemaIntrospectionCustomRule } from 'graphql';
import { createSchema, createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import { reasonOf } from 'pokegate';
import { useSharedSubscriptionExecution } from 'pokegate/graphql';
import type { Principal } from './auth.js';
import type { GraphQLContext } from './context.js';
import type { ConnectionSession, InternalErrors } from 'pokegate/graphql';
import { rateLimitedError, type OperationRateLimit } from 'pokegate/graphql';
import { operationLimitPlugins, type OnOperationRefused, type OperationLimits } from './operation-limits.js';
import { resolvers } from './resolvers.js';

const schemaDir = new URL('../../schema/', import.meta.url);

/** The SDL of every `schema/*.graphql`, the source of truth of the API. */
export function loadTypeDefs(): string[] {
  return readdirSync(schemaDir)
    .filter((name) => name.endsWith('.graphql'))
    .sort()
    .map((name) => readFileSync(new URL(name, schemaDir), 'utf8'));
}

export interface GraphQLOptions {
  readonly authenticate: (authorization: unknown) => Promise<Principal>;
  /** Everything of the context but the principal, the session and the signal. */
  readonly services: Omit<GraphQLContext, 'principal' | 'session' | 'signal'>;
  readonly logger: Logger;
  /**
   * Largest HTTP request body; a larger one is refused with 413.
   * @default 65536
   */
  readonly maxBodyBytes?: number;
  /** More plugins, after authentication. @default [] */
  readonly plugins?: readonly Plugin[];
  /** What one operation may ask for, over HTTP, SSE and WebSocket alike. @default defaultOperationLimits */
  readonly limits?: OperationLimits;
  /** Called for every operation a limit refuses. @default nothing */
  readonly onRefused?: OnOperationRefused;
  /** Operations per token; one over it is answered 429 with `Retry-After`. @default no limit */
  readonly rateLimit?: OperationRateLimit;
  /** Logs and masks unexpected errors, giving each an id. */
  readonly internalErrors: InternalErrors;
  /**
   * Answers introspection queries (`__schema`, `__type`); off in production.
   * @default true
   */
  readonly introspection?: boolean;
  /**
   * Serves GraphiQL to a browser's GET of `/graphql`; off in production.
   * @default true
   */
  readonly graphiql?: boolean;
}

/** The context yoga starts from: the HTTP request, or graphql-ws's principal and session. */
interface ServerContext {
  readonly principal?: Principal;
  readonly session?: ConnectionSession<Principal>;
}

export type GraphQLServer = YogaServerInstance<ServerContext, GraphQLContext>;

export function createGraphQLServer(options: GraphQLOptions): GraphQLServer {
  const {
    authenticate,
    services,
    logger,
    maxBodyBytes = 65_536,
    limits,
    onRefused,
    internalErrors,
    introspection = true,
    graphiql = true,
    rateLimit,
    plugins = [],
  } = options;
  /** Principals of HTTP requests, verified before yoga parses anything. */
  const principals = new WeakMap<Request, Principal>();

  const httpAuth: Plugin = {
    async onRequest(event) {
      const { request, url, fetchAPI } = event;
      if (url.pathname !== '/graphql') return;
      const length = Number(request.headers.get('content-length') ?? 0);
      if (length > maxBodyBytes) {
        event.endResponse(json(fetchAPI, 413, `Request body over ${maxBodyBytes} bytes`));
        return;
      }
      // GraphiQL's page itself is static; its requests carry the token like any other.
      if (
        graphiql &&
        request.method === 'GET' &&
        request.headers.get('accept')?.includes('text/html') === true
      )
        return;
      let principal: Principal;
      try {
        principal = await authenticate(request.headers.get('authorization'));
      } catch (error) {
        event.endResponse(json(fetchAPI, 401, reasonOf(error)));
        return;
      }
      const waitMs = rateLimit?.take(principal) ?? 0;
      if (waitMs > 0) {
        event.endResponse(tooManyRequests(fetchAPI, waitMs));
        return;
      }
      principals.set(request, principal);
    },
  };

  return createYoga<ServerContext, GraphQLContext>({
    schema: createSchema<GraphQLContext>({ typeDefs: loadTypeDefs(), resolvers: resolvers as never }),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql,
    maskedErrors: { maskError: internalErrors.maskError },
    // Checks the body as it streams in, whatever the framing: a chunked body has no Content-Length.
    maxRequestBodySize: maxBodyBytes,
    logging: {
      debug: (...args) => logger.debug({ args }, 'yoga'),
      info: (...args) => logger.info({ args }, 'yoga'),
      warn: (...args) => logger.warn({ args }, 'yoga'),
      error: (...args) => {
        if (!internalErrors.reported(args[0])) logger.error({ args }, 'yoga');
      },
    },
    plugins: [
      httpAuth,
      ...operationLimitPlugins(limits, onRefused),
      ...(introspection ? [] : [noIntrospection]),
      useSharedSubscriptionExecution(),
      ...plugins,
    ],
    context: (initial) => {
      // graphql-ws brings its principal from connection_init and has no fetch Request.
      const request = initial.request as Request | undefined;
      const principal = initial.principal ?? (request === undefined ? undefined : principals.get(request));
      if (principal === undefined)
        throw new Error('unreachable: a GraphQL operation without a verified principal');
      const session = initial.session;
      if (request !== undefined) return { ...services, principal, signal: request.signal };
      return session === undefined ? { ...services, principal } : { ...services, principal, session };
    },
  });
}

/** graphql-js's own rule: `__schema` and `__type` are refused; `__typename` still answers. */
const noIntrospection: Plugin = {
  onValidate({ addValidationRule }) {
    addValidationRule(NoSchemaIntrospectionCustomRule);
  },
};

function tooManyRequests(fetchAPI: { readonly Response: typeof Response }, waitMs: number): Response {
  return new fetchAPI.Response(JSON.stringify({ errors: [rateLimitedError(waitMs).toJSON()] }), {
    status: 429,
    headers: { 'content-type': 'application/json', 'retry-after': String(Math.ceil(waitMs / 1_000)) },
  });
}

function json(fetchAPI: { readonly Response: typeof Response }, status: number, message: string): Response {
  return new fetchAPI.Response(JSON.stringify({ errors: [{ message }] }), {
    status,
    headers: {
      'content-type': 'application/json',
      ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
    },
  });
}
