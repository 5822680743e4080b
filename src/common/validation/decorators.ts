import { applyDecorators } from '@nestjs/common';
import { Transform, Type } from 'class-transformer';
import { IsInt, Max, Min, ValidateIf, ValidateNested, registerDecorator, type ValidationArguments, type ValidationOptions } from 'class-validator';
import { PHONE_RULE, isPhoneNumber } from './phone-number';

/**
 * Reusable class-validator decorators for request DTOs. The global
 * ValidationPipe never coerces; these close the gaps class-validator leaves:
 *
 * - `@ValidateNested()` accepts an array where one object belongs (it
 *   validates each element, so `"config": []` passes) and silently skips
 *   `undefined`, and `@IsOptional()` lets `null` through as if absent.
 * - `@ValidateNestedObject(() => Dto)` and `@ValidateNestedArray(() => Dto)`
 *   check the shape first (an object, not an array, null or a primitive; an
 *   array of objects) and only then the nested fields. The pipe reports a
 *   wrong shape once, on the field itself, without the nested noise.
 * - `@Optional()` skips only a missing field: `null` is a value like any other
 *   and must pass the field's validators (so it is refused where a number,
 *   boolean, string or object belongs).
 */

/** Constraint names meaning "the value has the wrong shape"; the pipe reports only them for such a field. */
export const SHAPE_CONSTRAINTS: ReadonlySet<string> = new Set(['isObjectShape', 'isArrayOfObjectsShape']);

/** Like `@IsOptional()`, but only `undefined` (a missing field) skips validation; `null` does not. */
export function Optional(options?: ValidationOptions): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined, options);
}

/** A nested object validated as `type`: required unless `@Optional()` is applied too. */
export function ValidateNestedObject(type: () => new () => object): PropertyDecorator {
  return applyDecorators(IsObjectShape(), ValidateNested(), Type(type));
}

/** An array of at most `maxSize` objects, each validated as `type`. */
export function ValidateNestedArray(type: () => new () => object, options: { maxSize: number }): PropertyDecorator {
  return applyDecorators(IsArrayOfObjectsShape(options.maxSize), ValidateNested({ each: true }), Type(type));
}

/** A phone number in international format (src/common/validation/phone-number.ts). */
export function IsInternationalPhone(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyKey) =>
    registerDecorator({
      name: 'isInternationalPhone',
      target: target.constructor,
      propertyName: String(propertyKey),
      options,
      validator: {
        validate: (value: unknown) => isPhoneNumber(value),
        defaultMessage: (args?: ValidationArguments) => `${args?.property ?? 'value'} must be ${PHONE_RULE}`,
      },
    });
}

export function isObjectValue(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** "null", "an array", "a string", ...: what was sent instead. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

function IsObjectShape(): PropertyDecorator {
  return (target, propertyKey) =>
    registerDecorator({
      name: 'isObjectShape',
      target: target.constructor,
      propertyName: String(propertyKey),
      validator: {
        validate: (value: unknown) => isObjectValue(value),
        defaultMessage: ({ property, value }: ValidationArguments) =>
          value === undefined ? `${property} is required` : `${property} must be an object, not ${describeValue(value)}`,
      },
    });
}

function IsArrayOfObjectsShape(maxSize: number): PropertyDecorator {
  const problem = (property: string, value: unknown): string | null => {
    if (value === undefined) return `${property} is required`;
    if (!Array.isArray(value)) return `${property} must be an array, not ${describeValue(value)}`;
    if (value.length > maxSize) return `${property} must contain at most ${maxSize} items, not ${value.length}`;
    const index = value.findIndex((item) => !isObjectValue(item));
    return index === -1 ? null : `${property}.${index} must be an object, not ${describeValue(value[index])}`;
  };
  return (target, propertyKey) =>
    registerDecorator({
      name: 'isArrayOfObjectsShape',
      target: target.constructor,
      propertyName: String(propertyKey),
      validator: {
        validate: (value: unknown, args?: ValidationArguments) => problem(args?.property ?? String(propertyKey), value) === null,
        defaultMessage: ({ property, value }: ValidationArguments) => problem(property, value) ?? `${property} is invalid`,
      },
    });
}

/**
 * Query strings are text: a decimal integer ("50") becomes a number, anything
 * else ("0x10", "1e3", " 5", "", a repeated parameter) stays as sent and fails
 * `@IsInt()`, where `Number()` would have coerced several of them.
 */
export function IntegerQuery(): PropertyDecorator {
  return Transform(({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d{1,16}$/.test(value) ? Number(value) : value));
}

/** Most rows a listing returns at once (CONTRACT.md: `limit` at most 1000; more is a 400). */
export const MAX_LIST_LIMIT = 1000;

/** The optional `limit` query parameter of every listing: a decimal integer from 1 to MAX_LIST_LIMIT. */
export function ListLimitQuery(): PropertyDecorator {
  return applyDecorators(Optional(), IntegerQuery(), IsInt(), Min(1), Max(MAX_LIST_LIMIT));
}
