/** @module OpenAPI 3.1 document of the node API, with bodies generated from the zod schemas. */
import { z } from 'zod';
import { CatalogContent, CatalogContentPatch } from '../../protocol/catalog-entry.ts';

const errorResponse = {
  description: 'Error (JSON: code, zh-CN and en message, field paths)',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
};
const json = (ref: string) => ({ content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } } });

let cached: unknown;

export function nodeOpenApi(): unknown {
  cached ??= {
    openapi: '3.1.0',
    info: { title: 'Jilian county node API (级联县区节点接口)', version: '1' },
    security: [{ bearer: [] }],
    paths: {
      '/api/v1/health': { get: { summary: 'Liveness', security: [], responses: { 200: { description: 'ok' } } } },
      '/api/v1/status': { get: { summary: 'Replication status: outbox depth, last hub contact, lag', responses: { 200: { description: 'status' }, 401: errorResponse } } },
      '/api/v1/catalog/entries': {
        get: {
          summary: 'List and full-text search the local and municipal catalog (中文检索：两字词如“人口”可匹配)',
          parameters: ['q', 'county', 'dept', 'status', 'limit', 'offset'].map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })),
          responses: { 200: { description: '{ total, items: EntryView[] }' }, 400: errorResponse, 401: errorResponse },
        },
        post: {
          summary: 'Create a catalog entry of the calling department',
          requestBody: { required: true, ...json('CatalogContent') },
          responses: { 201: { description: 'EntryView' }, 400: errorResponse, 401: errorResponse, 403: errorResponse, 413: errorResponse },
        },
      },
      '/api/v1/catalog/batch': {
        post: {
          summary: 'Create up to 1000 entries in one transaction',
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', properties: { entries: { type: 'array', items: { $ref: '#/components/schemas/CatalogContent' } } } } } } },
          responses: { 201: { description: '{ entries: EntryView[] }' }, 400: errorResponse, 403: errorResponse, 413: errorResponse },
        },
      },
      '/api/v1/catalog/entries/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: { summary: 'Get one entry', responses: { 200: { description: 'EntryView' }, 404: errorResponse } },
        patch: { summary: 'Change fields of an own entry', requestBody: { required: true, ...json('CatalogContentPatch') }, responses: { 200: { description: 'EntryView' }, 400: errorResponse, 403: errorResponse, 404: errorResponse } },
        delete: { summary: 'Withdraw an own entry (marked withdrawn, Jincheng §19)', responses: { 200: { description: 'EntryView' }, 403: errorResponse, 404: errorResponse } },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Department token from `jilian node dept add`' } },
      schemas: {
        CatalogContent: z.toJSONSchema(CatalogContent, { unrepresentable: 'any', io: 'input' }),
        CatalogContentPatch: z.toJSONSchema(CatalogContentPatch, { unrepresentable: 'any', io: 'input' }),
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              properties: {
                code: { type: 'string' },
                message: { type: 'object', properties: { 'zh-CN': { type: 'string' }, en: { type: 'string' } } },
                fields: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } } } },
              },
            },
          },
        },
      },
    },
  };
  return cached;
}
