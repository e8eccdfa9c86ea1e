#!/usr/bin/python3
"""An independent Amicale transport client, written from docs/PROTOCOL.md
(sections 2-7 and 14) alone, not from the C sources: its own Noise
implementation (revision 34: CipherState, SymmetricState, HandshakeState with
HMAC-BLAKE2b / HKDF, BLOCKLEN 128, HASHLEN 64), its own canonical msgpack
encoder, its own announcement builder. It proves that the document is enough
to talk to a running `amicaled`.

Needs Debian's python3-msgpack and python3-nacl: run it with /usr/bin/python3.

usage:
  amicale_client.py --self-test [VECTORS.json]
      checks the Noise implementation against the cacophony vectors
      (tests/vectors/noise/ by default): every ciphertext and the handshake
      hash, byte for byte.

  amicale_client.py --vectors [session.json]
      replays the transport vectors (tests/vectors/transport/session.json by
      default): for each case it runs both sides from the inputs alone (seeds,
      static and ephemeral private keys, invitation secret, plaintext of the
      session messages) and compares every payload, binding, wire byte,
      invitation value and the handshake hash; the receiving side decrypts
      each message back, and known message types are re-encoded. Prints
      "transport vectors: N cases, M checks passed"; exit 1 on the first
      mismatch (described on stderr).

  amicale_client.py connect --host H --port P --key-file FILE --server-key KEY
                    [--scenario full|refused|plain] [--name N] [--title T]
      connects as the node whose secret key is FILE (node.key of a data
      directory), expecting the responder's identity KEY (43-character text
      form), and plays a scenario:
        full     handshake, hello both ways, ping/pong, announce an event
                 signed by the client's key, goodbye shutdown, close;
        refused  handshake, then expects a goodbye as the responder's first
                 message, prints its reason;
        plain    handshake, hello both ways, goodbye;
        linger   handshake, hello both ways, then wait (answering pings) for
                 the responder's goodbye, e.g. shutdown when it stops.

Exit status: 0 scenario done as expected; 1 failure (message on stderr);
3 the responder's identity is not KEY (aborted after message 2, message 3
not sent); 4 (scenario full/plain) the responder refused with a goodbye.
--expect-reason N (scenarios refused, linger): the goodbye's reason must be N.
Lines on stdout describe what happened (`handshake ok`, `hello from ...`,
`pong token=...`, `goodbye reason=N (name) text=...`, `announced id=...`).
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import socket
import struct
import sys
import time

import msgpack
import nacl.bindings as sodium
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import SigningKey, VerifyKey

# ---------------------------------------------------------------------------
# Noise (revision 34), 25519 / ChaChaPoly / BLAKE2b
# ---------------------------------------------------------------------------

DHLEN = 32
HASHLEN = 64
BLOCKLEN = 128  # hashlib.blake2b's block size; hmac uses it
MAX_NONCE = 2**64 - 1


class NoiseError(Exception):
    pass


def HASH(data):
    return hashlib.blake2b(data, digest_size=64).digest()


def HMAC_HASH(key, data):
    assert hashlib.blake2b().block_size == BLOCKLEN
    return hmac.new(key, data, hashlib.blake2b).digest()


def HKDF(chaining_key, ikm, num_outputs):
    temp_key = HMAC_HASH(chaining_key, ikm)
    out1 = HMAC_HASH(temp_key, b"\x01")
    out2 = HMAC_HASH(temp_key, out1 + b"\x02")
    if num_outputs == 2:
        return out1, out2
    out3 = HMAC_HASH(temp_key, out2 + b"\x03")
    return out1, out2, out3


class KeyPair:
    def __init__(self, private):
        self.private = private
        self.public = sodium.crypto_scalarmult_base(private)

    @staticmethod
    def generate():
        return KeyPair(os.urandom(32))


def DH(keypair, public):
    try:
        return sodium.crypto_scalarmult(keypair.private, public)
    except (CryptoError, RuntimeError) as e:  # all-zero output: low-order point
        raise NoiseError("invalid public key: %s" % e)


def nonce_bytes(n):
    return b"\x00\x00\x00\x00" + struct.pack("<Q", n)


def ENCRYPT(k, n, ad, plaintext):
    return sodium.crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, ad, nonce_bytes(n), k)


def DECRYPT(k, n, ad, ciphertext):
    try:
        return sodium.crypto_aead_chacha20poly1305_ietf_decrypt(ciphertext, ad, nonce_bytes(n), k)
    except CryptoError:
        raise NoiseError("tag does not verify")


class CipherState:
    def __init__(self, k=None):
        self.k = k
        self.n = 0

    def has_key(self):
        return self.k is not None

    def encrypt_with_ad(self, ad, plaintext):
        if self.k is None:
            return plaintext
        if self.n >= MAX_NONCE:
            raise NoiseError("nonce exhausted")
        c = ENCRYPT(self.k, self.n, ad, plaintext)
        self.n += 1
        return c

    def decrypt_with_ad(self, ad, ciphertext):
        if self.k is None:
            return ciphertext
        if self.n >= MAX_NONCE:
            raise NoiseError("nonce exhausted")
        p = DECRYPT(self.k, self.n, ad, ciphertext)  # n unchanged on failure
        self.n += 1
        return p


class SymmetricState:
    def __init__(self, protocol_name):
        if len(protocol_name) <= HASHLEN:
            self.h = protocol_name + b"\x00" * (HASHLEN - len(protocol_name))
        else:
            self.h = HASH(protocol_name)
        self.ck = self.h
        self.cs = CipherState()

    def mix_key(self, ikm):
        self.ck, temp_k = HKDF(self.ck, ikm, 2)
        self.cs = CipherState(temp_k[:32])

    def mix_hash(self, data):
        self.h = HASH(self.h + data)

    def mix_key_and_hash(self, ikm):
        self.ck, temp_h, temp_k = HKDF(self.ck, ikm, 3)
        self.mix_hash(temp_h)
        self.cs = CipherState(temp_k[:32])

    def encrypt_and_hash(self, plaintext):
        c = self.cs.encrypt_with_ad(self.h, plaintext)
        self.mix_hash(c)
        return c

    def decrypt_and_hash(self, ciphertext):
        p = self.cs.decrypt_with_ad(self.h, ciphertext)
        self.mix_hash(ciphertext)
        return p

    def split(self):
        k1, k2 = HKDF(self.ck, b"", 2)
        return CipherState(k1[:32]), CipherState(k2[:32])


# Handshake patterns: (pre-messages, messages). Each message is (direction,
# tokens); '->' initiator to responder. Fundamental patterns (section 7),
# deferred patterns (section 18) and the one-way patterns.
PATTERNS = {
    "N": ([("<-", "s")], [("->", "e es")]),
    "K": ([("->", "s"), ("<-", "s")], [("->", "e es ss")]),
    "X": ([("<-", "s")], [("->", "e es s ss")]),
    "NN": ([], [("->", "e"), ("<-", "e ee")]),
    "NK": ([("<-", "s")], [("->", "e es"), ("<-", "e ee")]),
    "NX": ([], [("->", "e"), ("<-", "e ee s es")]),
    "XN": ([], [("->", "e"), ("<-", "e ee"), ("->", "s se")]),
    "XK": ([("<-", "s")], [("->", "e es"), ("<-", "e ee"), ("->", "s se")]),
    "XX": ([], [("->", "e"), ("<-", "e ee s es"), ("->", "s se")]),
    "KN": ([("->", "s")], [("->", "e"), ("<-", "e ee se")]),
    "KK": ([("->", "s"), ("<-", "s")], [("->", "e es ss"), ("<-", "e ee se")]),
    "KX": ([("->", "s")], [("->", "e"), ("<-", "e ee se s es")]),
    "IN": ([], [("->", "e s"), ("<-", "e ee se")]),
    "IK": ([("<-", "s")], [("->", "e es s ss"), ("<-", "e ee se")]),
    "IX": ([], [("->", "e s"), ("<-", "e ee se s es")]),
    # deferred
    "NK1": ([("<-", "s")], [("->", "e"), ("<-", "e ee es")]),
    "NX1": ([], [("->", "e"), ("<-", "e ee s"), ("->", "es")]),
    "X1N": ([], [("->", "e"), ("<-", "e ee"), ("->", "s"), ("<-", "se")]),
    "X1K": ([("<-", "s")], [("->", "e es"), ("<-", "e ee"), ("->", "s"), ("<-", "se")]),
    "XK1": ([("<-", "s")], [("->", "e"), ("<-", "e ee es"), ("->", "s se")]),
    "X1K1": ([("<-", "s")], [("->", "e"), ("<-", "e ee es"), ("->", "s"), ("<-", "se")]),
    "X1X": ([], [("->", "e"), ("<-", "e ee s es"), ("->", "s"), ("<-", "se")]),
    "XX1": ([], [("->", "e"), ("<-", "e ee s"), ("->", "es s se")]),
    "X1X1": ([], [("->", "e"), ("<-", "e ee s"), ("->", "es s"), ("<-", "se")]),
    "K1N": ([("->", "s")], [("->", "e"), ("<-", "e ee"), ("->", "se")]),
    "K1K": ([("->", "s"), ("<-", "s")], [("->", "e es"), ("<-", "e ee"), ("->", "se")]),
    "KK1": ([("->", "s"), ("<-", "s")], [("->", "e"), ("<-", "e ee se es")]),
    "K1K1": ([("->", "s"), ("<-", "s")], [("->", "e"), ("<-", "e ee es"), ("->", "se")]),
    "K1X": ([("->", "s")], [("->", "e"), ("<-", "e ee s es"), ("->", "se")]),
    "KX1": ([("->", "s")], [("->", "e"), ("<-", "e ee se s"), ("->", "es")]),
    "K1X1": ([("->", "s")], [("->", "e"), ("<-", "e ee s"), ("->", "se es")]),
    "I1N": ([], [("->", "e s"), ("<-", "e ee"), ("->", "se")]),
    "I1K": ([("<-", "s")], [("->", "e es s"), ("<-", "e ee"), ("->", "se")]),
    "IK1": ([("<-", "s")], [("->", "e s"), ("<-", "e ee se es")]),
    "I1K1": ([("<-", "s")], [("->", "e s"), ("<-", "e ee es"), ("->", "se")]),
    "I1X": ([], [("->", "e s"), ("<-", "e ee s es"), ("->", "se")]),
    "IX1": ([], [("->", "e s"), ("<-", "e ee se s"), ("->", "es")]),
    "I1X1": ([], [("->", "e s"), ("<-", "e ee s"), ("->", "se es")]),
}


def parse_pattern(name):
    """'XXpsk3' -> (pre, messages as lists of tokens, one_way)."""
    base = name
    psks = []
    if "psk" in name:
        base, rest = name.split("psk", 1)
        psks = [int(x.replace("psk", "")) for x in ("psk" + rest).split("+")]
    if base not in PATTERNS:
        raise NoiseError("unsupported pattern " + name)
    pre, msgs = PATTERNS[base]
    msgs = [(d, t.split()) for d, t in msgs]
    for p in psks:
        if p == 0:
            msgs[0] = (msgs[0][0], ["psk"] + msgs[0][1])
        else:
            msgs[p - 1] = (msgs[p - 1][0], msgs[p - 1][1] + ["psk"])
    return pre, msgs, base in ("N", "K", "X")


class HandshakeState:
    def __init__(self, protocol_name, initiator, prologue=b"", s=None, e=None, rs=None, re=None,
                 psks=None):
        parts = protocol_name.split("_")
        if len(parts) != 5 or parts[0] != "Noise" or parts[2:] != ["25519", "ChaChaPoly",
                                                                    "BLAKE2b"]:
            raise NoiseError("unsupported protocol " + protocol_name)
        pre, self.messages, self.one_way = parse_pattern(parts[1])
        self.psk_mode = any("psk" in t for _, t in self.messages)
        self.ss = SymmetricState(protocol_name.encode("ascii"))
        self.ss.mix_hash(prologue)
        self.initiator = initiator
        self.s, self.e, self.rs, self.re = s, e, rs, re
        self.psks = list(psks or [])
        # pre-messages: initiator's first, then responder's
        for direction in ("->", "<-"):
            for d, tok in pre:
                if d != direction:
                    continue
                mine = (direction == "->") == initiator
                if tok == "s":
                    self.ss.mix_hash(self.s.public if mine else self.rs)
                elif tok == "e":
                    pub = self.e.public if mine else self.re
                    self.ss.mix_hash(pub)
                    if self.psk_mode:
                        self.ss.mix_key(pub)
        self.index = 0

    def _dh(self, tok):
        # ee, es, se, ss: first letter the initiator's key, second the responder's
        a, b = tok
        if self.initiator:
            mine, theirs = a, b
        else:
            mine, theirs = b, a
        kp = self.e if mine == "e" else self.s
        pub = self.re if theirs == "e" else self.rs
        return DH(kp, pub)

    def _finish(self):
        self.index += 1
        if self.index == len(self.messages):
            return self.ss.split()
        return None

    def write_message(self, payload):
        direction, tokens = self.messages[self.index]
        assert (direction == "->") == self.initiator, "not our turn"
        out = b""
        for tok in tokens:
            if tok == "e":
                if self.e is None:
                    self.e = KeyPair.generate()
                out += self.e.public
                self.ss.mix_hash(self.e.public)
                if self.psk_mode:
                    self.ss.mix_key(self.e.public)
            elif tok == "s":
                out += self.ss.encrypt_and_hash(self.s.public)
            elif tok == "psk":
                self.ss.mix_key_and_hash(self.psks.pop(0))
            else:
                self.ss.mix_key(self._dh(tok))
        out += self.ss.encrypt_and_hash(payload)
        return out, self._finish()

    def read_message(self, message):
        direction, tokens = self.messages[self.index]
        assert (direction == "->") != self.initiator, "not their turn"
        pos = 0
        for tok in tokens:
            if tok == "e":
                if len(message) - pos < DHLEN:
                    raise NoiseError("message too short")
                self.re = message[pos:pos + DHLEN]
                pos += DHLEN
                self.ss.mix_hash(self.re)
                if self.psk_mode:
                    self.ss.mix_key(self.re)
            elif tok == "s":
                n = DHLEN + (16 if self.ss.cs.has_key() else 0)
                if len(message) - pos < n:
                    raise NoiseError("message too short")
                self.rs = self.ss.decrypt_and_hash(message[pos:pos + n])
                pos += n
            elif tok == "psk":
                self.ss.mix_key_and_hash(self.psks.pop(0))
            else:
                self.ss.mix_key(self._dh(tok))
        rest = message[pos:]
        if self.ss.cs.has_key() and len(rest) < 16:
            raise NoiseError("message too short")
        payload = self.ss.decrypt_and_hash(rest)
        return payload, self._finish()

    @property
    def h(self):
        return self.ss.h


def self_test(path):
    with open(path) as f:
        vectors = json.load(f)["vectors"]
    failures = 0
    checked = 0
    xx_seen = False
    for v in vectors:
        name = v["protocol_name"]
        x = bytes.fromhex

        def kp(field):
            return KeyPair(x(v[field])) if v.get(field) else None

        try:
            init = HandshakeState(name, True, x(v["init_prologue"]), s=kp("init_static"),
                                  e=kp("init_ephemeral"),
                                  rs=x(v["init_remote_static"]) if v.get("init_remote_static") else None,
                                  psks=[x(p) for p in v.get("init_psks", [])])
            resp = HandshakeState(name, False, x(v["resp_prologue"]), s=kp("resp_static"),
                                  e=kp("resp_ephemeral"),
                                  rs=x(v["resp_remote_static"]) if v.get("resp_remote_static") else None,
                                  psks=[x(p) for p in v.get("resp_psks", [])])
            ok = True
            i_send = i_recv = r_send = r_recv = None
            for i, m in enumerate(v["messages"]):
                payload, want = x(m["payload"]), x(m["ciphertext"])
                if i < len(init.messages):
                    sender, receiver = (init, resp) if init.messages[i][0] == "->" else (resp, init)
                    got, split_s = sender.write_message(payload)
                    back, split_r = receiver.read_message(got)
                    if split_s is not None:
                        if sender is init:
                            i_send, i_recv = split_s
                            r_recv, r_send = split_r
                        else:
                            r_recv, r_send = split_s
                            i_send, i_recv = split_r
                        if init.h != x(v["handshake_hash"]) or resp.h != init.h:
                            print("FAIL %s: handshake hash" % name, file=sys.stderr)
                            ok = False
                else:
                    # messages keep alternating, initiator first (index
                    # 0), except after a one-way pattern
                    from_init = init.one_way or i % 2 == 0
                    if from_init:
                        got = i_send.encrypt_with_ad(b"", payload)
                        back = r_recv.decrypt_with_ad(b"", got)
                    else:
                        got = r_send.encrypt_with_ad(b"", payload)
                        back = i_recv.decrypt_with_ad(b"", got)
                if got != want:
                    print("FAIL %s: message %d ciphertext\n  got  %s\n  want %s"
                          % (name, i, got.hex(), want.hex()), file=sys.stderr)
                    ok = False
                if back != payload:
                    print("FAIL %s: message %d decrypts wrong" % (name, i), file=sys.stderr)
                    ok = False
            checked += 1
            if name == "Noise_XX_25519_ChaChaPoly_BLAKE2b":
                xx_seen = ok
            if not ok:
                failures += 1
        except NoiseError as e:
            print("FAIL %s: %s" % (name, e), file=sys.stderr)
            failures += 1
    print("noise self-test: %d vectors checked, %d failed" % (checked, failures))
    if not xx_seen:
        print("FAIL: Noise_XX_25519_ChaChaPoly_BLAKE2b missing or failed", file=sys.stderr)
        return 1
    return 1 if failures else 0


# ---------------------------------------------------------------------------
# Canonical msgpack (section 3): only nil, bool, uint, str, bin, array
# ---------------------------------------------------------------------------


def pack(v):
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if v < 0:
            raise ValueError("negative integer")
        if v < 0x80:
            return bytes([v])
        if v <= 0xFF:
            return b"\xcc" + struct.pack(">B", v)
        if v <= 0xFFFF:
            return b"\xcd" + struct.pack(">H", v)
        if v <= 0xFFFFFFFF:
            return b"\xce" + struct.pack(">I", v)
        return b"\xcf" + struct.pack(">Q", v)
    if isinstance(v, str):
        b = v.encode("utf-8")
        n = len(b)
        if n < 32:
            return bytes([0xA0 | n]) + b
        if n <= 0xFF:
            return b"\xd9" + bytes([n]) + b
        if n <= 0xFFFF:
            return b"\xda" + struct.pack(">H", n) + b
        raise ValueError("str too long")
    if isinstance(v, (bytes, bytearray)):
        n = len(v)
        if n <= 0xFF:
            return b"\xc4" + bytes([n]) + bytes(v)
        if n <= 0xFFFF:
            return b"\xc5" + struct.pack(">H", n) + bytes(v)
        raise ValueError("bin too long")
    if isinstance(v, (list, tuple)):
        n = len(v)
        if n < 16:
            head = bytes([0x90 | n])
        elif n <= 0xFFFF:
            head = b"\xdc" + struct.pack(">H", n)
        else:
            raise ValueError("array too long")
        return head + b"".join(pack(x) for x in v)
    raise TypeError("not a format-1 type: %r" % type(v))


def unpack_canonical(data):
    """Exactly one canonical msgpack value, or ValueError."""
    try:
        v = msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=True)
    except Exception as e:
        raise ValueError("not one msgpack value: %s" % e)
    try:
        again = pack(v)
    except (TypeError, ValueError) as e:
        raise ValueError("type not allowed: %s" % e)
    if again != data:
        raise ValueError("not canonical: %s" % data.hex())
    return v


# ---------------------------------------------------------------------------
# Keys (section 2) and the identity binding (14.3)
# ---------------------------------------------------------------------------


def b64url_nopad_decode(s):
    s = s.strip()
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url_nopad(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def key_from_text(s):
    s = s.strip()
    if len(s) != 43:
        raise ValueError("a key is 43 characters")
    k = b64url_nopad_decode(s)
    if len(k) != 32 or b64url_nopad(k) != s:
        raise ValueError("not a key (padding bits)")
    return k


def load_secret_key(path):
    """node.key: comment lines, then 'amicale-secret-key-v1 ' + b64url(seed||pk)."""
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("amicale-secret-key-v1 "):
                raw = b64url_nopad_decode(line.split(" ", 1)[1])
                if len(raw) != 64:
                    raise ValueError("secret key: not 64 bytes")
                sk = SigningKey(raw[:32])
                if bytes(sk.verify_key) != raw[32:]:
                    raise ValueError("secret key: public key does not match the seed")
                return sk
    raise ValueError("no amicale-secret-key-v1 line in " + path)


BINDING_CONTEXT = b"amicale/transport/1/static-key\x00"
assert len(BINDING_CONTEXT) == 31


def binding_sign(sk, static_pub):
    return sk.sign(BINDING_CONTEXT + static_pub).signature


def binding_verify(identity, static_pub, sig):
    try:
        VerifyKey(identity).verify(BINDING_CONTEXT + static_pub, sig)
        return True
    except (BadSignatureError, ValueError):
        return False


# ---------------------------------------------------------------------------
# Announcements (sections 4-7): an event (kind 2)
# ---------------------------------------------------------------------------

ANN_CONTEXT = b"amicale/announcement/1\x00"


def event_envelope(sk, obj, version, title, now):
    origin = bytes(sk.verify_key)
    starts = now + 86400
    expires = starts + 86400  # the reference choice: 24 h after the start
    body = [title, "Written by the interop test client.", starts, None, "Europe/Paris",
            None, "Paris", None, None, None, None, "en", ["interop"], None, 0]
    assert len(body) == 15
    signed = pack([1, 2, origin, obj, version, now, expires, body])
    sig = sk.sign(ANN_CONTEXT + signed).signature
    envelope = pack([signed, sig])
    assert len(envelope) <= 65536
    return envelope, hashlib.blake2b(signed, digest_size=32).hexdigest()


# ---------------------------------------------------------------------------
# Transport (section 14)
# ---------------------------------------------------------------------------

PROTOCOL_NAME = "Noise_XX_25519_ChaChaPoly_BLAKE2b"
PROLOGUE = b"amicale/transport"
GOODBYE = ["shutdown", "duplicate", "idle-timeout", "protocol-error", "unknown-peer", "blocked",
           "too-slow", "invitation-refused", "removed", "overloaded", "self"]
T_HELLO, T_PING, T_PONG, T_GOODBYE, T_ERROR, T_ANNOUNCE = range(6)


class Refused(Exception):
    def __init__(self, reason, text):
        Exception.__init__(self, "goodbye %d (%s): %s" % (reason, goodbye_name(reason), text))
        self.reason, self.text = reason, text


class WrongIdentity(Exception):
    pass


def goodbye_name(r):
    return GOODBYE[r] if isinstance(r, int) and 0 <= r < len(GOODBYE) else "unknown"


def log(msg):
    print(msg, flush=True)


class Connection:
    def __init__(self, sock):
        self.sock = sock
        self.send_cs = self.recv_cs = None
        self.hello_received = False

    def read_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError("connection closed by the peer (%d of %d bytes read)"
                               % (len(buf), n))
            buf += chunk
        return buf

    # -- handshake (14.1-14.3)
    def handshake(self, sk, expected_identity, versions=(1,), invitation=None):
        hs = HandshakeState(PROTOCOL_NAME, True, PROLOGUE, s=KeyPair.generate())
        # message 1: e, payload = versions (plaintext, hashed)
        m1, _ = hs.write_message(pack(list(versions)))
        assert 34 <= len(m1) <= 64
        self.sock.sendall(struct.pack(">H", len(m1)) + m1)
        # message 2
        n = struct.unpack(">H", self.read_exact(2))[0]
        if not (32 + 48 + 16 <= n <= 512):
            raise NoiseError("message 2: length %d out of range" % n)
        payload, _ = hs.read_message(self.read_exact(n))
        try:
            p = unpack_canonical(payload)
        except ValueError as e:
            raise NoiseError("message 2 payload: %s" % e)
        if not (isinstance(p, list) and len(p) == 4 and isinstance(p[0], int)
                and isinstance(p[1], bytes) and len(p[1]) == 32
                and isinstance(p[2], bytes) and len(p[2]) == 64 and isinstance(p[3], list)):
            raise NoiseError("message 2 payload: not [version, identity, binding, versions]: %r"
                             % (p,))
        version, identity, binding, their_versions = p
        if not binding_verify(identity, hs.rs, binding):
            raise NoiseError("message 2: the binding does not verify")
        log("message 2: identity %s, version %d, versions %r, binding ok"
            % (b64url_nopad(identity), version, their_versions))
        if identity != expected_identity:
            raise WrongIdentity("message 2: identity %s is not the expected %s"
                                % (b64url_nopad(identity), b64url_nopad(expected_identity)))
        if version == 0 or version not in versions:
            raise NoiseError("message 2: no common version (theirs %r)" % (their_versions,))
        # message 3: s, se, payload = [identity, binding, invitation]
        proof = [bytes(sk.verify_key), binding_sign(sk, hs.s.public), invitation]
        m3, split = hs.write_message(pack(proof))
        self.sock.sendall(struct.pack(">H", len(m3)) + m3)
        self.send_cs, self.recv_cs = split
        self.handshake_hash = hs.h
        log("handshake ok")
        return version

    # -- frames and messages (14.4, 14.5)
    def send(self, msg):
        data = pack(msg)
        pieces = [data[i:i + 65518] for i in range(0, len(data), 65518)] or [b""]
        out = b""
        for i, piece in enumerate(pieces):
            flags = b"\x01" if i < len(pieces) - 1 else b"\x00"
            ct = self.send_cs.encrypt_with_ad(b"", flags + piece)
            out += struct.pack(">H", len(ct)) + ct
        self.sock.sendall(out)

    def recv(self):
        data = b""
        while True:
            n = struct.unpack(">H", self.read_exact(2))[0]
            if not (17 <= n <= 65535):
                raise NoiseError("frame length %d out of range" % n)
            pt = self.recv_cs.decrypt_with_ad(b"", self.read_exact(n))
            flags = pt[0]
            if flags & ~1:
                raise NoiseError("frame flags %02x" % flags)
            data += pt[1:]
            limit = 1048576 if self.hello_received else 4096
            if len(data) > limit:
                raise NoiseError("message longer than %d bytes" % limit)
            if not flags & 1:
                break
        msg = unpack_canonical(data)
        if not (isinstance(msg, list) and msg and isinstance(msg[0], int)):
            raise ValueError("not a session message: %r" % (msg,))
        return msg

    def next_message(self, answer_pings=True):
        """The next message that is not a ping (pings are answered) nor an
        announce from the other side (logged and ignored)."""
        while True:
            m = self.recv()
            t = m[0]
            if t == T_GOODBYE:
                if len(m) != 3:
                    raise ValueError("goodbye: %r" % (m,))
                log("goodbye reason=%d (%s) text=%r" % (m[1], goodbye_name(m[1]), m[2]))
                raise Refused(m[1], m[2])
            if t == T_PING and answer_pings and self.hello_received:
                self.send([T_PONG, m[1]])
                continue
            if t == T_ANNOUNCE and self.hello_received:
                log("received an announcement (%d bytes)" % len(m[1]))
                continue
            if t == T_ERROR:
                log("error code=%d text=%r" % (m[1], m[2]))
                continue
            return m


def check_hello(m, want_name=None):
    if m[0] != T_HELLO:
        raise ValueError("first message is not a hello: %r" % (m,))
    if len(m) != 7:
        raise ValueError("hello has %d elements" % len(m))
    _, name, kind, software, caps, t, address = m
    if not (isinstance(name, str) and 1 <= len(name.encode()) <= 200):
        raise ValueError("hello: bad name %r" % (name,))
    if kind not in (0, 1, 2, 3):
        raise ValueError("hello: bad kind %r" % (kind,))
    if not (isinstance(software, str) and 1 <= len(software.encode()) <= 64):
        raise ValueError("hello: bad software %r" % (software,))
    if not (isinstance(caps, list) and len(caps) <= 32 and len(set(caps)) == len(caps)
            and all(isinstance(c, str) and 1 <= len(c.encode()) <= 32 for c in caps)):
        raise ValueError("hello: bad capabilities %r" % (caps,))
    if not isinstance(t, int) or isinstance(t, bool):
        raise ValueError("hello: bad time %r" % (t,))
    if not (address is None or isinstance(address, str)):
        raise ValueError("hello: bad address %r" % (address,))
    log("hello from name=%r kind=%d software=%r capabilities=%r time=%d address=%r"
        % (name, kind, software, caps, t, address))
    if abs(t - int(time.time())) > 300:
        log("warning: the responder's clock differs from ours by %d s" % (t - int(time.time())))
    if want_name is not None and name != want_name:
        raise ValueError("hello: name %r, expected %r" % (name, want_name))
    if "announce" not in caps:
        raise ValueError("hello: no 'announce' capability")
    return m


def run_connect(a):
    sk = load_secret_key(a.key_file)
    expected = key_from_text(a.server_key)
    log("client identity %s" % b64url_nopad(bytes(sk.verify_key)))
    sock = socket.create_connection((a.host, a.port), timeout=a.timeout)
    sock.settimeout(a.timeout)
    c = Connection(sock)
    try:
        try:
            c.handshake(sk, expected)
        except WrongIdentity as e:
            log("aborted after message 2: %s" % e)
            return 3
        if a.scenario == "refused":
            # the responder's refusal comes as a goodbye (14.3); read it first
            try:
                m = c.next_message()
                log("unexpected first message %r" % (m,))
                return 1
            except Refused as r:
                if a.expect_reason is not None and r.reason != a.expect_reason:
                    log("expected reason %d, got %d" % (a.expect_reason, r.reason))
                    return 1
                return 0
        c.send([T_HELLO, a.name, 0, "amicale-interop-py/1", ["announce"], int(time.time()),
                None])
        try:
            hello = c.next_message()
            check_hello(hello, a.expect_name)
            c.hello_received = True
            if a.scenario == "full":
                token = int.from_bytes(os.urandom(8), "big")
                c.send([T_PING, token])
                log("ping token=%d" % token)
                while True:
                    m = c.next_message()
                    if m[0] == T_PONG:
                        break
                    log("ignored message %r" % (m[0],))
                if m != [T_PONG, token]:
                    raise ValueError("pong %r, expected token %d" % (m, token))
                log("pong token=%d" % m[1])
                now = int(time.time())
                env, ann_id = event_envelope(sk, a.object, a.version or now, a.title, now)
                c.send([T_ANNOUNCE, env])
                log("announced id=%s (%d bytes)" % (ann_id, len(env)))
                # a ping after the announce: its pong shows the announce was
                # read (messages are handled in order) before we leave
                token2 = token ^ 0xFFFF
                c.send([T_PING, token2])
                while True:
                    m = c.next_message()
                    if m == [T_PONG, token2]:
                        break
                    if m[0] == T_ERROR:
                        raise ValueError("error after announce: %r" % (m,))
                log("pong token=%d" % token2)
            elif a.scenario == "linger":
                # stay connected (answering pings) until the responder says
                # goodbye; --expect-reason tells which reason is expected
                sock.settimeout(a.linger)
                log("lingering")
                try:
                    while True:
                        m = c.next_message()
                        log("ignored message %r" % (m[0],))
                except Refused as r:
                    if a.expect_reason is not None and r.reason != a.expect_reason:
                        log("expected reason %d, got %d" % (a.expect_reason, r.reason))
                        return 1
                    try:
                        while c.sock.recv(4096):
                            pass
                    except OSError:
                        pass
                    log("closed by the responder")
                    return 0
        except Refused as r:
            return 4
        c.send([T_GOODBYE, 0, "interop client done"])
        log("sent goodbye reason=0")
        sock.shutdown(socket.SHUT_WR)
        # the peer closes too (14.5); wait for its end of the stream
        try:
            while True:
                m = c.recv()
                log("after goodbye: message %r" % (m[0],))
        except (EOFError, ConnectionResetError):
            pass
        except Refused:
            pass
        log("closed")
        return 0
    finally:
        sock.close()


# ---------------------------------------------------------------------------
# Transport test vectors (tests/vectors/transport/session.json)
# ---------------------------------------------------------------------------
#
# Both sides of each recorded session are run here, from the inputs only
# (identity seeds, static and ephemeral private keys, the invitation secret,
# the plaintext of the session messages); everything else in the file is an
# expected output, compared byte for byte.

FRAME_DATA_MAX = 65518     # 14.4: a chunk's data, 65535 - 16 (tag) - 1 (flags)
MESSAGE_MAX = 1048576      # 14.4: a session message
HELLO_MAX = 4096           # 14.4: a message before the other side's hello
INVITE_CONTEXT = b"amicale/invite/1"


class VectorMismatch(Exception):
    pass


def _first_difference(got, want):
    for i, (a, b) in enumerate(zip(got, want)):
        if a != b:
            return i
    return min(len(got), len(want))


def _excerpt(b, at, width=24):
    lo = max(0, at - 8)
    return ("…" if lo else "") + b[lo:lo + width].hex() + ("…" if lo + width < len(b) else "")


class VectorRun:
    def __init__(self):
        self.checks = 0
        self.where = ""

    def fail(self, what):
        raise VectorMismatch("%s: %s" % (self.where, what))

    def eq(self, label, got, want):
        """got (computed here) must equal want (from the file)."""
        if isinstance(got, (bytes, bytearray)) and isinstance(want, (bytes, bytearray)):
            if bytes(got) != bytes(want):
                i = _first_difference(got, want)
                self.fail("%s differs at byte %d of %d (file has %d bytes)\n  computed %s\n  file     %s"
                          % (label, i, len(got), len(want), _excerpt(got, i), _excerpt(want, i)))
        elif got != want:
            self.fail("%s: computed %r, file has %r" % (label, got, want))
        self.checks += 1

    def true(self, label, cond, detail=""):
        if not cond:
            self.fail("%s%s" % (label, (": " + detail) if detail else ""))
        self.checks += 1


def _hex(obj, field, where, length=None):
    if field not in obj:
        raise VectorMismatch("%s: field %r missing" % (where, field))
    try:
        b = bytes.fromhex(obj[field])
    except (TypeError, ValueError):
        raise VectorMismatch("%s: field %r is not hex" % (where, field))
    if length is not None and len(b) != length:
        raise VectorMismatch("%s: field %r has %d bytes, not %d" % (where, field, len(b), length))
    return b


def pack_session(v):
    """Shortest-form msgpack for a whole session message: pack() (section 3),
    extended to the 32-bit forms (str32, bin32, array32) above 65535, which a
    message of up to 1 MiB of a type this client does not know may hold."""
    if isinstance(v, (bytes, bytearray)) and len(v) > 0xFFFF:
        return b"\xc6" + struct.pack(">I", len(v)) + bytes(v)
    if isinstance(v, str) and len(v.encode("utf-8")) > 0xFFFF:
        b = v.encode("utf-8")
        return b"\xdb" + struct.pack(">I", len(b)) + b
    if isinstance(v, (list, tuple)):
        n = len(v)
        if n < 16:
            head = bytes([0x90 | n])
        elif n <= 0xFFFF:
            head = b"\xdc" + struct.pack(">H", n)
        else:
            head = b"\xdd" + struct.pack(">I", n)
        return head + b"".join(pack_session(x) for x in v)
    return pack(v)


def _is_uint(x):
    return isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 2**64


def _session_text(x, lo, hi):
    if not isinstance(x, str):
        return False
    b = x.encode("utf-8")  # msgpack(raw=False) already refused ill-formed UTF-8
    return lo <= len(b) <= hi and b"\x00" not in b


def check_versions(v):
    """14.2: array of 1 to 8 distinct integers 1..127, increasing."""
    return (isinstance(v, list) and 1 <= len(v) <= 8 and all(_is_uint(x) and 1 <= x <= 127 for x in v)
            and all(a < b for a, b in zip(v, v[1:])))


def validate_session_message(m):
    """14.5: the elements of a known type, or '' when it is valid; unknown
    types (6 and above) only need to be an array starting with a uint."""
    if not (isinstance(m, list) and m and _is_uint(m[0])):
        return "not an array starting with an unsigned type"
    t = m[0]
    if t == T_HELLO:
        if len(m) != 7:
            return "hello: %d elements" % len(m)
        _, name, kind, software, caps, tm, address = m
        if not _session_text(name, 1, 200):
            return "hello: name"
        if kind not in (0, 1, 2, 3) or isinstance(kind, bool):
            return "hello: kind"
        if not _session_text(software, 1, 64):
            return "hello: software"
        if not (isinstance(caps, list) and len(caps) <= 32 and len(set(caps)) == len(caps)
                and all(_session_text(c, 1, 32) for c in caps)):
            return "hello: capabilities"
        if not _is_uint(tm):
            return "hello: time"
        if not (address is None or _session_text(address, 1, 261)):
            return "hello: address"
    elif t in (T_PING, T_PONG):
        if len(m) != 2 or not _is_uint(m[1]):
            return "ping/pong: not [type, token]"
    elif t in (T_GOODBYE, T_ERROR):
        if len(m) != 3 or not _is_uint(m[1]) or not _session_text(m[2], 0, 200):
            return "goodbye/error: not [type, uint, text of 0 to 200 bytes]"
    elif t == T_ANNOUNCE:
        if len(m) != 2 or not isinstance(m[1], bytes) or len(m[1]) > 65536:
            return "announce: not [5, bin of at most 65536 bytes]"
    return ""


def encode_frames(cs, data):
    """14.4: one message -> frames; chunks of at most 65518 bytes, 'more' set
    on all but the last."""
    pieces = [data[i:i + FRAME_DATA_MAX] for i in range(0, len(data), FRAME_DATA_MAX)] or [b""]
    out = b""
    for i, piece in enumerate(pieces):
        flags = b"\x01" if i < len(pieces) - 1 else b"\x00"
        ct = cs.encrypt_with_ad(b"", flags + piece)
        out += struct.pack(">H", len(ct)) + ct
    return out, len(pieces)


def decode_frames(cs, wire, limit):
    """14.4, receiving side: the frames of exactly one message from wire,
    which must hold nothing after it. Returns (message, number of frames)."""
    pos, data, frames = 0, b"", 0
    while True:
        if len(wire) - pos < 2:
            raise NoiseError("frame %d: stream ends inside the length" % frames)
        n = struct.unpack(">H", wire[pos:pos + 2])[0]
        if not 17 <= n <= 65535:
            raise NoiseError("frame %d: length %d outside 17..65535" % (frames, n))
        if len(wire) - pos - 2 < n:
            raise NoiseError("frame %d: declares %d bytes, %d left" % (frames, n, len(wire) - pos - 2))
        pt = cs.decrypt_with_ad(b"", wire[pos + 2:pos + 2 + n])
        pos += 2 + n
        frames += 1
        if pt[0] & ~1:
            raise NoiseError("frame %d: flags %02x" % (frames - 1, pt[0]))
        data += pt[1:]
        if len(data) > limit:
            raise NoiseError("message longer than %d bytes" % limit)
        if not pt[0] & 1:
            break
    if pos != len(wire):
        raise NoiseError("%d bytes after the message's last frame" % (len(wire) - pos))
    return data, frames


def invitation_keys(secret):
    """14.9: (id, mac key) from the 16-byte secret."""
    d = hashlib.blake2b(INVITE_CONTEXT, digest_size=64, key=secret).digest()
    return d[0:8], d[32:64]


def invitation_proof(inv_id, mac_key, h):
    return inv_id + hashlib.blake2b(h, digest_size=32, key=mac_key).digest()


def run_vector_case(r, case):
    name = case.get("name", "?")
    where = "case %r" % name
    ini, res = case["initiator"], case["responder"]

    # -- the two nodes, from their private inputs (14.1, 14.3)
    side = {}
    for role, v in (("initiator", ini), ("responder", res)):
        w = "%s %s" % (where, role)
        r.where = w
        sk = SigningKey(_hex(v, "identity_seed", w, 32))
        s = KeyPair(_hex(v, "static_private", w, 32))
        e = KeyPair(_hex(v, "ephemeral_private", w, 32))
        ident = bytes(sk.verify_key)
        r.eq("identity (Ed25519 public key of the seed)", ident, _hex(v, "identity", w, 32))
        r.eq("static public key", s.public, _hex(v, "static_public", w, 32))
        r.eq("ephemeral public key", e.public, _hex(v, "ephemeral_public", w, 32))
        b = binding_sign(sk, s.public)
        r.eq("binding (14.3)", b, _hex(v, "binding", w, 64))
        r.true("binding verifies", binding_verify(ident, s.public, b))
        side[role] = dict(sk=sk, s=s, e=e, identity=ident, binding=b)
    I, R = side["initiator"], side["responder"]

    secret = None
    if "invitation_secret" in case:
        r.where = where + " invitation"
        secret = _hex(case, "invitation_secret", r.where, 16)
        inv_id, mac_key = invitation_keys(secret)
        r.eq("invitation id = d[0..8)", inv_id, _hex(case, "invitation_id", r.where, 8))
        r.eq("invitation mac key = d[32..64)", mac_key,
             _hex(case, "invitation_mac_key", r.where, 32))
        # what the inviting node (the responder) keeps: id -> mac key
        responder_invitations = {inv_id: mac_key}
    else:
        for f in ("invitation_id", "invitation_mac_key", "invitation_proof"):
            r.true("%s: %s without invitation_secret" % (where, f), f not in case)

    init = HandshakeState(PROTOCOL_NAME, True, PROLOGUE, s=I["s"], e=I["e"])
    resp = HandshakeState(PROTOCOL_NAME, False, PROLOGUE, s=R["s"], e=R["e"])
    hs_msgs = case["handshake"]
    r.where = where + " handshake"
    r.eq("number of handshake messages", len(hs_msgs), 3)
    r.eq("senders of the handshake messages", [m.get("from") for m in hs_msgs],
         ["initiator", "responder", "initiator"])

    def exchange(k, sender, receiver, payload, size_range):
        """write message k+1 on sender, compare, read it on receiver."""
        m = hs_msgs[k]
        r.where = "%s handshake message %d" % (where, k + 1)
        r.eq("payload", payload, _hex(m, "payload", r.where))
        noise, split_w = sender.write_message(payload)
        wire = struct.pack(">H", len(noise)) + noise
        want = _hex(m, "wire", r.where)
        r.eq("wire", wire, want)
        r.true("Noise message length %d in %d..%d (14.2)" % (len(noise), size_range[0], size_range[1]),
               size_range[0] <= len(noise) <= size_range[1])
        # the receiver reads what the file says went on the stream
        n = struct.unpack(">H", want[:2])[0]
        r.eq("declared length", n, len(want) - 2)
        try:
            got, split_r = receiver.read_message(want[2:])
        except NoiseError as e:
            r.fail("the receiver refuses it: %s" % e)
        r.eq("payload decrypted by the receiver", got, payload)
        r.eq("handshake hash, sender and receiver", sender.h, receiver.h)
        try:
            decoded = unpack_canonical(got)
        except ValueError as e:
            r.fail("payload: %s" % e)
        return decoded, split_w, split_r

    # message 1: -> e, versions in the clear
    m1, _, _ = exchange(0, init, resp, pack([1]), (34, 41))
    r.true("message 1 payload is a version list (14.2)", check_versions(m1), repr(m1))
    common = [v for v in m1 if v in (1,)]
    version = max(common) if common else 0
    r.eq("version picked by the responder", version, 1)

    # message 2: <- e, ee, s, es, [version, identity, binding, versions]
    p2 = pack([version, R["identity"], R["binding"], [1]])
    m2, _, _ = exchange(1, resp, init, p2, (200, 207))
    r.true("message 2 payload shape", isinstance(m2, list) and len(m2) == 4
           and _is_uint(m2[0]) and isinstance(m2[1], bytes) and len(m2[1]) == 32
           and isinstance(m2[2], bytes) and len(m2[2]) == 64 and check_versions(m2[3]), repr(m2))
    r.eq("responder static key as the initiator read it (Noise rs)", init.rs, R["s"].public)
    r.true("initiator: the responder's binding verifies against rs",
           binding_verify(m2[1], init.rs, m2[2]))
    r.eq("initiator: the responder's identity is the one expected", m2[1], R["identity"])
    r.true("initiator: version is the highest common one",
           m2[0] != 0 and m2[0] == max(v for v in [1] if v in m2[3]))

    # message 3: -> s, se, [identity, binding, invitation proof or nil]
    proof = None
    if secret is not None:
        r.where = where + " invitation"
        h = init.h  # 14.9: the handshake hash when message 3 is about to be written
        proof = invitation_proof(inv_id, mac_key, h)
        r.eq("invitation proof = id ‖ BLAKE2b-256(mac key, h)", proof,
             _hex(case, "invitation_proof", r.where, 40))
    p3 = pack([I["identity"], I["binding"], proof])
    resp_h_before_3 = resp.h
    m3, split_i, split_r = exchange(2, init, resp, p3, (207, 207) if proof else (166, 166))
    r.true("message 3 payload shape", isinstance(m3, list) and len(m3) == 3
           and isinstance(m3[0], bytes) and len(m3[0]) == 32 and isinstance(m3[1], bytes)
           and len(m3[1]) == 64 and (m3[2] is None or (isinstance(m3[2], bytes) and len(m3[2]) == 40)),
           repr(m3))
    r.eq("initiator static key as the responder read it (Noise rs)", resp.rs, I["s"].public)
    r.true("responder: the initiator's binding verifies against rs",
           binding_verify(m3[0], resp.rs, m3[1]))
    r.eq("responder: the initiator's identity", m3[0], I["identity"])
    if secret is not None:
        got_proof = m3[2]
        r.true("responder: message 3 carries an invitation proof", got_proof is not None)
        mk = responder_invitations.get(got_proof[:8])
        r.true("responder: invitation found by its id", mk is not None, got_proof[:8].hex())
        want_mac = hashlib.blake2b(resp_h_before_3, digest_size=32, key=mk).digest()
        r.true("responder: the proof's MAC verifies (h as the responder had it before message 3)",
               hmac.compare_digest(got_proof[8:], want_mac))
    else:
        r.eq("message 3 invitation", m3[2], None)

    r.where = where
    r.eq("handshake hash", init.h, _hex(case, "handshake_hash", where, 64))
    r.eq("handshake hash (responder)", resp.h, init.h)
    r.true("split after message 3 on both sides", split_i is not None and split_r is not None)
    # 14.3: the initiator sends with the first cipher, the responder with the second
    send = {"initiator": split_i[0], "responder": split_r[1]}
    recv = {"initiator": split_i[1], "responder": split_r[0]}

    # -- session messages (14.4, 14.5)
    hello_from = set()
    owed = {"initiator": [], "responder": []}  # answers a side must send next
    for k, sm in enumerate(case["session"]):
        frm = sm.get("from")
        r.where = "%s session message %d (from %s)" % (where, k, frm)
        r.true("'from' is initiator or responder", frm in ("initiator", "responder"), repr(frm))
        to = "responder" if frm == "initiator" else "initiator"
        data = _hex(sm, "message", r.where)
        want = _hex(sm, "wire", r.where)
        # sender: the frames of this message
        wire, nframes = encode_frames(send[frm], data)
        r.eq("frames (wire)", wire, want)
        # receiver: decrypts the frames of the file
        limit = MESSAGE_MAX if frm in hello_from else HELLO_MAX
        try:
            back, nback = decode_frames(recv[to], want, limit)
        except NoiseError as e:
            r.fail("the %s cannot read the frames: %s" % (to, e))
        r.eq("message decrypted by the %s" % to, back, data)
        r.eq("number of frames", nback, nframes)
        r.eq("number of frames for %d bytes (chunks of %d)" % (len(data), FRAME_DATA_MAX),
             nframes, max(1, -(-len(data) // FRAME_DATA_MAX)))
        # the message itself
        try:
            m = msgpack.unpackb(back, raw=False, use_list=True, strict_map_key=True)
        except Exception as e:
            r.fail("not one msgpack value: %s" % e)
        problem = validate_session_message(m)
        r.true("valid session message (14.5)", not problem, problem)
        t = m[0]
        if t <= T_ANNOUNCE:
            try:
                again = pack(m)
            except (TypeError, ValueError) as e:
                r.fail("own encoder refuses the decoded values: %s" % e)
            r.eq("own encoding of the decoded %s" % ["hello", "ping", "pong", "goodbye", "error",
                                                     "announce"][t], again, data)
        else:
            try:
                again = pack_session(m)
            except (TypeError, ValueError) as e:
                r.fail("unknown type %d: %s" % (t, e))
            r.eq("shortest-form encoding of the unknown type %d" % t, again, data)
        # receiving rules: first a hello (or goodbye), answers in order
        if frm not in hello_from:
            r.true("the first message from the %s is a hello or a goodbye" % frm,
                   t in (T_HELLO, T_GOODBYE), "type %d" % t)
            hello_from.add(frm)
        else:
            r.true("only one hello", t != T_HELLO)
        if owed[frm]:
            expect = owed[frm].pop(0)
            r.true("the answer the %s owed: %r" % (frm, expect),
                   m[:len(expect)] == expect, repr(m if len(back) < 200 else m[:2]))
        if t == T_PING:
            owed[to].append([T_PONG, m[1]])
        elif t > T_ANNOUNCE:
            owed[to].append([T_ERROR, 0])  # unknown-message
    r.where = where
    r.true("no answer left owed", not owed["initiator"] and not owed["responder"], repr(owed))
    r.eq("initiator nonces used (sent, received)", (send["initiator"].n, recv["initiator"].n),
         (recv["responder"].n, send["responder"].n))


def run_vectors(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print("transport vectors: cannot read %s: %s" % (path, e), file=sys.stderr)
        return 1
    r = VectorRun()
    try:
        r.where = path
        r.eq("protocol", doc.get("protocol"), PROTOCOL_NAME)
        r.eq("prologue", doc.get("prologue"), PROLOGUE.decode("ascii"))
        cases = doc.get("cases") or []
        r.true("at least one case", len(cases) > 0)
        for case in cases:
            run_vector_case(r, case)
    except VectorMismatch as e:
        print("transport vectors: MISMATCH in %s" % e, file=sys.stderr)
        return 1
    except (KeyError, TypeError, IndexError, AttributeError) as e:
        print("transport vectors: %s: malformed vector file (%s: %s)"
              % (r.where, type(e).__name__, e), file=sys.stderr)
        return 1
    except NoiseError as e:
        print("transport vectors: %s: Noise: %s" % (r.where, e), file=sys.stderr)
        return 1
    print("transport vectors: %d cases, %d checks passed" % (len(cases), r.checks))
    return 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    if len(sys.argv) >= 2 and sys.argv[1] == "--self-test":
        path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
            here, "..", "vectors", "noise", "cacophony-25519-ChaChaPoly-BLAKE2b.json")
        return self_test(path)
    if len(sys.argv) >= 2 and sys.argv[1] == "--vectors":
        path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
            here, "..", "vectors", "transport", "session.json")
        return run_vectors(path)
    p = argparse.ArgumentParser(prog="amicale_client.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("connect")
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--key-file", required=True)
    c.add_argument("--server-key", required=True)
    c.add_argument("--scenario", choices=["full", "refused", "plain", "linger"], default="full")
    c.add_argument("--expect-reason", type=int)
    c.add_argument("--expect-name")
    c.add_argument("--name", default="Python Interop")
    c.add_argument("--title", default="Interop meetup")
    c.add_argument("--object", type=int, default=1)
    c.add_argument("--version", type=int, default=0, help="default: the current time")
    c.add_argument("--timeout", type=float, default=15.0)
    c.add_argument("--linger", type=float, default=120.0,
                   help="scenario linger: how long to wait for the goodbye")
    a = p.parse_args()
    try:
        return run_connect(a)
    except (NoiseError, ValueError, EOFError, OSError, Refused) as e:
        print("amicale_client: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
