/**
 * @module The REST response shapes of the spec: `Response<T>` ({ code, message, data }) and
 * `PageList<T>`; and request validation that answers bad input with a 400 naming the field.
 */
import { zValidator } from '@hono/zod-validator';
import type { MiddlewareHandler, ValidationTargets } from 'hono';
import { type ZodType, z } from 'zod';
import { ConvosyncError } from '../../shared/errors.js';

export interface PageList<T> {
  list: T[];
  total: number;
  pageNum: number;
  pageSize: number;
  /** Pass as `before` to get the next (older) page, stable while new items arrive. */
  nextCursor: string | null;
}

/** The spec's paging parameters (`@RequestParam(defaultValue = "1") Integer pageNum`, 20). */
export const pageQuery = {
  pageNum: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
};

export function ok<T>(data: T): { code: 'OK'; message: 'ok'; data: T } {
  return { code: 'OK', message: 'ok', data };
}

/** What a validator carries for the OpenAPI document (openapi.ts reads it off the routes). */
export interface Documented {
  openapi: { target: keyof ValidationTargets; schema: ZodType };
}

/**
 * A validator whose failures become BAD_REQUEST errors listing each bad field. It also carries
 * its schema, so the OpenAPI document is derived from the routes themselves and cannot drift.
 */
export function valid<Target extends keyof ValidationTargets, Schema extends ZodType>(
  target: Target,
  schema: Schema,
) {
  const middleware = zValidator(target, schema, (result) => {
    if (result.success) return;
    const fields = result.error.issues.map(
      (issue) => `${issue.path.join('.') || target}: ${issue.message}`,
    );
    throw new ConvosyncError('BAD_REQUEST', fields.join('; '));
  });
  return Object.assign(middleware, { openapi: { target, schema } } satisfies Documented);
}

/** OpenAPI fields of an operation that no validator can carry (a raw body, a binary answer). */
export interface Described {
  openapiOperation: Record<string, unknown>;
}

/** A pass-through middleware carrying `operation` into the OpenAPI document (openapi.ts). */
export function described(operation: Record<string, unknown>): MiddlewareHandler & Described {
  const middleware: MiddlewareHandler = (_c, next) => next();
  return Object.assign(middleware, { openapiOperation: operation } satisfies Described);
}

const envelopeOf = (data: Record<string, unknown>) => ({
  'application/json': {
    schema: {
      allOf: [{ $ref: '#/components/schemas/Envelope' }, { type: 'object', properties: { data } }],
    },
  },
});

/** The spec's `Response<Boolean>`: `data` is `true` on success. */
export const returnsBoolean = described({
  responses: {
    200: { description: 'OK: data is true', content: envelopeOf({ type: 'boolean', const: true }) },
    default: {
      description: 'An error: `code` is one of the error table',
      content: envelopeOf({ type: 'null' }),
    },
  },
});
