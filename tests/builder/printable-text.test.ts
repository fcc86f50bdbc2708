import { test } from 'node:test';
import assert from 'node:assert/strict';
import { printableLine, printableText } from '../../src/builder/printable-text.js';

test('control sequences a build prints become visible escapes; text, newlines (in a tail) and non-ASCII stay', () => {
  assert.equal(printableLine('Error: \u001b[2J\u001b]0;title\u0007 done'), 'Error: \\x1b[2J\\x1b]0;title\\x07 done');
  assert.equal(printableLine('a\nb\tc\rd\u007f\u009b'), 'a\\x0ab\\x09c\\x0dd\\x7f\\x9b');
  assert.equal(printableText('line 1\n\tline 2\u001b[31m red\n'), 'line 1\n\tline 2\\x1b[31m red\n');
  assert.equal(printableLine('Erreur : « valeur » non liée — ok'), 'Erreur : « valeur » non liée — ok');
});
