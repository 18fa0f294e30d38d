import { ValidateBy, type ValidationArguments } from 'class-validator';

/** The entries of a comma-separated variable, spaces around each trimmed. */
export function splitList(value: string): string[] {
  return value.split(',').map((entry) => entry.trim());
}

/**
 * A comma-separated list each of whose entries `problem` finds nothing wrong with. The failure
 * names the variable and the first bad entry, with what is wrong with it.
 */
export function IsEntryList(problem: (entry: string) => string | undefined): PropertyDecorator {
  const firstProblem = (value: unknown) =>
    typeof value === 'string'
      ? splitList(value)
          .map(problem)
          .find((found) => found !== undefined)
      : 'not text';
  return ValidateBy({
    name: 'isEntryList',
    validator: {
      validate: (value) => firstProblem(value) === undefined,
      defaultMessage: (args?: ValidationArguments) => `${args!.property}: ${firstProblem(args!.value)}`,
    },
  });
}

/** A value `problem` finds nothing wrong with; the failure is what it says (naming the variable). */
export function HasNoProblem(problem: (value: string) => string | undefined): PropertyDecorator {
  const found = (value: unknown) => (typeof value === 'string' ? problem(value) : 'not text');
  return ValidateBy({
    name: 'hasNoProblem',
    validator: {
      validate: (value) => found(value) === undefined,
      defaultMessage: (args?: ValidationArguments) => found(args!.value) ?? '',
    },
  });
}
