"""A client of the node-to-node port's own protocol (runtime/wire), for the process tests: frames
and the dialer's side of the token handshake (runtime/wire/handshake.hpp)."""

import hashlib
import hmac
import os
import socket
import ssl
import struct

HELLO, CHALLENGE, PROOF = 1, 2, 3


def frame(kind, body):
    return struct.pack(">IB", len(body), kind) + body


def name(text):
    data = text.encode()
    return struct.pack(">H", len(data)) + data


def read_frame(sock):
    header = b""
    while len(header) < 5:
        chunk = sock.recv(5 - len(header))
        if not chunk:
            return None, b""
        header += chunk
    length, kind = struct.unpack(">IB", header)
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            return None, b""
        body += chunk
    return kind, body


def closed_within(sock, seconds):
    """True when the peer closes `sock` (EOF or reset) within `seconds`."""
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
        return True
    except (ConnectionResetError, ssl.SSLError):
        return True  # a reset, or a TLS alert (the peer refused our certificate)
    except socket.timeout:
        return False


def handshake(port, token, me="node-9", sock=None):
    """Runs the dialer's side of runtime/wire/handshake.hpp on `sock` (a new connection to
    `port` when None); returns the socket after the proof, or None when the acceptor closed
    before its challenge."""
    s = sock if sock is not None else socket.create_connection(("127.0.0.1", port), timeout=5)
    nonce_d = os.urandom(32)
    key = hashlib.sha256(b"ck-wire-1 key" + token.encode()).digest()
    key_id = hashlib.sha256(b"ck-wire-1 key id" + key).digest()[:8]
    s.sendall(frame(HELLO, bytes([1]) + name(me) + name("") + nonce_d + bytes([1]) + key_id))
    kind, body = read_frame(s)
    if kind != CHALLENGE:
        s.close()
        return None
    n = struct.unpack(">H", body[1:3])[0]
    acceptor = body[3:3 + n].decode()
    nonce_a = body[3 + n:3 + n + 32]
    mac_d = hmac.new(key, b"ck-wire-1 dial" + nonce_a + nonce_d + name(me) + name(acceptor),
                     hashlib.sha256).digest()
    s.sendall(frame(PROOF, mac_d))
    return s
