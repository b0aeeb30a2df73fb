/**
 * @module The OpenAPI 3.1 document of /api/v1, derived from the registered routes: every route
 * is listed, and request bodies and query parameters come from the zod schemas their
 * validators carry (envelope.ts), so the document follows the code.
 */
import type { Hono } from 'hono';
import { z } from 'zod';
import { ERRORS } from '../../shared/errors.js';
import type { Described, Documented } from './envelope.js';

type Operation = Record<string, unknown> & { parameters: Array<Record<string, unknown>> };

export function openApiDocument(api: Hono<never>, base = '/api/v1'): Record<string, unknown> {
  const paths: Record<string, Record<string, Operation>> = {};
  for (const route of api.routes) {
    if (route.method === 'ALL') continue; // middleware (authentication)
    const path = route.path.replace(/:([A-Za-z][A-Za-z0-9]*)/g, '{$1}');
    const method = route.method.toLowerCase();
    const forPath = paths[path] ?? {};
    paths[path] = forPath;
    const op: Operation = forPath[method] ?? {
      security: [{ bearer: [] }],
      parameters: [...route.path.matchAll(/:([A-Za-z][A-Za-z0-9]*)/g)].map((m) => ({
        name: m[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
      })),
      responses: {
        200: {
          description: 'OK',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Envelope' } } },
        },
        default: {
          description: 'An error: `code` is one of the error table',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Envelope' } } },
        },
      },
    };
    forPath[method] = op;
    const operation = (route.handler as Partial<Described>).openapiOperation;
    if (operation) Object.assign(op, operation);
    const documented = (route.handler as Partial<Documented>).openapi;
    if (!documented) continue;
    const schema = z.toJSONSchema(documented.schema, { io: 'input', unrepresentable: 'any' }) as {
      properties?: Record<string, unknown>;
      required?: string[];
    };
    if (documented.target === 'json') {
      op.requestBody = { required: true, content: { 'application/json': { schema } } };
    } else if (documented.target === 'query') {
      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        op.parameters.push({
          name,
          in: 'query',
          required: schema.required?.includes(name) ?? false,
          schema: property,
        });
      }
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'convosync REST API',
      version: '1',
      description:
        'Every response is { code, message, data }. Errors carry a code from the error table.',
    },
    servers: [{ url: base }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        Envelope: {
          type: 'object',
          required: ['code', 'message', 'data'],
          properties: {
            code: { type: 'string', enum: ['OK', ...Object.keys(ERRORS)] },
            message: { type: 'string' },
            data: {},
          },
        },
      },
    },
  };
}
