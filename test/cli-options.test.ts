import { expect } from 'chai';
import { InvalidArgumentError } from 'commander';
import { integer, positiveInteger, wholeNumber } from '../src/cli-options.ts';

describe('option parsers', () => {
  it('read decimal whole numbers', () => {
    expect(integer('16')).to.equal(16);
    expect(integer('-4')).to.equal(-4);
    expect(wholeNumber('0')).to.equal(0);
    expect(positiveInteger('125')).to.equal(125);
  });

  for (const value of ['0x10', '1e3', '1.5', '', ' ', 'abc', '99999999999999999999']) {
    it(`reject ${JSON.stringify(value)}`, () => {
      expect(() => integer(value)).to.throw(InvalidArgumentError, 'expected a whole number');
    });
  }

  it('reject values below their range', () => {
    expect(() => wholeNumber('-1')).to.throw(InvalidArgumentError, 'non-negative');
    expect(() => positiveInteger('0')).to.throw(InvalidArgumentError, 'positive');
  });
});
