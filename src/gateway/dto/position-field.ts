import { ValidateBy } from 'class-validator';

export const EPOCH_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** `{"epoch":"...","offset":N}`: a position the server gave (an epoch, and a whole offset from 0). */
export const IsPosition = () =>
  ValidateBy({
    name: 'isPosition',
    validator: {
      validate(value) {
        if (typeof value !== 'object' || value === null) return false;
        const { epoch, offset } = value as { epoch?: unknown; offset?: unknown };
        return (
          typeof epoch === 'string' &&
          EPOCH_PATTERN.test(epoch) &&
          Number.isSafeInteger(offset) &&
          (offset as number) >= 0
        );
      },
      defaultMessage: (args) =>
        `${args!.property} must be {"epoch":"<1 to 64 of A-Za-z0-9_->","offset":<whole number from 0>}, as joined or a message gave it`,
    },
  });
