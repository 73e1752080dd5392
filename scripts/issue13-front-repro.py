#!/usr/bin/env python3
"""Reproduces issue #13 findings 1-4 (the HTTP front) against a vkspay-sandbox
binary and prints the figures docs/reliability.md quotes ("Hostile clients and
secrets (#13)"). Usage:

    scripts/issue13-front-repro.py SANDBOX_BIN 1|2|3|4 [--parallel N]

It starts the sandbox itself on 127.0.0.1:18191 (:memory: database), stops it
at the end, and is bounded in time: every socket has a timeout, every phase a
count. Finding 1 with --parallel N sends N bodies that each inflate to 1 GiB:
against a sandbox that inflates them (the one before #13) keep N at 1 or 2 on
a small machine.
"""
import argparse
import hashlib
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import zlib

PORT = 18191
KEY = "sandbox-demo-key-0123456789abcdef"


def signed(fields):
    f = dict(fields, merchantno="10001", timestamp=int(time.time()), version="2.0",
             signaturenonce="".join(random.choice("123456789") for _ in range(8)))
    canon = "&".join(f"{k}={f[k]}" for k in sorted(f)) + "&key=" + KEY
    f["sign"] = hashlib.md5(canon.encode()).hexdigest()
    return json.dumps(f).encode()


def post(body, extra=b""):
    return (b"POST /api HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
            extra + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


class Sandbox:
    def __init__(self, binary):
        self.proc = subprocess.Popen(
            [binary, "--listen", f"127.0.0.1:{PORT}", "--db", ":memory:", "--quiet"],
            stdout=subprocess.DEVNULL, stderr=open("/tmp/issue13-front.log", "w"))
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", PORT), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        sys.exit("the sandbox did not start")

    def kib(self, field):  # VmRSS or VmHWM (peak) of the sandbox, KiB
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
        return 0

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def read_answers(sock, want, timeout):
    """Reads up to `want` HTTP responses; returns [(status, body)]."""
    sock.settimeout(0.2)
    buf, out, end = b"", [], time.monotonic() + timeout
    while len(out) < want and time.monotonic() < end:
        while b"\r\n\r\n" in buf and len(out) < want:
            head, rest = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            length = 0
            for h in lines[1:]:
                if h.lower().startswith("content-length:"):
                    length = int(h.split(":", 1)[1])
            if len(rest) < length:
                break
            out.append((int(lines[0].split()[1]), rest[:length]))
            buf = rest[length:]
        if len(out) >= want:
            break
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    return out


def query_once(timeout=2.0):
    """One orderquery on a fresh connection; its latency in ms, or None."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
        s.sendall(post(signed({"method": "orderquery", "out_trade_no": "FRONT-1"})))
        answers = read_answers(s, 1, timeout)
        s.close()
        return (time.monotonic() - t0) * 1000 if answers else None
    except OSError:
        return None


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def finding1(sb, parallel):
    print(f"building a gzip body that inflates to 1 GiB ...", flush=True)
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    body = b"".join(z.compress(block) for _ in range(1024)) + z.flush()
    before = sb.kib("VmRSS")
    results = [None] * parallel

    def one(i):
        t0 = time.monotonic()
        try:
            s = socket.create_connection(("127.0.0.1", PORT), timeout=60)
            s.sendall(post(body, b"Content-Encoding: gzip\r\n"))
            a = read_answers(s, 1, 60)
            results[i] = (a[0][0] if a else "no answer", (time.monotonic() - t0) * 1000)
        except OSError as e:
            results[i] = (f"error: {e}", (time.monotonic() - t0) * 1000)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted({str(r[0]) for r in results})
    print(f"{parallel} x {len(body) / 1e6:.2f} MB gzip bodies (1 GiB inflated): answers "
          f"{', '.join(statuses)}; slowest after {max(r[1] for r in results):.0f} ms; "
          f"RSS {before // 1024} MiB before, peak {sb.kib('VmHWM') // 1024} MiB")


def finding2(sb):
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    s.sendall(post(signed({"method": "webpay", "out_trade_no": "FRONT-1", "total_fee": "0.01",
                           "notify_url": "http://127.0.0.1:9/n"})))
    read_answers(s, 1, 5)
    s.close()
    base = [q for q in (query_once() for _ in range(50)) if q is not None]
    print(f"healthy orderquery alone: p50 {pct(base, 50):.2f} ms p99 {pct(base, 99):.2f} ms")

    # Half a request line: how long until the server answers or closes?
    h = socket.create_connection(("127.0.0.1", PORT), timeout=30)
    h.sendall(b"POST /api HT")
    t0 = time.monotonic()
    got = read_answers(h, 1, 30)
    print(f"half a request line: {'HTTP ' + str(got[0][0]) if got else 'closed without answer'} "
          f"after {(time.monotonic() - t0) * 1000:.0f} ms")
    h.close()

    idle = []
    for _ in range(1000):
        try:
            idle.append(socket.create_connection(("127.0.0.1", PORT), timeout=2))
        except OSError:
            break
    trickling = []
    for _ in range(256):
        try:
            c = socket.create_connection(("127.0.0.1", PORT), timeout=2)
            c.sendall(b"P")
            trickling.append(c)
        except OSError:
            break
    stop = threading.Event()

    def trickle():
        head = b"OST /api HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 400
        i = 0
        while not stop.is_set() and i < len(head):
            for c in trickling:
                try:
                    c.send(head[i:i + 1])
                except OSError:
                    pass
            i += 1
            stop.wait(1.0)

    t = threading.Thread(target=trickle)
    t.start()
    time.sleep(0.5)
    lat = []  # 200 orderqueries, or until 10 in a row went unanswered
    while len(lat) < 200 and not (len(lat) >= 10 and all(q is None for q in lat[-10:])):
        lat.append(query_once())
    ok = [q for q in lat if q is not None]
    print(f"with {len(idle)} idle and {len(trickling)} trickling connections: "
          f"{len(ok)}/{len(lat)} orderqueries answered within 2 s" +
          (f", p50 {pct(ok, 50):.2f} ms p99 {pct(ok, 99):.2f} ms" if ok else ""))
    stop.set()
    t.join()
    for c in idle + trickling:
        c.close()

    # A merchant's keep-alive pool of 64 connections: each stays open and sends
    # an orderquery every 50 ms, 20 times (1 s if the server keeps up).
    time.sleep(0.5)
    counts, lats = [0] * 64, []
    lock = threading.Lock()

    def pool_member(i):
        try:
            c = socket.create_connection(("127.0.0.1", PORT), timeout=5)
            for _ in range(20):
                t0 = time.monotonic()
                c.sendall(post(signed({"method": "orderquery", "out_trade_no": "FRONT-1"})))
                if not read_answers(c, 1, 5):
                    break
                with lock:
                    lats.append((time.monotonic() - t0) * 1000)
                counts[i] += 1
                time.sleep(0.05)
            c.close()
        except OSError:
            pass

    t0 = time.monotonic()
    members = [threading.Thread(target=pool_member, args=(i,)) for i in range(64)]
    for m in members:
        m.start()
    for m in members:
        m.join()
    secs = time.monotonic() - t0
    print(f"keep-alive pool of 64 x 20 orderqueries, 50 ms apart: {sum(counts)}/1280 answered in {secs:.2f} s "
          f"({sum(counts) / secs:.0f}/s)" +
          (f", p50 {pct(lats, 50):.1f} ms p99 {pct(lats, 99):.1f} ms" if lats else ""))


def finding3(sb):
    batch = b"".join(post(signed({"method": "webpay", "out_trade_no": f"PIPE-{i}",
                                  "total_fee": "0.01", "notify_url": "http://127.0.0.1:9/n"}))
                     for i in (1, 2, 3))
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    s.sendall(batch)
    answers = read_answers(s, 3, 3)
    s.close()
    names = [json.loads(b).get("data", {}).get("out_trade_no", "?") for st, b in answers if st == 200]
    print(f"three webpays in one write: {len(answers)} answered ({', '.join(names) or 'none'})")
    for extra, what in ((b"Transfer-Encoding: chunked\r\n", "Content-Length + Transfer-Encoding"),
                        (b"Content-Length: 7\r\n", "two different Content-Lengths")):
        s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
        s.sendall(post(signed({"method": "webpay", "out_trade_no": "SMUGGLE-1", "total_fee": "0.01",
                               "notify_url": "http://127.0.0.1:9/n"}), extra))
        a = read_answers(s, 1, 3)
        print(f"{what}: {'HTTP ' + str(a[0][0]) + ' ' + a[0][1][:80].decode('utf-8', 'replace') if a else 'no answer'}")
        s.close()


def finding4(sb, headers):
    before = sb.kib("VmRSS")
    head = (b"POST /api HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
            b"".join(b"X-H%d: v\r\n" % i for i in range(headers)))
    body = signed({"method": "orderquery", "out_trade_no": "NONE-1"})
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", PORT), timeout=60)
    try:
        s.sendall(head + b"Content-Type: application/json\r\nContent-Length: " +
                  str(len(body)).encode() + b"\r\n\r\n" + body)
    except OSError:
        pass  # the server may close before it has read everything
    a = read_answers(s, 1, 60)
    s.close()
    time.sleep(0.3)
    print(f"{headers} headers ({len(head) / 1e6:.1f} MB): "
          f"{'HTTP ' + str(a[0][0]) if a else 'no answer'} after {(time.monotonic() - t0) * 1000:.0f} ms; "
          f"RSS {before // 1024} MiB before, {sb.kib('VmRSS') // 1024} MiB after, "
          f"peak {sb.kib('VmHWM') // 1024} MiB")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("sandbox")
    p.add_argument("finding", type=int, choices=(1, 2, 3, 4))
    p.add_argument("--parallel", type=int, default=16, help="finding 1: bodies sent at once")
    p.add_argument("--headers", type=int, default=1_000_000, help="finding 4: header count")
    a = p.parse_args()
    sb = Sandbox(a.sandbox)
    try:
        {1: lambda: finding1(sb, a.parallel), 2: lambda: finding2(sb), 3: lambda: finding3(sb),
         4: lambda: finding4(sb, a.headers)}[a.finding]()
    finally:
        sb.stop()


if __name__ == "__main__":
    main()
