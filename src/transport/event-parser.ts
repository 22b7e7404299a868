import { reasonOf } from '../common/errors.js';
import { expectInteger, expectThat } from '../common/validate.js';

/**
 * The part of a Standard Schema (zod, valibot, arktype, …) the parser needs:
 * a synchronous `validate`. A schema whose validation is asynchronous is
 * refused message by message, as `invalid_event`.
 */
export interface EventSchema<E> {
  readonly '~standard': {
    readonly validate: (value: unknown) => SchemaResult<E> | Promise<SchemaResult<E>>;
  };
}

export type SchemaResult<E> =
  { readonly value: E; readonly issues?: undefined } | { readonly issues: readonly SchemaIssue[] };

export interface SchemaIssue {
  readonly message: string;
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined;
}

/** Why a message is not an event. */
export type MalformedReason = 'too_large' | 'not_utf8' | 'invalid_json' | 'not_an_object' | 'invalid_event';

export type ParseResult<E> =
  | { readonly ok: true; readonly event: E }
  | { readonly ok: false; readonly reason: MalformedReason; readonly detail: string };

/**
 * The one place where a message body becomes an event: the size cap, then
 * UTF-8 and JSON, then the schema. Never throws.
 */
export type EventParser<E> = (body: Uint8Array) => ParseResult<E>;

export interface EventParserOptions<E> {
  /** The schema an event must satisfy. */
  readonly schema: EventSchema<E>;
  /**
   * The largest body accepted, in bytes; a larger one is `too_large` and is
   * never decoded. Minimum: 2.
   * @default 65536
   */
  readonly maxBytes?: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function createEventParser<E>(options: EventParserOptions<E>): EventParser<E> {
  const { schema, maxBytes = 65_536 } = options;
  const candidate = (schema as { readonly '~standard'?: { readonly validate?: unknown } } | undefined)?.[
    '~standard'
  ];
  expectThat(
    'schema',
    schema,
    typeof candidate?.validate === 'function',
    'a Standard Schema (with `~standard.validate`)',
  );
  expectInteger('maxBytes', maxBytes, 2);
  const validate = schema['~standard'].validate;
  return (body) => {
    if (body.byteLength > maxBytes) {
      return malformed('too_large', `${body.byteLength} bytes, over the cap of ${maxBytes}`);
    }
    let text: string;
    try {
      text = decoder.decode(body);
    } catch {
      return malformed('not_utf8', 'the body is not valid UTF-8');
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return malformed('invalid_json', reasonOf(error));
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return malformed(
        'not_an_object',
        `got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`,
      );
    }
    let result: SchemaResult<E> | Promise<SchemaResult<E>>;
    try {
      result = validate(value);
    } catch (error) {
      return malformed('invalid_event', `the schema threw: ${reasonOf(error)}`);
    }
    if (result instanceof Promise) {
      // Keep the rejection, if any, from surfacing as unhandled.
      result.catch(() => undefined);
      return malformed(
        'invalid_event',
        'the schema validates asynchronously; only synchronous schemas are supported',
      );
    }
    if (result.issues !== undefined) return malformed('invalid_event', describeIssues(result.issues));
    return { ok: true, event: result.value };
  };
}

function malformed(reason: MalformedReason, detail: string): ParseResult<never> {
  return { ok: false, reason, detail };
}

/** The first few issues, as `path: message`, for a log line. */
function describeIssues(issues: readonly SchemaIssue[]): string {
  const shown = issues.slice(0, 3).map((issue) => {
    const path = (issue.path ?? [])
      .map((segment) => String(typeof segment === 'object' ? segment.key : segment))
      .join('.');
    return path.length > 0 ? `${path}: ${issue.message}` : issue.message;
  });
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  return shown.join('; ') + more;
}
