// End-to-end test of the cashier page in headless Chromium (Debian's package,
// driven by playwright-core): start the sandbox binary on a free port, create
// an order with a webpay signed here by Node's crypto (not our C++ signer),
// open the payment link, click "微信支付", and check through a signed
// orderquery that the order is paid.
//
//   node cashier_browser_test.mjs <path/to/vkspay-sandbox>
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { chromium } from 'playwright-core';

const KEY = 'sandbox-demo-key-0123456789abcdef';
const sandboxBin = process.argv[2];
if (!sandboxBin) throw new Error('usage: node cashier_browser_test.mjs <vkspay-sandbox>');

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

const sandbox = spawn(sandboxBin, ['--listen', '127.0.0.1:0', '--db', ':memory:', '--quiet'],
                      { stdio: ['ignore', 'pipe', 'inherit'] });
const killer = setTimeout(() => { console.error('timeout'); sandbox.kill('SIGKILL'); process.exit(1); }, 60000);
let browser;
try {
  const base = await new Promise((resolve, reject) => {
    let out = '';
    sandbox.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    sandbox.on('exit', (code) => reject(new Error(`sandbox exited ${code}`)));
  });
  const order = await api(base, 'webpay', { total_fee: 0.01, subject: '浏览器测试商品',
                                            notify_url: 'http://127.0.0.1:9/notify' });
  check(order.return_code === 'SUCCESS', 'webpay answers SUCCESS');
  const no = order.data.out_trade_no;
  const before = await api(base, 'orderquery', { out_trade_no: no });
  check(before.return_code === 'FAIL' && before.data.status === 'NOTPAY', 'unpaid before the click');

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  await page.goto(order.data.qrcode);
  check((await page.textContent('body')).includes('浏览器测试商品'), 'cashier page shows the subject');
  check(await page.locator('svg').count() > 0, 'cashier page shows a QR code');
  check((await page.textContent('body')).includes('0.01'), 'cashier page shows the amount');
  await Promise.all([page.waitForNavigation(), page.click('#pay-wxpay')]);
  check((await page.textContent('#status')).includes('SUCCESS'), 'page shows the order paid');
  check(await page.locator('#pay-wxpay').count() === 0, 'no pay buttons once paid');

  const after = await api(base, 'orderquery', { out_trade_no: no });
  check(after.return_code === 'SUCCESS' && after.data.status === 'SUCCESS' &&
        after.data.pay_chnl === 'wxpay', 'orderquery says paid through wxpay');
  console.log('all cashier browser checks passed');
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  sandbox.kill('SIGTERM');
  clearTimeout(killer);
}
