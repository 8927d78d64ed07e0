/** @module OpenAPI 3.1 document of the node API, with bodies generated from the zod schemas. */
import { z } from 'zod';
import { CatalogContent, CatalogContentPatch } from '../../protocol/catalog-entry.ts';
import { ApplicationEvent, ApplicationRequest } from '../../protocol/application.ts';
import { AccessQuery, AccessVerify, QueryResult, VerifyResult } from '../../protocol/sharing-messages.ts';
import { ERROR_STATUS } from '../../engine/errors.ts';

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
          parameters: ['q', 'county', 'dept', 'status', 'theme', 'limit', 'offset'].map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })),
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
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { type: 'object', properties: { entries: { type: 'array', items: { $ref: '#/components/schemas/CatalogContent' } } } } } },
          },
          responses: { 201: { description: '{ entries: EntryView[] }' }, 400: errorResponse, 403: errorResponse, 413: errorResponse },
        },
      },
      '/api/v1/catalog/entries/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: { summary: 'Get one entry', responses: { 200: { description: 'EntryView' }, 404: errorResponse } },
        patch: {
          summary: 'Change fields of an own entry',
          requestBody: { required: true, ...json('CatalogContentPatch') },
          responses: { 200: { description: 'EntryView' }, 400: errorResponse, 403: errorResponse, 404: errorResponse },
        },
        delete: { summary: 'Withdraw an own entry (marked withdrawn, Jincheng §19)', responses: { 200: { description: 'EntryView' }, 403: errorResponse, 404: errorResponse } },
      },
      '/api/v1/frontend/{id}/import': {
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'format', in: 'query', required: false, schema: { type: 'string', enum: ['csv', 'xlsx', 'ndjson'] } },
          { name: 'importId', in: 'query', required: false, schema: { type: 'string' } },
        ],
        post: {
          summary: 'Stream a CSV (UTF-8 or GB18030), XLSX or NDJSON body into the entry’s front-end table (前置库); not subject to the JSON body limit',
          requestBody: { required: true, content: { 'text/csv': {}, 'application/x-ndjson': {}, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': {} } },
          responses: { 200: { description: 'import summary with counts and rejectsUrl' }, 400: errorResponse, 403: errorResponse },
        },
      },
      '/api/v1/sharing/applications': {
        get: { summary: 'Applications of the calling department, as consumer or provider', responses: { 200: { description: '{ applications }' }, 401: errorResponse } },
        post: {
          summary: 'Apply to use another department’s resource (sent to the hub)',
          requestBody: { required: true, ...json('ApplicationRequest') },
          responses: { 202: { description: '{ id, state }' }, 400: errorResponse },
        },
      },
      '/api/v1/sharing/applications/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: { summary: 'One application with its state, history and deadline', responses: { 200: { description: 'application' }, 404: errorResponse } },
      },
      '/api/v1/sharing/applications/{id}/decision': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        post: {
          summary: 'Provider’s answer (approve / refuse with reason and basis) or consumer’s withdrawal',
          requestBody: { required: true, ...json('ApplicationEvent') },
          responses: { 202: { description: 'sent to the hub' }, 400: errorResponse, 404: errorResponse },
        },
      },
      '/api/v1/sharing/grants': { get: { summary: 'Grants the department uses or provides', responses: { 200: { description: '{ grants }' } } } },
      '/api/v1/sharing/grants/{id}/query': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        post: {
          summary: 'Cascaded query through the hub: granted items only, desensitized by the provider',
          requestBody: { required: true, ...json('AccessQuery') },
          responses: { 200: { description: '{ source, packageVersion, packageAgeSeconds, result: QueryResult }', ...json('QueryResult') }, 403: errorResponse, 404: errorResponse, 504: errorResponse },
        },
      },
      '/api/v1/sharing/grants/{id}/verify': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        post: {
          summary: 'Cross-verification (核验): match / no_match per claimed item, never a value',
          requestBody: { required: true, ...json('AccessVerify') },
          responses: { 200: { description: '{ result: VerifyResult }', ...json('VerifyResult') }, 403: errorResponse, 429: errorResponse, 504: errorResponse },
        },
      },
      '/api/v1/sharing/grants/{id}/packages': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: { summary: 'Packages received under a batch grant', responses: { 200: { description: '{ packages }' }, 404: errorResponse } },
      },
      '/api/v1/sharing/grants/{id}/packages/{packageId}/rows': {
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
          { name: 'packageId', in: 'path', required: true, schema: { type: 'string' } },
        ],
        get: { summary: 'Rows of a received package as the grant allows (NDJSON)', responses: { 200: { description: 'application/x-ndjson' }, 403: errorResponse, 404: errorResponse } },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Department token from `jilian node dept add`' } },
      schemas: {
        CatalogContent: z.toJSONSchema(CatalogContent, { unrepresentable: 'any', io: 'input' }),
        CatalogContentPatch: z.toJSONSchema(CatalogContentPatch, { unrepresentable: 'any', io: 'input' }),
        ApplicationRequest: z.toJSONSchema(ApplicationRequest, { unrepresentable: 'any', io: 'input' }),
        ApplicationEvent: z.toJSONSchema(ApplicationEvent, { unrepresentable: 'any', io: 'input' }),
        AccessQuery: z.toJSONSchema(AccessQuery.omit({ method: true }), { unrepresentable: 'any', io: 'input' }),
        AccessVerify: z.toJSONSchema(AccessVerify.omit({ method: true }), { unrepresentable: 'any', io: 'input' }),
        QueryResult: z.toJSONSchema(QueryResult, { unrepresentable: 'any', io: 'input' }),
        VerifyResult: z.toJSONSchema(VerifyResult, { unrepresentable: 'any', io: 'input' }),
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              properties: {
                code: { type: 'string', description: 'stable error code; its HTTP status is fixed per code (engine/errors.ts ERROR_STATUS)', enum: Object.keys(ERROR_STATUS) },
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
