#!/usr/bin/env node
// A VksPay client written the way the official sample is (VksPay/VksPay,
// cloud object `vkspay-test`): the API host hard-coded, the sample's
// signing (JSON body, keys sorted, String(value), &key=, MD5) and a plain
// fetch. Only mchId and key are configurable, as in vk-uni-pay. Nothing
// here knows about the sandbox: tls/unmodified_client_test.sh runs it
// unmodified against vkspay-sandbox --tls-self-signed (README "Unmodified
// code"), with the name mapped in /etc/hosts and the CA trusted through
// NODE_EXTRA_CA_CERTS.
//
//   VKSPAY_MCHID=10001 VKSPAY_KEY=... node sample_client.js
//
// Runs webpay, micropay, orderquery, orderrefund and orderrefundquery; prints
// one line per call and exits 0 only if every call answered SUCCESS.
'use strict';
const crypto = require('crypto');

const API_URL = 'https://vk-spay-openapi.fsq.pub/api';
const config = {
  mchId: process.env.VKSPAY_MCHID || '10001',
  key: process.env.VKSPAY_KEY || 'sandbox-demo-key-0123456789abcdef',
};

function sign(data, key) {
  const names = Object.keys(data).filter((k) => k !== 'sign' && data[k] !== undefined);
  names.sort();
  const str = names.map((k) => `${k}=${String(data[k])}`).join('&') + `&key=${key}`;
  return crypto.createHash('md5').update(str, 'utf8').digest('hex');
}

function nonce() {
  let s = '';
  for (let i = 0; i < 8; i++) s += String(1 + crypto.randomInt(9));
  return s;
}

async function request(method, params) {
  const data = {
    method,
    merchantno: config.mchId,
    timestamp: Math.floor(Date.now() / 1000),
    signaturenonce: nonce(),
    version: '2.0',
    ...params,
  };
  data.sign = sign(data, config.key);
  const res = await fetch(API_URL, {
    method: 'POST',
    headers: {'Content-Type': 'application/json; charset=utf-8'},
    body: JSON.stringify(data),
  });
  return res.json();
}

function expect(what, cond, answer) {
  if (!cond) {
    console.error(`FAIL ${what}: ${JSON.stringify(answer)}`);
    process.exit(1);
  }
}

async function main() {
  const suffix = Date.now().toString(36) + crypto.randomInt(1e6).toString(36);

  const web = await request('webpay', {
    out_trade_no: `W${suffix}`,
    total_fee: 0.01,
    subject: '测试',
    notify_url: 'http://127.0.0.1:9/notify',
  });
  expect('webpay', web.return_code === 'SUCCESS', web);
  console.log(`webpay ${web.return_code} ${web.data.out_trade_no} qrcode ${web.data.qrcode}`);

  const micro = await request('micropay', {
    out_trade_no: `M${suffix}`,
    total_fee: 0.02,
    pay_chnl: 'wxpay',
    client_ip: '127.0.0.1',
    auth_code: '134567890123456789',
    cashier: '',
    kuantai: '',
    source: '',
    pay_cate: 'pay',
  });
  expect('micropay', micro.return_code === 'SUCCESS' && micro.data.status === 'SUCCESS', micro);
  console.log(`micropay ${micro.return_code} ${micro.data.out_trade_no} ${micro.data.status}`);

  const query = await request('orderquery', {out_trade_no: micro.data.out_trade_no});
  expect('orderquery', query.return_code === 'SUCCESS' && query.data.status === 'SUCCESS', query);
  console.log(`orderquery ${query.return_code} ${query.data.status}`);

  const refund = await request('orderrefund', {
    out_trade_no: micro.data.out_trade_no,
    refund_fee: 0.01,
  });
  expect('orderrefund', refund.return_code === 'SUCCESS' && refund.out_refund_no, refund);
  console.log(`orderrefund ${refund.return_code} ${refund.out_refund_no}`);

  const rq = await request('orderrefundquery', {
    out_trade_no: micro.data.out_trade_no,
    out_refund_no: refund.out_refund_no,
  });
  expect('orderrefundquery', rq.return_code === 'SUCCESS' && rq.data.status === 'SUCCESS', rq);
  console.log(`orderrefundquery ${rq.return_code} ${rq.data.status}`);
}

main().catch((e) => {
  console.error(`FAIL ${API_URL}: ${e.message}${e.cause ? ` (${e.cause.code || e.cause.message})` : ''}`);
  process.exit(1);
});
