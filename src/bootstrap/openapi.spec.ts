import type { OpenAPIObject } from '@nestjs/swagger';
import { describeAuthAndErrors } from './openapi';

const doc = (): OpenAPIObject => ({
  openapi: '3.0.0',
  info: { title: 't', version: '1' },
  paths: {
    '/api/things/{id}': {
      get: {
        security: [{ 'api-key': [] }],
        responses: {
          '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } },
          '404': { description: '' },
          '409': { description: 'Busy', content: { 'text/plain': { schema: { type: 'string' } } } },
        },
      },
    },
    '/health/live': { get: { responses: { '200': { description: 'up' }, '503': { description: 'down' } } } },
  },
});

describe('describeAuthAndErrors', () => {
  it('documents the 401 of every /api operation and the JSON error body of its 4xx and 5xx answers', () => {
    const out = describeAuthAndErrors(doc());
    const responses = out.paths['/api/things/{id}'].get!.responses as Record<string, { description: string; content?: Record<string, unknown> }>;
    const errorBody = { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } };
    expect(responses['401']).toEqual({ description: 'Missing or invalid X-Api-Key header', content: errorBody });
    expect(responses['404']).toEqual({ description: 'Not Found', content: errorBody });
    // What a controller declared itself stays as it is; success answers are untouched.
    expect(responses['409']).toEqual({ description: 'Busy', content: { 'text/plain': { schema: { type: 'string' } } } });
    expect(responses['200']).toEqual({ description: 'ok', content: { 'application/json': { schema: { type: 'object' } } } });
    expect(out.components?.schemas?.ErrorBody).toMatchObject({ type: 'object', required: ['statusCode', 'error', 'message', 'requestId'] });
  });

  it('declares the routes outside /api open, and leaves their answers (Terminus bodies) alone', () => {
    const live = describeAuthAndErrors(doc()).paths['/health/live'].get!;
    expect(live.security).toEqual([]);
    expect(live.responses).toEqual({ '200': { description: 'up' }, '503': { description: 'down' } });
  });
});
