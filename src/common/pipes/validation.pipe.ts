import { ValidationPipe, type ValidationError as ClassValidatorError } from '@nestjs/common';
import { ValidationError, type ErrorDetail } from '../errors/domain-errors';
import { SHAPE_CONSTRAINTS } from '../validation/decorators';

/**
 * Global validation: DTOs are class-validator classes; values are never
 * coerced; unknown fields are rejected at every depth (whitelisting applies to
 * nested DTOs too); every bad field is named in `details` (nested paths
 * dotted, array items by index: `config.webhooks.0.url`).
 *
 * Nested DTOs use `ValidateNestedObject` / `ValidateNestedArray`
 * (common/validation/decorators.ts): when such a field has the wrong shape (an
 * array or a primitive where an object belongs), only that is reported, not
 * the meaningless errors of validating its elements as the nested DTO.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    exceptionFactory: (errors: ClassValidatorError[]) => {
      const details = flattenValidationErrors(errors);
      const fields = [...new Set(details.map((d) => d.field))].join(', ');
      return new ValidationError(`Invalid request: ${fields}`, details);
    },
  });
}

export function flattenValidationErrors(errors: ClassValidatorError[], parent = ''): ErrorDetail[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const constraints = Object.entries(error.constraints ?? {});
    const shape = constraints.filter(([name]) => SHAPE_CONSTRAINTS.has(name));
    if (shape.length) return shape.map(([, message]) => ({ field, message }));
    const own = constraints.map(([, message]) => ({ field, message }));
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}
