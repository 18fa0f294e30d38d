import { ValidateBy, type ValidationArguments } from 'class-validator';

/**
 * Length in characters, meaning Unicode code points: a surrogate pair is one character, a
 * variation selector is one more. (class-validator's own length rules don't count variation
 * selectors, so `x\uFE0F` repeated would pass twice the limit.)
 */
export function charCount(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}

/** `min` to `max` characters; `max` may depend on the DTO being validated (see TextDto). */
export const CharLength = (min: number, max: (args: ValidationArguments) => number) =>
  ValidateBy({
    name: 'charLength',
    validator: {
      validate(value, args) {
        if (typeof value !== 'string') return false;
        const limit = max(args!);
        // Code points never outnumber UTF-16 units, so most strings need no count.
        if (value.length <= limit) return value.length >= min;
        return charCount(value) <= limit;
      },
      defaultMessage: (args) => `${args!.property} must be ${min} to ${max(args!)} characters long`,
    },
  });
