#!/usr/bin/env python3
"""Raw bytes through the bottle's proxy, as an attacker's own client would send them.

raw.py HOST PORT [--sni NAME] [--connect AUTHORITY] [--alpn LIST] [--insecure] [--plain] < request-bytes

CONNECTs through $HTTPS_PROXY (to AUTHORITY, default HOST:PORT), speaks TLS with
SNI NAME (default HOST), verified against the agent's trust store, writes stdin
verbatim and prints every byte that comes back until the server closes or goes
quiet. --plain writes stdin straight to the proxy instead. Exit 3 if the CONNECT
is refused (its answer printed), 4 if the TLS handshake fails.
"""
import argparse
import os
import socket
import ssl
import sys
from urllib.parse import urlparse

ap = argparse.ArgumentParser()
ap.add_argument('host')
ap.add_argument('port', type=int)
ap.add_argument('--sni')
ap.add_argument('--connect')
ap.add_argument('--alpn')
ap.add_argument('--plain', action='store_true')
ap.add_argument('--insecure', action='store_true', help='do not verify the certificate (to test what the proxy itself checks)')
ap.add_argument('--timeout', type=float, default=4.0)
a = ap.parse_args()

proxy = urlparse(os.environ.get('HTTPS_PROXY') or os.environ['https_proxy'])
s = socket.create_connection((proxy.hostname, proxy.port), timeout=a.timeout)
data = sys.stdin.buffer.read()


def drain(sock):
    out = b''
    try:
        while True:
            c = sock.recv(65536)
            if not c:
                break
            out += c
    except (socket.timeout, ssl.SSLError, ConnectionResetError):
        pass
    return out


if a.plain:
    s.sendall(data)
    sys.stdout.buffer.write(drain(s))
    sys.exit(0)

authority = a.connect or f'{a.host}:{a.port}'
s.sendall(f'CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n'.encode())
head = b''
while b'\r\n\r\n' not in head:
    c = s.recv(4096)
    if not c:
        break
    head += c
if not head.startswith(b'HTTP/1.1 200'):
    sys.stdout.buffer.write(head + drain(s))
    sys.exit(3)
ctx = ssl.create_default_context()
if a.insecure:
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
if a.alpn:
    ctx.set_alpn_protocols(a.alpn.split(','))
try:
    t = ctx.wrap_socket(s, server_hostname=a.sni or a.host)
except (ssl.SSLError, OSError) as e:
    print(f'tls-failed: {e}')
    sys.exit(4)
if a.alpn:
    print(f'alpn: {t.selected_alpn_protocol()}', file=sys.stderr)
try:
    t.sendall(data)
except OSError:
    pass
sys.stdout.buffer.write(drain(t))
