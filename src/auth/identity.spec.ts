import { grants, identityOf, SUB_MAX_LENGTH } from './identity';

const exp = 1_900_000_000;

describe(identityOf.name, () => {
  it('takes sub as the user and, without a name, as the display name', () => {
    expect(identityOf({ sub: 'u1', exp })).toMatchObject({ user: 'u1', name: 'u1', exp });
    expect(identityOf({ sub: 'u1', name: 'Ann', exp })).toMatchObject({ user: 'u1', name: 'Ann' });
  });

  it.each([
    [{ exp }, /"sub"/],
    [{ sub: '', exp }, /"sub"/],
    [{ sub: 7, exp }, /"sub"/],
    [{ sub: 'x'.repeat(SUB_MAX_LENGTH + 1), exp }, /"sub"/],
    [{ sub: 'a\u202eb', exp }, /"sub"/],
    [{ sub: 'u', name: '', exp }, /"name"/],
    [{ sub: 'u', name: 'x'.repeat(33), exp }, /"name"/],
    [{ sub: 'u', name: ['Ann'], exp }, /"name"/],
    [{ sub: 'u' }, /"exp"/],
    [{ sub: 'u', exp, rooms: 'private:*' }, /"rooms"/],
    [{ sub: 'u', exp, rooms: ['private:a', 3] }, /"rooms"/],
    [{ sub: 'u', exp, rooms: ['private:*:x'] }, /"rooms"/],
    [{ sub: 'u', exp, rooms: ['^private:.*$'] }, /"rooms"/],
    [{ sub: 'u', exp, rooms: Array.from({ length: 257 }, (_, i) => `r${i}`) }, /"rooms"/],
  ])('refuses claims %j, naming the claim', (claims, claim) => {
    expect(identityOf(claims)).toMatch(claim);
  });
});

describe(grants.name, () => {
  const rooms = (claim: string[]) => {
    const identity = identityOf({ sub: 'u', exp, rooms: claim });
    if (typeof identity === 'string') throw new Error(identity);
    return identity.rooms;
  };

  it.each([
    [['private:team-7:*'], 'private:team-7:a', true],
    [['private:team-7:*'], 'private:team-70', false],
    [['private:team-7:*'], 'Private:team-7:a', false],
    [['private:team-7'], 'private:team-7', true],
    [['private:team-7'], 'private:team-7:a', false],
    [['*'], 'anything', true],
    [[], 'private:a', false],
    [['private:a', 'private:b:*'], 'private:b:c', true],
  ])('%j grants %s: %s', (claim, room, expected) => {
    expect(grants(rooms(claim), room)).toBe(expected);
  });
});
