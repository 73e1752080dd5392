#!/usr/bin/env python3
# Issue #18 finding: one-byte chunks filling the front buffer made a worker spin until the
# body deadline. Usage: scripts/issue18-chunk-spin-repro.py PORT SANDBOX_PID (a sandbox on
# 127.0.0.1:PORT). Prints the CPU the sandbox used while the client waited, and its answer.
import socket, sys, time, os
port=int(sys.argv[1]); pid=int(sys.argv[2])
s=socket.create_connection(("127.0.0.1",port))
s.sendall(b"POST /api HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
chunk=b"1\r\nX\r\n"*100000   # 600 KB raw, 100 KB decoded
def cpu():
    f=open(f"/proc/{pid}/stat").read().split(")")[1].split()
    return (int(f[11])+int(f[12]))/os.sysconf("SC_CLK_TCK")
sent=0
s.settimeout(0.5)
try:
    for i in range(20):
        s.sendall(chunk); sent+=len(chunk)
except Exception as e: print("send stopped", e)
c0=cpu(); t0=time.time()
time.sleep(3)
print(f"raw sent {sent} bytes; sandbox CPU over 3 s idle wait: {cpu()-c0:.2f} s")
s.settimeout(15)
try: print(s.recv(300)[:120])
except Exception as e: print("recv", e)
print(f"answer after {time.time()-t0:.1f} s")
