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


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    if len(sys.argv) >= 2 and sys.argv[1] == "--self-test":
        path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
            here, "..", "vectors", "noise", "cacophony-25519-ChaChaPoly-BLAKE2b.json")
        return self_test(path)
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
