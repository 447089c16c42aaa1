import { Body, Param, Query, SetMetadata, applyDecorators, type PipeTransform } from '@nestjs/common';
import { ApiBody, ApiParam, ApiQuery, ApiResponse } from '@nestjs/swagger';
import type { z } from 'zod';
import { findUnstorableText, UNSTORABLE_TEXT_MESSAGE } from '@xspectre/contracts';
import { AppError } from '../errors/app-error.js';
import { parseOrThrow, toOpenApiSchema } from './zod-validation.js';

class ZodPipe implements PipeTransform {
  constructor(
    private readonly schema: z.ZodType,
    private readonly where: 'body' | 'query' | 'path',
  ) {}
  transform(value: unknown): unknown {
    refuseUnstorableText(value, this.where);
    return parseOrThrow(this.schema, value ?? {}, this.where);
  }
}

/**
 * Before any schema: text PostgreSQL cannot store (NUL, unpaired surrogates) is a 400 naming
 * the field, from operators and devices alike, whichever field it is in (an unknown one too).
 */
function refuseUnstorableText(value: unknown, where: 'body' | 'query' | 'path'): void {
  const findings = findUnstorableText(value);
  if (findings.length === 0) return;
  const errors = findings.map((f) => ({ path: [where, ...f.path].join('.'), message: UNSTORABLE_TEXT_MESSAGE }));
  throw new AppError('VALIDATION_FAILED', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
}

/** Applies method-level swagger metadata from inside a parameter decorator. */
function onMethod(target: object, key: string | symbol | undefined, decorator: MethodDecorator): void {
  if (key === undefined) return;
  const descriptor = Object.getOwnPropertyDescriptor(target, key);
  if (descriptor) decorator(target, key, descriptor);
}

/** The request body, validated by a shared schema (unknown fields are refused by `.strict()`). */
export function ZodBody(schema: z.ZodType): ParameterDecorator {
  return (target, key, index) => {
    Body(new ZodPipe(schema, 'body'))(target, key, index);
    onMethod(target, key, ApiBody({ schema: toOpenApiSchema(schema, 'input') }));
  };
}

/** The query string, validated by a shared object schema. */
export function ZodQuery(schema: z.ZodObject): ParameterDecorator {
  return (target, key, index) => {
    Query(new ZodPipe(schema, 'query'))(target, key, index);
    const json = toOpenApiSchema(schema, 'input') as { properties?: Record<string, object>; required?: string[] };
    for (const [name, prop] of Object.entries(json.properties ?? {})) {
      onMethod(target, key, ApiQuery({ name, required: json.required?.includes(name) ?? false, schema: prop }));
    }
  };
}

/** Path parameters, validated (ids must be UUIDs, so a bad id is a 400, not a 500). */
export function ZodParams(schema: z.ZodObject): ParameterDecorator {
  return (target, key, index) => {
    Param(new ZodPipe(schema, 'path'))(target, key, index);
    const json = toOpenApiSchema(schema, 'input') as { properties?: Record<string, object> };
    for (const [name, prop] of Object.entries(json.properties ?? {})) {
      onMethod(target, key, ApiParam({ name, required: true, schema: prop }));
    }
  };
}

export const RESPONSE_SCHEMA = 'xs:response-schema';

/**
 * Declares the success response: documented in OpenAPI and enforced at run time, so a
 * handler can never leak fields (an entity's hash, say) that the contract does not name.
 */
export function ZodResponse(status: number, schema: z.ZodType, description = 'OK'): MethodDecorator {
  return applyDecorators(
    SetMetadata(RESPONSE_SCHEMA, schema),
    ApiResponse({ status, description, schema: toOpenApiSchema(schema, 'output') }),
  );
}
