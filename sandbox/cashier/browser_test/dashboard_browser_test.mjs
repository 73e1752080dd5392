// End-to-end test of the dashboard (/_sandbox/ui/) in headless Chromium
// (Debian's package, driven by playwright-core, as the cashier test): start
// the sandbox binary on a free port and a notification receiver in this
// process, create orders with webpay signed here by Node's crypto (one with a
// hostile subject, attach and notify_url), then in the browser: the orders
// page, the order page, pay, refund, resend, the notifications page, the
// clock (advance, reset), faults, merchants, `/` linking to the dashboard,
// and with a control token the login form. After each action the DOM is
// checked; no hostile string may run (window.__pwned stays undefined) and
// each must show literally. Screenshots of every page at 1280 and 390 px
// wide go to the directory given as the second argument (default: a
// temporary directory).
//
//   node dashboard_browser_test.mjs <path/to/vkspay-sandbox> [screenshot dir]
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const KEY = 'sandbox-demo-key-0123456789abcdef';
const sandboxBin = process.argv[2];
if (!sandboxBin) throw new Error('usage: node dashboard_browser_test.mjs <vkspay-sandbox> [dir]');
const shots = process.argv[3] || fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-shots-'));
fs.mkdirSync(shots, { recursive: true });

const HOSTILE_SUBJECT = '<script>window.__pwned=1</script>中文商品「测试」';
const HOSTILE_ATTACH = '"><img src=x onerror="window.__pwned=1">';

function sign(body) {
  const s = Object.keys(body).filter((k) => k !== 'sign').sort()
      .map((k) => `${k}=${String(body[k])}`).join('&') + `&key=${KEY}`;
  return crypto.createHash('md5').update(s, 'utf8').digest('hex');
}
function nonce() {
  let s = '';
  for (let i = 0; i < 8; i++) s += String(1 + crypto.randomInt(9));
  return s;
}
async function api(base, method, fields) {
  const body = { ...fields, method, merchantno: '10001', timestamp: Math.floor(Date.now() / 1000),
                 signaturenonce: nonce(), version: '2.0' };
  body.sign = sign(body);
  const res = await fetch(`${base}/api`, { method: 'POST',
      headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) });
  return res.json();
}
function check(cond, what) {
  if (!cond) throw new Error(`FAILED: ${what}`);
  console.log(`ok - ${what}`);
}

// Starts the sandbox; resolves to its base URL.
function startSandbox(extra) {
  const child = spawn(sandboxBin, ['--listen', '127.0.0.1:0', '--db', ':memory:', '--quiet', ...extra],
                      { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`sandbox exited ${code}`)));
  });
}

// A merchant's notify handler that acks every notification.
let received = 0;
const receiver = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    received++;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"code":"SUCCESS","message":"成功"}');
  });
});

const children = [];
const killer = setTimeout(() => {
  console.error('timeout');
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
}, 100000);
let browser;

// Reloads `page` until `fn` (run in the page) is true, up to `ms`.
async function reloadUntil(page, fn, ms, what, arg) {
  const end = Date.now() + ms;
  for (;;) {
    if (await page.evaluate(fn, arg)) return;
    if (Date.now() > end) {
      console.error((await page.textContent('body')).slice(0, 3000));
      throw new Error(`FAILED: timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 250));
    await page.reload();
  }
}

async function noInjection(page, where) {
  check(await page.evaluate(() => window.__pwned === undefined), `${where}: no hostile script ran`);
  check(await page.locator('img[src=x]').count() === 0, `${where}: no injected <img>`);
}

async function shoot(page, name, fullPage = false) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage });
}

try {
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const notifyBase = `http://127.0.0.1:${receiver.address().port}/notify`;
  const base = await startSandbox([]);

  // The quick start's order, paid and partly refunded through the API.
  const plain = await api(base, 'webpay', { total_fee: 1.00, subject: '咖啡一杯',
                                            notify_url: notifyBase });
  check(plain.return_code === 'SUCCESS', 'webpay (plain) answers SUCCESS');
  const plainNo = plain.data.out_trade_no;
  await fetch(`${base}/_sandbox/pay`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ out_trade_no: plainNo, channel: 'wxpay' }) });
  const r1 = await api(base, 'orderrefund', { out_trade_no: plainNo, refund_fee: 0.30 });
  check(r1.return_code === 'SUCCESS', 'API refund of the plain order');

  // Two whose notifications cannot be delivered: a dead port (retried, with
  // the error as its reason) and the sandbox's own address (blocked).
  for (const url of ['http://127.0.0.1:9/dead', `${base}/notify`]) {
    const o = await api(base, 'webpay', { total_fee: 0.01, subject: '送不到的通知', notify_url: url });
    check(o.return_code === 'SUCCESS', `webpay with notify_url ${url}`);
    await fetch(`${base}/_sandbox/pay`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ out_trade_no: o.data.out_trade_no, channel: 'alipay' }) });
  }

  // The hostile one: subject, attach and notify_url carry markup.
  const hostile = await api(base, 'webpay', {
    total_fee: 12.5, subject: HOSTILE_SUBJECT, attach: HOSTILE_ATTACH,
    notify_url: `${notifyBase}?x="><script>window.__pwned=1</script>` });
  check(hostile.return_code === 'SUCCESS', `webpay (hostile) answers SUCCESS: ${hostile.return_msg}`);
  const hostileNo = hostile.data.out_trade_no;

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const desktop = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await desktop.newPage();
  page.on('dialog', () => { throw new Error('FAILED: a dialog opened (alert from injected script?)'); });

  // `/` links to the dashboard.
  await page.goto(`${base}/`);
  await Promise.all([page.waitForNavigation(), page.click('#dashboard-link')]);
  check(new URL(page.url()).pathname === '/_sandbox/ui/', '/ links to /_sandbox/ui/');

  // Orders.
  check(await page.locator('.order-row').count() === 4, 'orders page lists the four orders');
  const firstRow = await page.locator('.order-row').first().textContent();
  check(firstRow.includes(hostileNo), 'newest order first');
  check((await page.textContent('#orders-table')).includes(HOSTILE_SUBJECT),
        'hostile subject shown literally');
  await noInjection(page, 'orders page');
  await shoot(page, 'dashboard-orders-1280');
  await page.selectOption('#filter-status', 'REFUND');
  await Promise.all([page.waitForNavigation(), page.click('#filter-submit')]);
  check(await page.locator('.order-row').count() === 1 &&
        (await page.textContent('#orders-table')).includes(plainNo), 'status filter: REFUND');
  await page.goto(`${base}/_sandbox/ui/?page=zero`);
  check((await page.textContent('#error-message')).includes('page must be a whole number'),
        'a bad page number is explained');

  // The hostile order's page.
  await page.goto(`${base}/_sandbox/ui/`);
  await Promise.all([page.waitForNavigation(), page.click(`a.order-link:has-text("${hostileNo}")`)]);
  const orderUrl = page.url();
  check((await page.textContent('#order-status')) === 'NOTPAY', 'order page: NOTPAY');
  check((await page.textContent('#f-subject')) === HOSTILE_SUBJECT, 'order page: subject literal');
  check((await page.textContent('#f-attach')) === HOSTILE_ATTACH, 'order page: attach literal');
  check((await page.textContent('#f-notify_url')).includes('<script>window.__pwned=1</script>'),
        'order page: notify_url literal');
  await noInjection(page, 'unpaid order page');

  // Pay.
  await Promise.all([page.waitForNavigation(), page.click('#pay-wxpay')]);
  check((await page.textContent('#order-status')) === 'SUCCESS', 'pay button: status SUCCESS');
  check((await page.textContent('#flash')).includes('SUCCESS'), 'pay button: flash message');
  check(await page.locator('section.notification').count() === 1, 'pay button: a notification appears');
  await reloadUntil(page, () => document.querySelectorAll('.attempt-row').length >= 1, 10000,
                    'the first delivery attempt');
  const statusCell = await page.locator('.attempt-status').first().textContent();
  check(statusCell === '200', 'attempt shows HTTP 200');
  check((await page.textContent('.attempt-row')).includes('SUCCESS'), 'attempt shows the answer');

  // Refund.
  await page.fill('#refund-fee', '0.30');
  await Promise.all([page.waitForNavigation(), page.click('#refund-submit')]);
  check(await page.locator('.refund-row').count() === 1, 'refund: a refund row');
  check((await page.textContent('#order-status')) === 'REFUND', 'refund: status REFUND');
  await page.fill('#refund-fee', '99');
  await Promise.all([page.waitForNavigation(), page.click('#refund-submit')]);
  check((await page.textContent('#flash')).includes('REFUND_EXCEEDS_PAID'),
        'refund above what is left: REFUND_EXCEEDS_PAID shown');
  check(await page.locator('.refund-row').count() === 1, 'refused refund adds no row');
  // The refusal was rendered as the POST's answer: back to the order's own URL.
  await page.goto(orderUrl);
  await reloadUntil(page, () => document.querySelectorAll('.attempt-row').length >= 2, 10000,
                    'the refund notification attempt');

  // Resend the payment notification: one more attempt.
  const before = await page.locator('.attempt-row').count();
  const resendPay = page.locator('section.notification:has(h3:has-text("payment")) button[id^=resend-]');
  await Promise.all([page.waitForNavigation(), resendPay.click()]);
  check((await page.textContent('#flash')).includes('queued again'), 'resend: flash message');
  await reloadUntil(page, (n) => document.querySelectorAll('.attempt-row').length > n, 10000,
                    'a new attempt after resend', before);
  const after = await page.locator('.attempt-row').count();
  check(after === before + 1, `resend: a new attempt (${before} -> ${after})`);
  await noInjection(page, 'paid order page');
  await shoot(page, 'dashboard-order-1280', true);

  // The quick start's order.
  await page.goto(`${base}/_sandbox/ui/order?merchantno=10001&out_trade_no=${plainNo}`);
  check(await page.locator('.refund-row').count() === 1, 'plain order: its refund');
  check(await page.locator('section.notification').count() === 2, 'plain order: payment and refund notifications');

  // Notifications.
  await page.goto(`${base}/_sandbox/ui/notifications`);
  const acked = Number(await page.textContent('#count-acked strong'));
  check(acked >= 3, `notifications page counts acked (${acked})`);
  check(await page.locator('.notification-row').count() === 6, 'notifications page lists all six');
  await reloadUntil(page, () => document.querySelector('#count-blocked strong').textContent === '1',
                    10000, 'the blocked notification');
  check((await page.textContent('#notifications-table')).includes('blocked'),
        'the blocked one is listed');
  await reloadUntil(page, () => [...document.querySelectorAll('.reason')]
                        .some((td) => td.textContent.includes('connection refused')), 10000,
                    'the dead port\'s error as a reason');
  check(true, 'the undeliverable one shows its error (connection refused) as the reason');
  await noInjection(page, 'notifications page');
  await shoot(page, 'dashboard-notifications-1280');
  const beforeAll = received;
  await Promise.all([page.waitForNavigation(), page.click('#resend-all-failed')]);
  check((await page.textContent('#flash')).includes('0 条 failed'), 'resend all failed: 0 (none failed)');
  check(received === beforeAll, 'nothing was resent');

  // Clock.
  await page.goto(`${base}/_sandbox/ui/clock`);
  await page.fill('#advance-seconds', '3600');
  await Promise.all([page.waitForNavigation(), page.click('#advance-submit')]);
  check((await page.textContent('#clock-offset')).startsWith('+3600.'), 'clock advanced by 3600 s');
  check((await page.textContent('#header-clock')).includes('+3600'), 'header shows the offset');
  await page.fill('#advance-seconds', '-1');
  await Promise.all([page.waitForNavigation(), page.click('#advance-submit')]);
  check((await page.textContent('#flash')).includes('seconds must be a number >= 0'),
        'a negative advance is explained');
  await Promise.all([page.waitForNavigation(), page.click('#reset-submit')]);
  check((await page.textContent('#clock-offset')) === '0 s', 'clock reset');
  await shoot(page, 'dashboard-clock-1280');

  // Faults and merchants.
  await page.goto(`${base}/_sandbox/ui/faults`);
  check(await page.locator('#fault-profile, #faults-off').count() === 1, 'faults page renders');
  await shoot(page, 'dashboard-faults-1280');
  await page.goto(`${base}/_sandbox/ui/merchants`);
  check((await page.textContent('#merchants-table')).includes('10001'), 'merchants page lists 10001');
  check(!(await page.content()).includes(KEY), 'merchants page never shows the key');
  await shoot(page, 'dashboard-merchants-1280');

  // Phone width.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 },
                                           deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  const p2 = await phone.newPage();
  for (const [name, url] of [
    ['orders', '/_sandbox/ui/'],
    ['order', `/_sandbox/ui/order?merchantno=10001&out_trade_no=${hostileNo}`],
    ['notifications', '/_sandbox/ui/notifications'], ['clock', '/_sandbox/ui/clock'],
    ['faults', '/_sandbox/ui/faults'], ['merchants', '/_sandbox/ui/merchants']]) {
    await p2.goto(`${base}${url}`);
    await noInjection(p2, `${name} at 390 px`);
    const overflow = await p2.evaluate(() => document.documentElement.scrollWidth);
    check(overflow <= 390, `${name} at 390 px: no sideways scrolling of the page (${overflow})`);
    await shoot(p2, `dashboard-${name}-390`, name === 'order');
  }

  // With a control token: the login form, then the cookie.
  const tokenBase = await startSandbox(['--control-token', 'browser-test-token-0123456789']);
  const p3 = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
  const denied = await p3.goto(`${tokenBase}/_sandbox/ui/`);
  check(denied.status() === 401 && await p3.locator('#login-form').count() === 1,
        'with a token: 401 and the login form');
  await p3.fill('#token', 'wrong');
  await Promise.all([p3.waitForNavigation(), p3.click('#login-submit')]);
  check((await p3.textContent('#login-error')).includes('wrong token'), 'a wrong token is refused');
  await p3.fill('#token', 'browser-test-token-0123456789');
  await Promise.all([p3.waitForNavigation(), p3.click('#login-submit')]);
  check(await p3.locator('#filter-form').count() === 1, 'the right token opens the orders page');
  const cookies = await p3.context().cookies();
  const c = cookies.find((x) => x.name === 'vkspay_ui');
  check(c && c.httpOnly && c.sameSite === 'Strict', 'the token cookie is HttpOnly, SameSite=Strict');
  await p3.goto(`${tokenBase}/_sandbox/ui/clock`);
  check(await p3.locator('#advance-form').count() === 1, 'the cookie keeps the session');
  await Promise.all([p3.waitForNavigation(), p3.click('#logout')]);
  check(await p3.locator('#login-form').count() === 1, 'log out returns to the login form');

  console.log(`screenshots in ${shots}`);
  console.log('all dashboard browser checks passed');
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  clearTimeout(killer);
  if (browser) await browser.close();
  for (const c of children) c.kill('SIGTERM');
  receiver.close();
}
