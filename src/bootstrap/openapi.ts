import { STATUS_CODES } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject, type OperationObject, type ResponseObject, type SchemaObject } from '@nestjs/swagger';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** The JSON body of every error (HttpExceptionFilter writes all of them). */
const ERROR_BODY: SchemaObject = {
  type: 'object',
  required: ['statusCode', 'error', 'message', 'requestId'],
  properties: {
    statusCode: { type: 'integer', example: 400 },
    error: { type: 'string', example: 'Bad Request' },
    message: { type: 'string', example: 'name must match ^[A-Za-z0-9_-]{1,64}$' },
    details: {
      type: 'array',
      description: 'One entry per bad field (validation errors)',
      items: {
        type: 'object',
        required: ['message'],
        properties: { field: { type: 'string', example: 'name' }, message: { type: 'string' } },
      },
    },
    requestId: { type: 'string', description: 'Also in the logs, to find the cause of a 5xx' },
  },
};
const ERROR_REF = { $ref: '#/components/schemas/ErrorBody' };

/**
 * The OpenAPI document served at /docs-json (and rendered at /docs). Besides
 * what the controllers' decorators describe, it states here, once, what holds
 * for every route and would otherwise be repeated (and forgotten) on each:
 * - every /api operation needs the API key (ApiKeyGuard's rule), so each
 *   documents the 401 it answers without one; every other route (the probes)
 *   is open, which the document says with an empty `security`;
 * - every /api error has the one JSON body of HttpExceptionFilter (ErrorBody),
 *   so generated clients get a typed error. The probes keep Terminus' body.
 * `redocly lint` checks the result (redocly.yaml, test/e2e/openapi.e2e-spec.ts).
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('ZapHub')
      .setDescription(
        'Multi-session WhatsApp gateway. Every /api route needs the X-Api-Key header. Errors are JSON: ' +
          '{statusCode, error, message, details?, requestId}.',
      )
      .setVersion('0.1.0')
      .setLicense('GPL-3.0-only', 'https://www.gnu.org/licenses/gpl-3.0.html')
      // Relative: the document describes the server that serves it, whatever its address.
      .addServer('/', 'This ZapHub')
      .addApiKey({ type: 'apiKey', name: 'X-Api-Key', in: 'header' }, 'api-key')
      .build(),
  );
  return describeAuthAndErrors(document);
}

/** Adds the API key's 401, the error body and the probes' open security to `document` (in place; also returned). */
export function describeAuthAndErrors(document: OpenAPIObject): OpenAPIObject {
  document.components ??= {};
  document.components.schemas = { ...document.components.schemas, ErrorBody: ERROR_BODY };
  for (const [path, item] of Object.entries(document.paths)) {
    const protectedPath = path === '/api' || path.startsWith('/api/');
    for (const method of METHODS) {
      const operation: OperationObject | undefined = item[method];
      if (!operation) continue;
      if (!protectedPath) {
        operation.security ??= [];
        continue;
      }
      operation.responses['401'] ??= { description: 'Missing or invalid X-Api-Key header' };
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!/^[45]/.test(status) || !response || '$ref' in response) continue;
        const r = response as ResponseObject;
        r.content ??= { 'application/json': { schema: ERROR_REF } };
        if (!r.description) r.description = STATUS_CODES[status] ?? 'Error';
      }
    }
  }
  return document;
}

/** Serves the document at /docs-json and the interactive docs at /docs. */
export function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json', useGlobalPrefix: false });
}
