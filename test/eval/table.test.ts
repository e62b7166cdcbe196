import { expect } from 'chai';
import { formatCount, formatFixed, formatPercent, markdownTable, type Column } from '../../src/eval/table.ts';

interface Row {
  name: string;
  value: number;
}

const COLUMNS: Column<Row>[] = [
  { header: 'name', align: 'left', cell: (row) => row.name },
  { header: 'value', align: 'right', cell: (row) => formatFixed(row.value) },
];

describe('markdown table', () => {
  it('pads and aligns columns', () => {
    const table = markdownTable(COLUMNS, [
      { name: 'a', value: 1 },
      { name: 'longer name', value: 123.456 },
    ]);
    expect(table).to.equal(
      [
        '| name        |  value |',
        '| ----------- | -----: |',
        '| a           |   1.00 |',
        '| longer name | 123.46 |',
        '',
      ].join('\n'),
    );
  });

  it('escapes pipes and line breaks in cells', () => {
    const table = markdownTable(COLUMNS, [{ name: 'a|b\nc', value: 0 }]);
    expect(table.split('\n')[2]).to.equal('| a\\|b c |  0.00 |');
  });

  it('keeps a header-only table valid', () => {
    expect(markdownTable(COLUMNS, [])).to.equal('| name | value |\n| ---- | ----: |\n');
  });
});

describe('number formats', () => {
  it('formats fixed decimals without negative zero', () => {
    expect(formatFixed(41.058)).to.equal('41.06');
    expect(formatFixed(-0.001)).to.equal('0.00');
    expect(formatFixed(-2.1, 1)).to.equal('-2.1');
    expect(formatFixed(undefined)).to.equal('n/a');
    expect(formatFixed(Number.NaN)).to.equal('n/a');
  });

  it('groups thousands', () => {
    expect(formatCount(1_374_104.4)).to.equal('1,374,104');
    expect(formatCount(950)).to.equal('950');
    expect(formatCount(1234.5, 1)).to.equal('1,234.5');
    expect(formatCount(undefined)).to.equal('n/a');
  });

  it('formats shares as percentages', () => {
    expect(formatPercent(0.0243, 2)).to.equal('2.43 %');
    expect(formatPercent(1)).to.equal('100.0 %');
    expect(formatPercent(-0.021)).to.equal('-2.1 %');
    expect(formatPercent(undefined)).to.equal('n/a');
  });
});
