#!/usr/bin/env python3
# tests/interop/python_client.py: Python's ssl module as a client of snow's HTTPS server, for
# the interop suite. Usage: python_client.py PORT CA_FILE NAME. Connects to 127.0.0.1:PORT,
# names NAME by SNI and checks the certificate for it against CA_FILE; prints one line per
# check, which the suite compares with what it expects, and exits 1 on the first surprise.
import hashlib
import socket
import ssl
import sys

port, ca_file, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def context(version):
    ctx = ssl.create_default_context(cafile=ca_file)  # verifies the chain and the name
    ctx.minimum_version = version
    ctx.maximum_version = version
    return ctx


def connect(ctx, session=None):
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    return ctx.wrap_socket(raw, server_hostname=name, session=session)


def exchange(tls, request):
    """Sends `request` and returns the status line and the body of the answer."""
    tls.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = tls.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed before the response head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    length = int(fields["content-length"])
    while len(body) < length:
        chunk = tls.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed in the body")
        body += chunk
    return lines[0], body


def get(path):
    return f"GET {path} HTTP/1.1\r\nHost: {name}\r\n\r\n".encode()


for label, version in (("TLSv1.2", ssl.TLSVersion.TLSv1_2), ("TLSv1.3", ssl.TLSVersion.TLSv1_3)):
    ctx = context(version)
    with connect(ctx) as tls:
        status, body = exchange(tls, get("/index/"))
        print(f"{label} {tls.version()} {status} {body.decode()}")
        payload = bytes(range(256)) * 4096  # 1 MiB
        head = (f"POST /echo HTTP/1.1\r\nHost: {name}\r\nContent-Type: application/octet-stream\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n").encode()
        status, body = exchange(tls, head + payload)
        same = hashlib.sha256(body).digest() == hashlib.sha256(payload).digest()
        print(f"{label} echo {status} {len(body)} {'same' if same else 'different'}")
        session = tls.session  # a TLS 1.3 ticket has arrived with the responses
        tls.unwrap()  # sends close_notify and waits for the server's
        print(f"{label} closed with close_notify")
    with connect(ctx, session) as again:
        status, body = exchange(again, get("/plaintext"))
        print(f"{label} resumed={again.session_reused} {status} {body.decode()}")
