import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationTypes, getMetadataStorage } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import { SHAPE_CONSTRAINTS, describeValue, isObjectValue } from './decorators';

/**
 * Conventions every request DTO of the code base follows (checked on the
 * class-validator metadata of every `*.dto.ts` under src/), so that new DTOs
 * cannot reintroduce the gaps: a nested DTO without a shape guard accepts
 * `[]` where an object belongs; `@IsOptional()` accepts `null` as if absent.
 */
function dtoFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : dtoFiles(path);
    return entry.name.endsWith('.dto.ts') ? [path] : [];
  });
}

describe('DTO conventions', () => {
  const files = dtoFiles(join(__dirname, '..', '..'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  for (const file of files) require(file);
  const storage = getMetadataStorage() as unknown as {
    validationMetadatas: Map<Function, ValidationMetadata[]>;
    getTargetValidatorConstraints(target: Function): { name: string }[];
  };
  const all = [...storage.validationMetadatas.values()].flat();
  const where = (m: ValidationMetadata) => `${(m.target as Function).name}.${m.propertyName}`;

  it('finds the DTO files', () => {
    expect(files.map((f) => f.replace(/.*\/src\//, 'src/'))).toEqual(
      expect.arrayContaining(['src/modules/sessions/sessions.dto.ts', 'src/modules/sandbox/sandbox.dto.ts', 'src/modules/queues-admin/queues-admin.dto.ts']),
    );
    expect(all.length).toBeGreaterThan(20);
  });

  it('guards the shape of every nested DTO (use ValidateNestedObject / ValidateNestedArray)', () => {
    const nested = all.filter((m) => m.type === ValidationTypes.NESTED_VALIDATION);
    expect(nested.map(where)).toEqual(
      expect.arrayContaining(['SessionConfigDto.humanize', 'SessionConfigDto.webhooks', 'CreateSessionDto.config', 'PatchSessionDto.config']),
    );
    const unguarded = nested
      .filter(
        (n) =>
          !all.some(
            (m) =>
              m.target === n.target &&
              m.propertyName === n.propertyName &&
              m.type === ValidationTypes.CUSTOM_VALIDATION &&
              storage.getTargetValidatorConstraints(m.constraintCls).some((c) => SHAPE_CONSTRAINTS.has(c.name)),
          ),
      )
      .map(where);
    expect(unguarded).toEqual([]);
  });

  it('never uses @IsOptional(), which lets null through (use @Optional())', () => {
    expect(all.filter((m) => m.type === ValidationTypes.CONDITIONAL_VALIDATION && m.name === 'isOptional').map(where)).toEqual([]);
  });
});

describe('shape helpers', () => {
  it('tells objects from arrays, null and primitives', () => {
    expect([{}, { a: 1 }, new (class X {})()].map(isObjectValue)).toEqual([true, true, true]);
    expect([[], null, undefined, 'x', 1, true].map(isObjectValue)).toEqual([false, false, false, false, false, false]);
    expect([null, [], 'x', 1, true, {}].map(describeValue)).toEqual(['null', 'an array', 'a string', 'a number', 'a boolean', 'an object']);
  });
});
