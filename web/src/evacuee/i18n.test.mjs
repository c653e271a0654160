import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TABLES, KEYS, t, langOf, LANGS } from './i18n.js';

const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('every label is in every language, with the same placeholders', () => {
  for (const [lang, table] of Object.entries(TABLES)) {
    assert.deepEqual(Object.keys(table).sort(), [...KEYS].sort(), `${lang}: keys`);
    for (const k of KEYS) assert.deepEqual(placeholders(table[k]), placeholders(TABLES.en[k]), `${lang}.${k}: placeholders`);
  }
});

test('Dari and Pashto are right to left and written in Arabic script', () => {
  for (const lang of ['fa', 'ps']) {
    assert.equal(LANGS[lang].dir, 'rtl');
    for (const k of KEYS) assert.ok(/[\u0600-\u06ff]/.test(TABLES[lang][k]), `${lang}.${k} has no Arabic-script letter`);
  }
  assert.equal(LANGS.fa.tag, 'fa-AF');
});

test('placeholders are filled; unknown languages are English', () => {
  assert.equal(t('en', 'superseded', { n: 3 }).includes('version 3'), true);
  assert.equal(langOf('de'), 'en');
  assert.equal(langOf('ps'), 'ps');
});
