import type { Type } from '@nestjs/common';
import { getMetadataStorage, type ValidationArguments } from 'class-validator';

type Check = (object: object, value: unknown) => boolean;
/** Returns the DTO when every rule passes; undefined means "ask class-validator". */
export type FastValidator = (plain: Record<string, unknown>) => object | undefined;

const CUSTOM = 'customValidation';
const CONDITIONAL = 'conditionalValidation'; // @IsOptional, @ValidateIf
const EMPTY = Object.freeze({});

/**
 * Compiles a DTO's class-validator rules into a plain function for the valid case, which
 * is nearly every frame. It calls the very same constraint functions class-validator
 * would, in the same order and with the same arguments, but skips what a passing frame
 * doesn't need: per-call metadata lookups, error objects, promises and class-transformer
 * (plain fields become the DTO's own, as plainToInstance does for undecorated properties).
 * A frame it refuses goes to the full ValidationPipe for the error details, so it can only
 * ever accept what class-validator accepts. DTOs using anything it does not model (nested or
 * async rules, `each`, groups) get no fast path: undefined.
 */
export function compileValidator(dto: Type): FastValidator | undefined {
  const storage = getMetadataStorage();
  const metadatas = storage.getTargetValidationMetadatas(dto, '', false, false);
  if (metadatas.length === 0) return undefined; // forbidUnknownValues refuses these anyway
  const properties = new Map<string, { conditions: Check[]; checks: Check[] }>();
  for (const m of metadatas) {
    if (
      (m.type !== CUSTOM && m.type !== CONDITIONAL) ||
      m.each ||
      m.validateIf ||
      m.groups?.length ||
      m.always
    ) {
      return undefined;
    }
    const property = properties.get(m.propertyName) ?? { conditions: [], checks: [] };
    properties.set(m.propertyName, property);
    if (m.type === CONDITIONAL) {
      property.conditions.push(m.constraints[0] as Check);
      continue;
    }
    for (const constraint of storage.getTargetValidatorConstraints(m.constraintCls)) {
      if (constraint.async) return undefined;
      const validator = constraint.instance;
      // One arguments object per rule, filled in per call: checks are synchronous and
      // never re-entered, so no frame sees another's object or value.
      const args: ValidationArguments = {
        targetName: dto.name,
        property: m.propertyName,
        object: EMPTY,
        value: undefined,
        constraints: m.constraints,
      };
      property.checks.push((object, value) => {
        args.object = object;
        args.value = value;
        const passed = validator.validate(value, args) === true;
        args.object = EMPTY; // hold no frame's data between calls
        args.value = undefined;
        return passed;
      });
    }
  }
  const rules = [...properties].map(([name, p]) => ({ name, ...p }));
  return (plain) => {
    const instance = Object.assign(new dto(), plain) as Record<string, unknown>;
    for (const { name, conditions, checks } of rules) {
      const value = instance[name];
      if (!all(conditions, instance, value)) continue;
      if (!all(checks, instance, value)) return undefined;
    }
    return instance;
  };
}

// A plain loop: Array#every with a fresh closure per call is measurable at one call per frame.
function all(checks: Check[], object: object, value: unknown): boolean {
  for (const check of checks) if (!check(object, value)) return false;
  return true;
}
