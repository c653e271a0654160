// Shared by the browser test scripts (web/e2e/*.mjs, run by web/e2e_test.go):
// Debian's Chromium through playwright-core, a guard that fails the test on
// any request leaving the server, any page error or CSP violation, and
// small assertion helpers.
import { chromium } from 'playwright-core';
import path from 'node:path';

export const [base, shotDir] = process.argv.slice(2);
if (!base || !shotDir) {
  console.error('usage: node SCRIPT.mjs BASE_URL SCREENSHOT_DIR');
  process.exit(2);
}
export const password = process.env.MUSTER_E2E_PASSWORD;
export const demoDir = process.env.MUSTER_E2E_DEMO;

export async function launch() {
  const args = ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'];
  // The test server's certificate comes from a local authority: Chromium
  // trusts that one key, by its hash, and no other bad certificate.
  if (process.env.MUSTER_E2E_SPKI) args.push('--ignore-certificate-errors-spki-list=' + process.env.MUSTER_E2E_SPKI);
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args });
}

// guard watches a page: every request must go to the server under test
// (or be a data:/blob: URL), and the page must raise no error and no
// Content-Security-Policy violation. problems() lists what went wrong.
export function guard(page) {
  const origin = new URL(base).origin;
  const found = [];
  page.on('request', (req) => {
    const u = req.url();
    if (u.startsWith('data:') || u.startsWith('blob:')) return;
    if (new URL(u).origin !== origin) found.push(`request left the server: ${u}`);
  });
  page.on('pageerror', (e) => found.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    const t = m.text();
    if (/Content.Security.Policy|Refused to/i.test(t)) found.push(`CSP: ${t}`);
    else if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(t)) found.push(`console error: ${t}`);
  });
  return { problems: () => found.slice() };
}

export function check(cond, msg) {
  if (!cond) throw new Error('check failed: ' + msg);
  console.log('ok: ' + msg);
}

export async function shot(page, name) {
  const file = path.join(shotDir, name + '.png');
  await page.screenshot({ path: file });
  console.log('screenshot: ' + file);
}

// main runs a test body with a browser, and exits non-zero on failure.
export async function main(body) {
  const browser = await launch();
  try {
    await body(browser);
    console.log('PASS');
  } catch (e) {
    console.error('FAIL: ' + (e && e.stack ? e.stack : e));
    process.exitCode = 1;
    // What the pages showed when it failed.
    let i = 0;
    for (const c of browser.contexts()) {
      for (const p of c.pages()) {
        await p.screenshot({ path: path.join(shotDir, `FAILED-${path.basename(process.argv[1], '.mjs')}-${i++}.png`) }).catch(() => {});
      }
    }
  } finally {
    await browser.close();
  }
}
