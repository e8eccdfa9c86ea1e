#!/usr/bin/python3
"""An independent Amicale transport client, written from docs/PROTOCOL.md
(sections 2-7, 14 and 15) alone, not from the C sources: its own Noise
implementation (revision 34: CipherState, SymmetricState, HandshakeState with
HMAC-BLAKE2b / HKDF, BLOCKLEN 128, HASHLEN 64), its own canonical msgpack
encoder, its own announcement builder, its own replication (fingerprints,
range entries, rounds, offers and wants). It proves that the document is
enough to talk to a running `amicaled`.

Needs Debian's python3-msgpack and python3-nacl: run it with /usr/bin/python3.

usage:
  amicale_client.py --self-test [VECTORS.json]
      checks the Noise implementation against the cacophony vectors
      (tests/vectors/noise/ by default): every ciphertext and the handshake
      hash, byte for byte; then replication without a network (section 15):
      the fingerprint example of 15.2, entry round trips and sizes, the
      refusals of 15.3, describing (32 listed, 33 split), the session of
      15.7 and whole sessions between two in-memory sets. Prints
      "noise self-test: ..." and "replication self-test: N checks, M failed".

  amicale_client.py gen --key-file FILE --out DIR [--deep 40] [--spread 60]
                    [--prefix abc]
      writes the announcements of the replication test, events signed by
      FILE: --deep of them with ids starting with the hex digits --prefix
      (so one range holds more than 32 ids at several depths), --spread
      others; DIR/all.ann, DIR/server.ann (all but deep #2, #3 and spread
      #1), DIR/client.ann (all but deep #0, #1 and spread #0). Prints
      "gen id=ID deep|spread both|server-lacks|client-lacks" lines.

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
      Replication (section 15; the hello lists announce and replicate):
        replicate  --hold FILE (announcements the client holds; a new event,
                 --title/--object, is added) --server-ids FILE (the
                 responder's ids, one a line, e.g. from `amicale announcement
                 list --json`). Three connections: (1) an empty set (IDS of
                 the root with no id, then an FPS of 16 empty fingerprints):
                 everything offered, fetched, verified; a round of 12,000 FPS
                 entries, whose answer must come in several syncs; (2) the
                 set: a session
                 with rounds cut one entry per message; it must learn exactly
                 the ids it lacks, fetch them (want, announce, sent), and be
                 asked exactly for those the responder lacks; a second session
                 at once must get one empty sync; a want of an unknown id must
                 get sent missing=1; (3) a fresh connection: empty answer.
                 Prints "ok: ..." per check, "responder wanted id=...",
                 "fetched id=...", "replicate: N checks failed".
        malformed  one fresh connection per malformed sync entry or
                 replication message (--case NAME,... or all; --pace seconds
                 between connections): each must get goodbye protocol-error.
        no-replicate  hello without replicate, then a sync: error
                 unsupported expected, the connection goes on.
        serve    listens (port written to --port-file) for the node
                 --server-key to connect to it as to a peer; as the responder,
                 answers the session the initiator starts and checks its first
                 round against --server-ids, the ids learned and wanted, no
                 new session for --quiet seconds, and that a sync with start
                 from the responder gets goodbye protocol-error.
        watch    no session; waits --linger seconds for offers, wants and
                 fetches them; --expect-offers N; --announce first pushes a new
                 event with announce (it must not be offered back).

Exit status: 0 scenario done as expected; 1 failure (message on stderr);
3 the responder's identity is not KEY (aborted after message 2, message 3
not sent); 4 (scenario full/plain) the responder refused with a goodbye.
--expect-reason N (scenarios refused, linger): the goodbye's reason must be N.
Lines on stdout describe what happened (`handshake ok`, `hello from ...`,
`pong token=...`, `goodbye reason=N (name) text=...`, `announced id=...`).
"""
import argparse
import base64
import bisect
import collections
import hashlib
import hmac
import json
import os
import random
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


def _unpack_exactly(data, encoder, shown):
    """One msgpack value that `encoder` writes back to exactly `data`."""
    try:
        v = msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=True)
    except Exception as e:
        raise ValueError("not one msgpack value: %s" % e)
    try:
        again = encoder(v)
    except (TypeError, ValueError) as e:
        raise ValueError("type not allowed: %s" % e)
    if again != data:
        raise ValueError("not canonical: %s" % shown.hex())
    return v


def unpack_canonical(data):
    """Exactly one canonical msgpack value, or ValueError."""
    return _unpack_exactly(data, pack, data)


def unpack_session(data):
    """Exactly one session message in canonical form (14.5): the shortest
    forms, including the 32-bit ones above 65535; ValueError otherwise."""
    return _unpack_exactly(data, pack_session, data[:64])


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
           "too-slow", "invitation-refused", "removed", "overloaded", "self", "revoked"]
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
        # message 3: s, se, payload = [identity, binding, invitation]; a
        # callable invitation computes the proof from h, the handshake hash
        # now that message 2 is read (14.9, 16.1)
        if callable(invitation):
            invitation = invitation(hs.h)
        proof = [bytes(sk.verify_key), binding_sign(sk, hs.s.public), invitation]
        m3, split = hs.write_message(pack(proof))
        self.sock.sendall(struct.pack(">H", len(m3)) + m3)
        self.send_cs, self.recv_cs = split
        self.handshake_hash = hs.h
        log("handshake ok")
        return version

    def respond(self, sk, expected_identity, versions=(1,)):
        """The responder's side of the handshake (14.2, 14.3): admits only
        expected_identity. Returns the version."""
        hs = HandshakeState(PROTOCOL_NAME, False, PROLOGUE, s=KeyPair.generate())
        n = struct.unpack(">H", self.read_exact(2))[0]
        if not 34 <= n <= 41:
            raise NoiseError("message 1: length %d outside 34..41" % n)
        payload, _ = hs.read_message(self.read_exact(n))
        try:
            theirs = unpack_canonical(payload)
        except ValueError as e:
            raise NoiseError("message 1 payload: %s" % e)
        if not check_versions(theirs):
            raise NoiseError("message 1 payload: not a version list: %r" % (theirs,))
        common = [v for v in versions if v in theirs]
        version = max(common) if common else 0
        p2 = pack([version, bytes(sk.verify_key), binding_sign(sk, hs.s.public), list(versions)])
        m2, _ = hs.write_message(p2)
        assert 200 <= len(m2) <= 207
        self.sock.sendall(struct.pack(">H", len(m2)) + m2)
        n = struct.unpack(">H", self.read_exact(2))[0]
        if n not in (166, 207):
            raise NoiseError("message 3: length %d (166 or 207)" % n)
        payload, split = hs.read_message(self.read_exact(n))
        try:
            p = unpack_canonical(payload)
        except ValueError as e:
            raise NoiseError("message 3 payload: %s" % e)
        if not (isinstance(p, list) and len(p) == 3 and isinstance(p[0], bytes) and len(p[0]) == 32
                and isinstance(p[1], bytes) and len(p[1]) == 64):
            raise NoiseError("message 3 payload: not [identity, binding, invitation]: %r" % (p,))
        if not binding_verify(p[0], hs.rs, p[1]):
            raise NoiseError("message 3: the binding does not verify")
        log("message 3: identity %s, version %d, their versions %r, binding ok"
            % (b64url_nopad(p[0]), version, theirs))
        if p[0] != expected_identity:
            raise WrongIdentity("message 3: identity %s is not the expected %s"
                                % (b64url_nopad(p[0]), b64url_nopad(expected_identity)))
        # 14.3: the responder sends with the second cipher, receives with the first
        self.recv_cs, self.send_cs = split
        self.handshake_hash = hs.h
        log("handshake ok (responder)")
        return version

    # -- frames and messages (14.4, 14.5)
    def send(self, msg):
        data = pack_session(msg)
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
        msg = unpack_session(data)
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


def check_hello(m, want_name=None, need=("announce",)):
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
    for cap in need:
        if cap not in caps:
            raise ValueError("hello: no %r capability" % cap)
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
# Replication (section 15): ids, ranges, fingerprints, entries, sessions
# ---------------------------------------------------------------------------

T_OFFER, T_WANT, T_SENT, T_SYNC = 6, 7, 8, 9
SYNC_START, SYNC_MORE, SYNC_PARTIAL = 1, 2, 4  # 15.4 flags
MODE_FPS, MODE_IDS = 0, 1                      # 15.3 modes
SHORT_LEN = 16                                 # 15.1: a short id
ZERO_FP = bytes(16)                            # 15.2: the empty set's fingerprint
DESCRIBE_MAX = 32                              # 15.4: listed rather than split
IDS_MAX = 4096                                 # 15.3: short ids in one IDS entry
RANGES_MAX = 1048560                           # 15.4: ranges bytes in one sync
OFFER_MAX = 32768                              # 15.5
WANT_MAX = 4096                                # 15.5
WANTS_UNANSWERED_MAX = 4                       # 15.5
SENT_MISSING_MAX = 4096                        # 15.5


class SyncError(ValueError):
    """A receiving check of 15.3 / 15.4 failed: goodbye protocol-error."""


def fingerprint(ids):
    """15.2: 16 zero bytes for the empty set, otherwise
    BLAKE2b(digest length 16)(sum of the ids as 256-bit little-endian
    integers mod 2^256, 32 bytes little-endian ‖ count, 8 bytes little-endian)."""
    ids = list(ids)
    if not ids:
        return ZERO_FP
    total = 0
    for i in ids:
        if len(i) != 32:
            raise ValueError("an id is 32 bytes")
        total += int.from_bytes(i, "little")
    data = (total % 2**256).to_bytes(32, "little") + struct.pack("<Q", len(ids))
    return hashlib.blake2b(data, digest_size=16).digest()


def prefix_bytes(depth, pval):
    """15.3: the first ceil(depth/2) bytes of the range's ids (pval: the
    first `depth` nibbles as an integer); an odd depth leaves the low four
    bits of the last byte 0."""
    v = pval << 4 if depth % 2 else pval
    return v.to_bytes((depth + 1) // 2, "big")


def nibbles_hex(depth, pval):
    return ("%0*x" % (depth, pval)) if depth else "(root)"


def short_under(short, depth, pval):
    """Is the short id (16 bytes) in the range (depth, pval)?"""
    return int.from_bytes(short[:SHORT_LEN], "big") >> (128 - 4 * depth) == pval


def encode_fps(depth, pval, fps):
    if not 0 <= depth <= 31:
        raise ValueError("FPS depth %d (0..31)" % depth)
    if len(fps) != 16 or any(len(f) != 16 for f in fps):
        raise ValueError("FPS: 16 fingerprints of 16 bytes")
    return bytes([MODE_FPS, depth]) + prefix_bytes(depth, pval) + b"".join(fps)


def encode_ids(depth, pval, shorts):
    if not 0 <= depth <= 32:
        raise ValueError("IDS depth %d (0..32)" % depth)
    if len(shorts) > IDS_MAX:
        raise ValueError("IDS: %d short ids (at most %d)" % (len(shorts), IDS_MAX))
    for k, s in enumerate(shorts):
        if len(s) != SHORT_LEN or not short_under(s, depth, pval) or (k and shorts[k - 1] >= s):
            raise ValueError("IDS: short ids must be 16 bytes, under the prefix, increasing")
    return (bytes([MODE_IDS, depth]) + prefix_bytes(depth, pval) + struct.pack(">H", len(shorts))
            + b"".join(shorts))


def encode_entry(e):
    mode, depth, pval, body = e
    return encode_fps(depth, pval, body) if mode == MODE_FPS else encode_ids(depth, pval, body)


def entry_size(e):
    """15.3: 2 + ceil(d/2) + 256 (FPS), 4 + ceil(d/2) + 16 n (IDS)."""
    mode, depth, _, body = e
    p = (depth + 1) // 2
    return 2 + p + 256 if mode == MODE_FPS else 4 + p + 16 * len(body)


def decode_entries(data):
    """The entries of a sync's `ranges`, with every receiving check of 15.3;
    SyncError names the first that fails. Entries are tuples
    (mode, depth, pval, body): body is 16 fingerprints (FPS) or the list of
    short ids (IDS)."""
    entries = []
    pos = 0
    n_all = len(data)
    while pos < n_all:
        at = pos
        if n_all - pos < 2:
            raise SyncError("entry at byte %d: cut short (no room for mode and depth)" % at)
        mode, depth = data[pos], data[pos + 1]
        pos += 2
        if mode not in (MODE_FPS, MODE_IDS):
            raise SyncError("entry at byte %d: mode %d (only 0 FPS, 1 IDS)" % (at, mode))
        top = 31 if mode == MODE_FPS else 32
        if depth > top:
            raise SyncError("entry at byte %d: %s depth %d (0..%d)"
                            % (at, ("FPS", "IDS")[mode], depth, top))
        plen = (depth + 1) // 2
        if n_all - pos < plen:
            raise SyncError("entry at byte %d: cut short in the prefix" % at)
        pval = int.from_bytes(data[pos:pos + plen], "big")
        pos += plen
        if depth % 2:
            if pval & 0xF:
                raise SyncError("entry at byte %d: bits set past depth %d" % (at, depth))
            pval >>= 4
        if mode == MODE_FPS:
            if n_all - pos < 256:
                raise SyncError("entry at byte %d: FPS cut short (%d of 256 bytes)"
                                % (at, n_all - pos))
            body = [bytes(data[pos + 16 * k:pos + 16 * k + 16]) for k in range(16)]
            pos += 256
        else:
            if n_all - pos < 2:
                raise SyncError("entry at byte %d: IDS cut short (no count)" % at)
            n = struct.unpack(">H", data[pos:pos + 2])[0]
            pos += 2
            if n > IDS_MAX:
                raise SyncError("entry at byte %d: IDS of %d short ids (at most %d)"
                                % (at, n, IDS_MAX))
            if n_all - pos < 16 * n:
                raise SyncError("entry at byte %d: IDS cut short (%d ids declared, %d bytes left)"
                                % (at, n, n_all - pos))
            body = [bytes(data[pos + 16 * k:pos + 16 * k + 16]) for k in range(n)]
            pos += 16 * n
            for k, s in enumerate(body):
                if k and body[k - 1] == s:
                    raise SyncError("entry at byte %d: IDS lists %s twice" % (at, s.hex()))
                if k and body[k - 1] > s:
                    raise SyncError("entry at byte %d: IDS out of order at %d" % (at, k))
                if not short_under(s, depth, pval):
                    raise SyncError("entry at byte %d: %s is outside the range %s"
                                    % (at, s.hex(), nibbles_hex(depth, pval)))
        entries.append((mode, depth, pval, body))
    return entries


class IdSet:
    """A node's set (15.1): full ids (32 bytes) -> envelope (or None when
    only the id is known, in the self-test), kept sorted for range queries."""

    def __init__(self, ids=()):
        self.env = {}
        self.keys = []  # sorted, ids read as big-endian integers
        for i in ids:
            self.add(i)

    def add(self, id_, env=None):
        if id_ in self.env:
            return False
        self.env[id_] = env
        bisect.insort(self.keys, int.from_bytes(id_, "big"))
        return True

    def remove(self, id_):
        if self.env.pop(id_, False) is not False:
            self.keys.remove(int.from_bytes(id_, "big"))

    def __len__(self):
        return len(self.keys)

    def __contains__(self, id_):
        return id_ in self.env

    def range_ids(self, depth, pval):
        shift = 256 - 4 * depth
        lo = bisect.bisect_left(self.keys, pval << shift)
        hi = bisect.bisect_left(self.keys, (pval + 1) << shift)
        return [k.to_bytes(32, "big") for k in self.keys[lo:hi]]

    def fp(self, depth, pval):
        return fingerprint(self.range_ids(depth, pval))

    def shorts(self, depth=0, pval=0):
        """The distinct short ids of the range, in increasing order."""
        out = []
        for i in self.range_ids(depth, pval):
            s = i[:SHORT_LEN]
            if not out or out[-1] != s:
                out.append(s)
        return out

    def by_short(self, short):
        return self.range_ids(32, int.from_bytes(short, "big"))

    def holds_short(self, short):
        return bool(self.by_short(short))


def describe(st, depth, pval):
    """15.4 'describing' range (depth, pval): an IDS entry when the node holds
    at most 32 ids in it (or depth is 32), else an FPS of its 16 children."""
    ids = st.range_ids(depth, pval)
    if len(ids) <= DESCRIBE_MAX or depth == 32:
        return (MODE_IDS, depth, pval, st.shorts(depth, pval))
    return (MODE_FPS, depth, pval, [st.fp(depth + 1, pval * 16 + n) for n in range(16)])


def answer_entry(st, entry):
    """15.4 'answering' one entry: (entries for the answer round, short ids
    to offer, short ids to want)."""
    mode, depth, pval, body = entry
    out, offers, wants = [], [], []
    if mode == MODE_FPS:
        for n in range(16):
            child = pval * 16 + n
            if st.fp(depth + 1, child) == body[n]:
                continue  # settled
            if body[n] == ZERO_FP:
                offers += st.shorts(depth + 1, child)  # the sender holds nothing there
            else:
                out.append(describe(st, depth + 1, child))
    else:
        mine = st.shorts(depth, pval)
        listed = set(body)
        offers = [s for s in mine if s not in listed]
        held = set(mine)
        wants = [s for s in body if s not in held]
    return out, offers, wants


def round_messages(entries, start=False, split=False, partial=False):
    """The sync messages of one round: whole entries, at most RANGES_MAX bytes
    of ranges each (split: one entry per message); `start` on the first,
    `more` on all but the last, `partial` on the last. An empty round is one
    sync with empty ranges."""
    blobs = [encode_entry(e) for e in entries]
    groups, cur = [], b""
    for b in blobs:
        if cur and (split or len(cur) + len(b) > RANGES_MAX):
            groups.append(cur)
            cur = b""
        cur += b
    groups.append(cur)
    msgs = []
    for k, g in enumerate(groups):
        flags = 0
        if start and k == 0:
            flags |= SYNC_START
        if k < len(groups) - 1:
            flags |= SYNC_MORE
        elif partial:
            flags |= SYNC_PARTIAL
        msgs.append([T_SYNC, flags, g])
    return msgs


def simulate_session(a, b, via_bytes=True):
    """Both sides of a session in memory (a the initiator). Returns
    (rounds, what a learns, what b learns, entry stats): a learns b's offers
    and its own wants."""
    learn = {"a": set(), "b": set()}
    stats = collections.Counter()
    rnd = [describe(a, 0, 0)]
    sender, receiver = "a", "b"
    sets = {"a": a, "b": b}
    rounds = 1
    while True:
        if via_bytes:
            msgs = round_messages(rnd, start=(rounds == 1))
            got = []
            for m in msgs:
                back = unpack_session(pack_session(m))
                got += decode_entries(back[2])
            assert got == rnd, "entries do not survive encoding"
        if not rnd:
            break  # a round with no entry ends the session
        answer = []
        for e in rnd:
            stats[("FPS", "IDS")[e[0]] + str(e[1])] += 1
            out, offers, wants = answer_entry(sets[receiver], e)
            answer += out
            learn[sender].update(offers)
            learn[receiver].update(wants)
        rnd = answer
        sender, receiver = receiver, sender
        rounds += 1
        if rounds > 100:
            raise AssertionError("session does not end")
    return rounds, learn["a"], learn["b"], stats


# -- announcements as the replication scenario needs them ---------------------


def parse_envelope(env):
    """Sections 4 and 6, enough for a client: [signed part, signature];
    returns (id, signed part decoded); ValueError when it does not verify."""
    try:
        outer = msgpack.unpackb(env, raw=False, use_list=True)
    except Exception as e:
        raise ValueError("envelope: not msgpack (%s)" % e)
    if not (isinstance(outer, list) and len(outer) == 2 and isinstance(outer[0], bytes)
            and isinstance(outer[1], bytes) and len(outer[1]) == 64):
        raise ValueError("envelope: not [bin signed part, bin(64) signature]")
    signed, sig = outer
    if pack([signed, sig]) != env:
        raise ValueError("envelope: not canonical")
    sp = unpack_canonical(signed)
    if not (isinstance(sp, list) and len(sp) == 8 and sp[0] == 1 and isinstance(sp[2], bytes)
            and len(sp[2]) == 32):
        raise ValueError("signed part: not [1, kind, origin, ...]")
    try:
        VerifyKey(sp[2]).verify(ANN_CONTEXT + signed, sig)
    except (BadSignatureError, ValueError):
        raise ValueError("bad signature")
    return hashlib.blake2b(signed, digest_size=32).digest(), sp


def read_stream(path):
    """Section 4.1: a file of concatenated envelopes."""
    with open(path, "rb") as f:
        data = f.read()
    out, pos = [], 0
    while pos < len(data):
        if data[pos] != 0x92 or pos + 2 > len(data):
            raise ValueError("%s: not an envelope at byte %d" % (path, pos))
        hb = data[pos + 1]
        if hb == 0xC4:
            n, h = data[pos + 2], 3
        elif hb == 0xC5:
            n, h = struct.unpack(">H", data[pos + 2:pos + 4])[0], 4
        elif hb == 0xC6:
            n, h = struct.unpack(">I", data[pos + 2:pos + 6])[0], 6
        else:
            raise ValueError("%s: not an envelope at byte %d" % (path, pos))
        end = pos + h + n + 66
        if end > len(data):
            raise ValueError("%s: envelope at byte %d cut short" % (path, pos))
        out.append(data[pos:end])
        pos = end
    return out


def gen_events(sk, deep, spread, prefix, now):
    """deep + spread events signed by sk, objects 1000.., versions from
    10^13 (one version per try, so all distinct); the first `deep` have ids
    starting with the hex digits `prefix` (ground by trying versions: the
    id covers the signed part only), so that one range holds more than 32
    ids at several depths. Returns [(id, envelope)]."""
    origin = bytes(sk.verify_key)
    starts = now + 7 * 86400
    expires = starts + 86400
    version = 10**13
    out = []
    for k in range(deep + spread):
        body = ["Replication test %d" % k, None, starts, None, "Europe/Paris", None, "Lyon",
                None, None, None, None, "en", ["interop", "replication"], None, 0]
        head = b"\x98\x01\x02" + pack(origin) + pack(1000 + k)
        tail = pack(now) + pack(expires) + pack(body)
        while True:
            version += 1
            signed = head + pack(version) + tail
            id_ = hashlib.blake2b(signed, digest_size=32).digest()
            if k >= deep or id_.hex().startswith(prefix):
                break
        assert signed == pack([1, 2, origin, 1000 + k, version, now, expires, body])
        sig = sk.sign(ANN_CONTEXT + signed).signature
        out.append((id_, pack([signed, sig])))
    return out


class ReplicationFailure(Exception):
    """The daemon did something section 15 does not allow (or not what the
    scenario expects)."""


class Replicator:
    """The initiator's side of section 15 over a Connection whose hellos
    have been exchanged (both listed `replicate`). Every message from the
    responder goes through handle(); problems are collected in
    self.problems (and end the scenario with status 1)."""

    def __init__(self, conn, st, tag="", initiator=True):
        self.c = conn
        self.st = st
        self.tag = tag
        self.initiator = initiator
        self.peer_role = "responder" if initiator else "initiator"
        self.first_round = []       # the entries of the other side's first round
        self.split = False
        self.problems = []
        self.in_session = False
        self.their_turn = False
        self.round_entries = 0      # entries in the responder's round so far
        self.answer = []            # our answer to the round being received
        self.partial = False
        self.sessions = 0
        self.rounds = 0             # rounds of the current session, both sides
        self.session_syncs = []     # (flags, entries) of each sync received this session
        self.want_queue = []        # short ids to ask for
        self.asked = set()
        self.outstanding = collections.deque()  # [asked ids, index of the last answered]
        self.learned = []           # short ids we learned of (offers and IDS), in order
        self.redundant_offers = []  # offered short ids we held
        self.offers_received = []   # every offered short id
        self.wanted_by_peer = []    # short ids the responder asked for
        self.fetched = {}           # id -> envelope, announcements received
        self.missing = 0            # sum of the responder's `sent` missing counts
        self.our_offers = []
        self.rx = collections.Counter()      # entries received: "FPS1", "IDS4", ...
        self.tx = collections.Counter()      # entries sent
        self.activity = 0
        self.pongs = {}
        self.errors = []

    def problem(self, what):
        self.problems.append(what)
        print("PROBLEM%s: %s" % (self.tag, what), file=sys.stderr, flush=True)

    # -- sending
    def send_round(self, entries, start=False, split=False):
        for e in entries:
            self.tx[("FPS", "IDS")[e[0]] + str(e[1])] += 1
        msgs = round_messages(entries, start=start, split=split)
        for m in msgs:
            self.c.send(m)
        self.rounds += 1
        self.their_turn = True
        self.round_entries = 0
        self.answer = []
        return msgs

    def start_session(self, split=False, entries=None):
        if not self.initiator:
            raise ReplicationFailure("the responder never starts a session (15.4)")
        if self.in_session:
            raise ReplicationFailure("a session is already open")
        self.in_session = True
        self.sessions += 1
        self.rounds = 0
        self.partial = False
        self.session_syncs = []
        if entries is None:
            entries = [describe(self.st, 0, 0)]
        self.split = split
        return self.send_round(entries, start=True, split=split)

    def send_offers(self, shorts):
        for k in range(0, len(shorts), OFFER_MAX):
            self.c.send([T_OFFER, b"".join(shorts[k:k + OFFER_MAX])])
        self.our_offers += shorts

    def queue_wants(self, shorts):
        for s in shorts:
            if s in self.asked or self.st.holds_short(s):
                continue
            self.asked.add(s)
            self.learned.append(s)
            self.want_queue.append(s)
        self.pump()

    def pump(self):
        while self.want_queue and len(self.outstanding) < WANTS_UNANSWERED_MAX:
            batch, self.want_queue = self.want_queue[:WANT_MAX], self.want_queue[WANT_MAX:]
            self.c.send([T_WANT, b"".join(batch)])
            self.outstanding.append([batch, -1, 0])  # ids, last index answered, received

    # -- receiving
    def step(self):
        m = self.c.recv()
        self.handle(m)
        return m

    def handle(self, m):
        bad = validate_session_message(m)
        if bad:
            raise ReplicationFailure("invalid message from the %s: %s: %r" % (self.peer_role,
                                     bad, m if len(repr(m)) < 300 else m[:2]))
        t = m[0]
        if t == T_GOODBYE:
            log("goodbye reason=%d (%s) text=%r" % (m[1], goodbye_name(m[1]), m[2]))
            raise Refused(m[1], m[2])
        if t == T_PING:
            self.c.send([T_PONG, m[1]])
            return
        if t == T_PONG:
            self.pongs[m[1]] = True
            return
        self.activity += 1
        if t == T_ERROR:
            self.errors.append(m)
            self.problem("error code=%d text=%r" % (m[1], m[2]))
        elif t == T_HELLO:
            self.problem("a second hello")
        elif t == T_ANNOUNCE:
            self.on_announce(m[1])
        elif t == T_OFFER:
            self.on_offer(m[1])
        elif t == T_WANT:
            self.on_want(m[1])
        elif t == T_SENT:
            self.on_sent(m[1])
        elif t == T_SYNC:
            self.on_sync(m[1], m[2])
        else:
            self.problem("message of unknown type %d" % t)

    def on_offer(self, ids):
        shorts = [ids[k:k + 16] for k in range(0, len(ids), 16)]
        self.offers_received += shorts
        for s in shorts:
            if self.st.holds_short(s):
                self.redundant_offers.append(s)
        self.queue_wants(shorts)

    def on_want(self, ids):
        shorts = [ids[k:k + 16] for k in range(0, len(ids), 16)]
        self.wanted_by_peer += shorts
        missing = 0
        for s in shorts:
            full = self.st.by_short(s)
            if full and self.st.env.get(full[0]):
                self.c.send([T_ANNOUNCE, self.st.env[full[0]]])
            else:
                missing += 1
        self.c.send([T_SENT, missing])

    def on_announce(self, env):
        try:
            id_, sp = parse_envelope(env)
        except ValueError as e:
            self.problem("announce: %s" % e)
            return
        s = id_[:SHORT_LEN]
        if not self.outstanding:
            self.problem("announce %s with no want unanswered" % id_.hex())
        else:
            w = self.outstanding[0]
            if s not in w[0]:
                self.problem("announce %s not asked in the oldest unanswered want" % id_.hex())
            else:
                k = w[0].index(s)
                if k <= w[1]:
                    self.problem("announce %s out of the order asked" % id_.hex())
                w[1] = k
                w[2] += 1
        if id_ in self.fetched:
            self.problem("announce %s received twice" % id_.hex())
        self.fetched[id_] = env
        self.st.add(id_, env)

    def on_sent(self, missing):
        if not self.outstanding:
            self.problem("sent with no want unanswered")
            return
        ids, _, got = self.outstanding.popleft()
        if missing != len(ids) - got:
            self.problem("sent missing=%d, but %d of %d asked did not come"
                         % (missing, len(ids) - got, len(ids)))
        self.missing += missing
        self.pump()

    def on_sync(self, flags, ranges):
        if self.initiator:
            if flags & SYNC_START:
                self.problem("sync with start from the responder (15.4: protocol error)")
        elif flags & SYNC_START:
            if self.in_session:
                self.problem("sync with start inside a session (round %d)" % self.rounds)
                return
            # the initiator opens a session: its first round
            self.in_session = True
            self.sessions += 1
            self.rounds = 0
            self.partial = False
            self.session_syncs = []
            self.first_round = []
            self.their_turn = True
            self.round_entries = 0
            self.answer = []
        if not self.in_session:
            self.problem("sync outside a session (flags %d, %d bytes)" % (flags, len(ranges)))
            return
        if not self.their_turn:
            self.problem("sync while it is our turn")
            return
        try:
            entries = decode_entries(ranges)
        except SyncError as e:
            raise ReplicationFailure("the %s's sync: %s" % (self.peer_role, e))
        self.session_syncs.append((flags, len(entries)))
        if self.rounds == 0:
            self.first_round += entries
        if flags & SYNC_PARTIAL:
            if flags & SYNC_MORE:
                self.problem("partial on a message that is not its round's last")
            self.partial = True
        offers = []
        for e in entries:
            self.rx[("FPS", "IDS")[e[0]] + str(e[1])] += 1
            out, off, wants = answer_entry(self.st, e)
            self.answer += out
            offers += off
            self.queue_wants(wants)
        if offers:
            self.send_offers(offers)
        self.round_entries += len(entries)
        if flags & SYNC_MORE:
            return
        # the other side's round is complete
        self.rounds += 1
        self.their_turn = False
        if self.round_entries == 0:
            self.in_session = False  # an empty round ends the session
            return
        answer = self.answer
        self.send_round(answer, split=self.split)
        if not answer:
            self.their_turn = False
            self.in_session = False

    # -- waiting
    def run_until(self, done, what, limit=60.0):
        deadline = time.time() + limit
        while not done():
            if time.time() > deadline:
                raise ReplicationFailure("timed out waiting for %s" % what)
            self.step()

    def finish_session(self):
        self.run_until(lambda: not self.in_session, "the end of the session")

    def quiesce(self, limit=60.0):
        """Until our wants are answered and a ping comes back with nothing
        else received since it was sent (messages are handled in order, so
        the responder has then handled everything we sent)."""
        deadline = time.time() + limit
        while True:
            self.run_until(lambda: not self.outstanding and not self.want_queue,
                           "the answers to our wants", max(1.0, deadline - time.time()))
            before = self.activity
            token = int.from_bytes(os.urandom(8), "big")
            self.c.send([T_PING, token])
            self.run_until(lambda: token in self.pongs, "pong %d" % token,
                           max(1.0, deadline - time.time()))
            if self.activity == before and not self.outstanding and not self.want_queue:
                return
            if time.time() > deadline:
                raise ReplicationFailure("the connection does not settle down")


def open_session(a, sk, expected, caps=("announce", "replicate")):
    """TCP connect, handshake, hello both ways; the responder must list
    `replicate`. Returns the Connection."""
    sock = socket.create_connection((a.host, a.port), timeout=a.timeout)
    sock.settimeout(a.timeout)
    c = Connection(sock)
    try:
        c.handshake(sk, expected)
        c.send([T_HELLO, a.name, 0, "amicale-interop-py/1", list(caps), int(time.time()), None])
        hello = c.next_message()
        check_hello(hello, a.expect_name)
        c.hello_received = True
        if "replicate" in caps and "replicate" not in hello[4]:
            raise ReplicationFailure("the responder's hello does not list 'replicate'")
        return c
    except BaseException:
        sock.close()
        raise


def close_session(c, text="interop client done"):
    c.send([T_GOODBYE, 0, text])
    try:
        c.sock.shutdown(socket.SHUT_WR)
        while True:
            m = c.recv()
            if m[0] == T_GOODBYE:
                break
    except (EOFError, OSError, ValueError, NoiseError):
        pass
    c.sock.close()


def _hexs(shorts):
    return sorted(s.hex() for s in shorts)


def checker(failures):
    """check(cond, what): logs ok, or records and prints the failure;
    returns cond."""
    def check(cond, what):
        if cond:
            log("ok: " + what)
        else:
            failures.append(what)
            print("FAIL: " + what, file=sys.stderr, flush=True)
        return cond
    return check


def run_replicate(a, sk, expected):
    """Scenario replicate (section 15), as the initiator; see the usage."""
    failures = []
    check = checker(failures)

    # what the client holds: --hold (a file of announcements) and a new event
    held, initial, server = load_sets(a, sk, "responder")
    log("client holds %d ids, the responder %d (by --server-ids), %d in common"
        % (len(initial), len(server), len(initial & server)))
    short_server = set(i[:16] for i in server)
    lack = server - initial           # what the client must learn and fetch
    extra = initial - server          # what the responder must want

    # -- 1. an empty set: the root as an IDS of no id; the responder offers
    # all it holds and answers with an empty round; everything is fetched
    c = open_session(a, sk, expected)
    r0 = Replicator(c, IdSet(), " (empty set)")
    r0.start_session(entries=[(MODE_IDS, 0, 0, [])])
    r0.finish_session()
    r0.quiesce()
    check(r0.session_syncs == [(0, 0)],
          "empty set: the responder answers IDS(root, no id) with one empty sync, flags 0 "
          "(got %r)" % r0.session_syncs)
    check(sorted(r0.offers_received) == sorted(short_server),
          "empty set: the responder offers each of its %d ids once (offered %d, %d distinct)"
          % (len(short_server), len(r0.offers_received), len(set(r0.offers_received))))
    check(set(r0.fetched) == server,
          "empty set: fetched the %d announcements, signatures verified, ids = the responder's list"
          " (fetched %d; not listed: %s; listed, not fetched: %s)"
          % (len(server), len(r0.fetched), [i.hex()[:12] for i in set(r0.fetched) - server],
             [i.hex()[:12] for i in server - set(r0.fetched)]))
    check(not r0.wanted_by_peer, "empty set: the responder wants nothing")
    check(not r0.problems, "empty set: no protocol problem")
    # the same as an FPS of the root whose 16 fingerprints are the empty
    # set's: the responder offers every id it holds in each child
    r0b = Replicator(c, IdSet(), " (zero FPS)")
    r0b.start_session(entries=[(MODE_FPS, 0, 0, [ZERO_FP] * 16)])
    r0b.finish_session()
    r0b.quiesce()
    check(r0b.session_syncs == [(0, 0)] and sorted(r0b.offers_received) == sorted(short_server)
          and set(r0b.fetched) == server and not r0b.wanted_by_peer and not r0b.problems,
          "zero FPS of the root: all %d ids offered once and fetched, empty round (offered %d, "
          "syncs %r)" % (len(short_server), len(r0b.offers_received), r0b.session_syncs))
    # a big round both ways: 12,000 FPS entries of depth 4 (distinct prefixes,
    # fingerprints that match nothing) in 3 sync messages joined by `more`;
    # the responder describes each child: 192,000 IDS entries of depth 5,
    # more than one sync can carry, so its round is cut too
    prefixes = [k * 5 for k in range(12000)]
    big = [(MODE_FPS, 4, p4, [b"\x01" * 16] * 16) for p4 in prefixes]
    r0c = Replicator(c, IdSet(), " (big round)")
    sent = r0c.start_session(entries=big)
    r0c.finish_session()
    r0c.quiesce()
    covered = set(prefixes)
    inside = set(s for s in short_server if int.from_bytes(s[:2], "big") in covered)
    flags = [f for f, _ in r0c.session_syncs]
    log("big round: %d sync messages sent (flags %r), %d received (flags %r), %d entries received"
        % (len(sent), [m[1] for m in sent], len(flags), flags, sum(r0c.rx.values())))
    check(len(sent) >= 2 and len(flags) >= 2 and all(f == SYNC_MORE for f in flags[:-1])
          and flags[-1] in (0, SYNC_PARTIAL),
          "big round: the responder's round is cut in several syncs joined by more "
          "(flags %r)" % flags)
    check(r0c.rx == collections.Counter({"IDS5": 16 * len(prefixes)}) or SYNC_PARTIAL in flags,
          "big round: one IDS of depth 5 for each of the 16 x %d children (got %r)"
          % (len(prefixes), dict(r0c.rx)))
    check(sorted(r0c.learned) == sorted(inside) and set(r0c.fetched) == set(
        i for i in server if i[:16] in inside) and not r0c.problems,
          "big round: learned and fetched the %d ids under those prefixes" % len(inside))
    close_session(c)
    log("empty-set session: offered %d, fetched %d" % (len(r0.offers_received), len(r0.fetched)))

    # -- 2. the real set: a session with rounds sent one entry per message
    c = open_session(a, sk, expected)
    r = Replicator(c, held, " (session 1)")
    r.start_session(split=True)
    r.finish_session()
    r.quiesce()
    log("session 1: %d rounds; entries sent %s; received %s"
        % (r.rounds, dict(sorted(r.tx.items())), dict(sorted(r.rx.items()))))
    fps_depths = sorted(int(k[3:]) for k in r.rx if k.startswith("FPS"))
    ids_depths = sorted(int(k[3:]) for k in r.rx if k.startswith("IDS"))
    log("session 1: responder FPS depths %s IDS depths %s"
        % (" ".join(map(str, fps_depths)) or "-", " ".join(map(str, ids_depths)) or "-"))
    check(sorted(r.learned) == sorted(i[:16] for i in lack),
          "session 1: learned exactly the %d ids the responder holds and the client lacks "
          "(learned %d: unexpected %s, not learned %s)"
          % (len(lack), len(r.learned), _hexs(set(r.learned) - set(i[:16] for i in lack)),
             _hexs(set(i[:16] for i in lack) - set(r.learned))))
    check(not r.redundant_offers, "session 1: no offer of an id the client held (%s)"
          % _hexs(r.redundant_offers))
    check(set(r.fetched) == lack and r.missing == 0,
          "session 1: fetched them all with want, signatures verified, sent missing=0 "
          "(fetched %d, missing %d)" % (len(r.fetched), r.missing))
    check(sorted(r.wanted_by_peer) == sorted(i[:16] for i in extra),
          "session 1: the responder wanted exactly the %d ids it lacked (wanted %d: %s)"
          % (len(extra), len(r.wanted_by_peer), _hexs(r.wanted_by_peer)))
    check(not r.partial, "session 1: no partial round")
    check(all(f & ~SYNC_MORE == 0 for f, _ in r.session_syncs[:-1])
          and r.session_syncs and r.session_syncs[-1][0] == 0,
          "session 1: the responder's flags: more within rounds, nothing else (%r)"
          % r.session_syncs)
    for sh in sorted(r.wanted_by_peer):  # as asked (short ids), named by the full id held
        for i in held.by_short(sh) or [sh]:
            log("responder wanted id=%s" % i.hex())
    for i in sorted(r.fetched):
        log("fetched id=%s" % i.hex())

    # -- 3. at once, a second session on the same connection: no difference
    before = (len(r.learned), len(r.wanted_by_peer), len(r.offers_received), len(r.fetched))
    r.tag = " (session 2)"
    r.start_session()
    r.finish_session()
    r.quiesce()
    check(r.session_syncs == [(0, 0)],
          "session 2: the responder answers the root's %s with one empty sync (got %r)"
          % ("FPS" if len(held) > DESCRIBE_MAX else "IDS", r.session_syncs))
    check(before == (len(r.learned), len(r.wanted_by_peer), len(r.offers_received),
                     len(r.fetched)),
          "session 2: no offer, want or announce")
    if r.session_syncs == [(0, 0)]:
        log("session 2: empty answer, no difference")

    # -- 4. a want of one id held on both sides and one nobody holds
    common = sorted(initial & server)
    unknown = os.urandom(16)
    if common:
        want = [common[0][:16], unknown]
        r.outstanding.append([want, -1, 0])
        had = len(r.fetched)
        c.send([T_WANT, b"".join(want)])
        r.run_until(lambda: not r.outstanding, "sent")
        r.quiesce()
        check(len(r.fetched) == had + 1 and r.missing == 1,
              "want [held, unknown]: one announce, then sent missing=1")
        if r.missing == 1:
            log("want of an unknown id: sent missing=1")

    # -- 4b. an offer of an event whose origin the responder does not trust:
    # it cannot tell from the short id, so it wants it; the announce that
    # answers is refused (section 8, unknown-origin) without harming the
    # connection (15.5); it need not be wanted again
    if a.untrusted_key:
        usk = load_secret_key(a.untrusted_key)
        env_u, id_u = event_envelope(usk, 1, int(time.time() * 1000), "Untrusted meetup",
                                     int(time.time()))
        uid = bytes.fromhex(id_u)
        held.add(uid, env_u)
        n_wanted = len(r.wanted_by_peer)
        c.send([T_OFFER, uid[:16]])
        r.quiesce()
        check(r.wanted_by_peer[n_wanted:] == [uid[:16]],
              "offer of an untrusted origin's event: the responder wants it")
        log("untrusted id=%s" % id_u)
        n_wanted = len(r.wanted_by_peer)
        c.send([T_OFFER, uid[:16]])
        r.quiesce()
        log("untrusted offered again: %s" % ("wanted again" if len(r.wanted_by_peer) > n_wanted
                                              else "not wanted again"))
        held.remove(uid)
        check(not r.errors, "the refused announce is not answered with an error; the connection "
                            "goes on")
    check(not r.problems, "sessions 1 and 2: no protocol problem (%s)" % "; ".join(r.problems))
    close_session(c)

    # -- 5. a fresh connection: the sets agree
    c = open_session(a, sk, expected)
    r2 = Replicator(c, held, " (fresh connection)")
    r2.start_session()
    r2.finish_session()
    r2.quiesce()
    check(r2.session_syncs == [(0, 0)] and not r2.offers_received and not r2.wanted_by_peer
          and not r2.problems,
          "fresh connection: empty answer, nothing offered or wanted (syncs %r)"
          % r2.session_syncs)
    if r2.session_syncs == [(0, 0)]:
        log("fresh session: empty answer")
    close_session(c)
    log("replicate: %d checks failed" % len(failures))
    return 1 if failures else 0


def load_sets(a, sk, other):
    """What the client holds (--hold, plus a new event of its own) and what
    the daemon holds (--server-ids): (held, initial ids, server ids)."""
    held = IdSet()
    for env in read_stream(a.hold) if a.hold else []:
        id_, _ = parse_envelope(env)
        held.add(id_, env)
    now = int(time.time())
    env_e, id_e = event_envelope(sk, a.object, a.version or int(time.time() * 1000), a.title, now)
    held.add(bytes.fromhex(id_e), env_e)
    log("announced id=%s (held by the client, not yet by the %s)" % (id_e, other))
    with open(a.server_ids) as f:
        server = set(bytes.fromhex(line.strip()) for line in f if line.strip())
    return held, set(held.env), server


def run_serve(a, sk, expected):
    """Scenario serve: the client listens, the responder of the other
    scenarios (whose key is --server-key) connects to it as to a peer and,
    as the initiator, runs the reconciliation session (15.4); the client
    answers as the responder."""
    held, initial, server = load_sets(a, sk, "initiator")
    lack, extra = server - initial, initial - server
    log("client holds %d ids, the initiator %d, %d in common"
        % (len(initial), len(server), len(initial & server)))
    failures = []
    check = checker(failures)

    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.host, 0))
    ls.listen(4)
    port = ls.getsockname()[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(a.port_file + ".tmp", a.port_file)
    log("listening on %s:%d" % (a.host, port))
    ls.settimeout(a.linger)
    sock, addr = ls.accept()
    ls.close()
    sock.settimeout(a.timeout)
    c = Connection(sock)
    try:
        c.respond(sk, expected)
        c.send([T_HELLO, a.name, 0, "amicale-interop-py/1", ["announce", "replicate"],
                int(time.time()), None])
        hello = c.next_message()
        check_hello(hello, a.expect_name)
        c.hello_received = True
        if "replicate" not in hello[4]:
            raise ReplicationFailure("the initiator's hello does not list 'replicate'")
        r = Replicator(c, held, " (responder)", initiator=False)
        t0 = time.time()
        r.run_until(lambda: r.sessions >= 1, "the initiator's session", 20.0)
        log("session opened %.2f s after the hellos" % (time.time() - t0))
        r.finish_session()
        r.quiesce()
        log("initiator's session: %d rounds; entries received %s; sent %s"
            % (r.rounds, dict(sorted(r.rx.items())), dict(sorted(r.tx.items()))))
        want_first = [describe(IdSet(server), 0, 0)]
        check(r.session_syncs and r.session_syncs[0][0] & SYNC_START,
              "the initiator's first sync has start (flags %r)" % (r.session_syncs[:1],))
        check(r.first_round == want_first,
              "the initiator's first round describes its whole set: %s of the root, as computed "
              "here from its %d ids" % (("FPS", "IDS")[want_first[0][0]], len(server)))
        if r.first_round != want_first and r.first_round and r.first_round[0][0] == MODE_FPS \
                and want_first[0][0] == MODE_FPS:
            for n in range(16):
                if r.first_round[0][3][n] != want_first[0][3][n]:
                    log("child %x: initiator %s, computed %s" % (n, r.first_round[0][3][n].hex(),
                                                                 want_first[0][3][n].hex()))
        check(sorted(r.learned) == sorted(i[:16] for i in lack),
              "learned exactly the %d ids the initiator holds and the client lacks (learned %d)"
              % (len(lack), len(r.learned)))
        check(set(r.fetched) == lack and r.missing == 0,
              "fetched them all, signatures verified (fetched %d, missing %d)"
              % (len(r.fetched), r.missing))
        check(sorted(r.wanted_by_peer) == sorted(i[:16] for i in extra),
              "the initiator wanted exactly the %d ids it lacked (wanted %d)"
              % (len(extra), len(r.wanted_by_peer)))
        check(not r.redundant_offers and not r.partial, "no redundant offer, no partial round")
        # 15.4 When: the next session, 60 s after this one (nothing is wanted)
        sessions = r.sessions
        deadline = time.time() + a.quiet
        sock.settimeout(0.5)
        while time.time() < deadline:
            try:
                r.step()
            except socket.timeout:
                continue
        sock.settimeout(a.timeout)
        check(r.sessions == sessions, "no other session within %.0f s" % a.quiet)
        check(not r.problems, "no protocol problem (%s)" % "; ".join(r.problems))
        for sh in sorted(r.wanted_by_peer):
            for i in held.by_short(sh) or [sh]:
                log("initiator wanted id=%s" % i.hex())
        # 15.4: a sync with start from the node that accepted the connection
        # is a protocol error
        c.send([T_SYNC, SYNC_START, encode_ids(0, 0, [])])
        got = None
        try:
            while True:
                m = c.recv()
                if m[0] == T_GOODBYE:
                    got = m
                    break
                if m[0] == T_PING:
                    c.send([T_PONG, m[1]])
                    continue
                got = m
                break
        except (EOFError, OSError) as e:
            got = "closed: %s" % e
        check(isinstance(got, list) and got[:2] == [T_GOODBYE, 3],
              "a sync with start from the responder: goodbye protocol-error (got %r)" % (got,))
    finally:
        sock.close()
    log("serve: %d checks failed" % len(failures))
    return 1 if failures else 0


def run_watch(a, sk, expected):
    """Scenario watch: connect listing `replicate`, start no session, and
    wait (--linger seconds) for offers (15.5): each offered id is wanted,
    fetched and verified; done when --expect-offers announcements have
    arrived (or, with 0, when --linger has passed). --announce first pushes
    a new event signed by the client's key (an `announce`): the responder
    must not offer it back on the same connection."""
    c = open_session(a, sk, expected)
    r = Replicator(c, IdSet(), " (watch)")
    failures = []
    own = None
    if a.announce:
        env, id_ = event_envelope(sk, a.object, a.version or int(time.time() * 1000), a.title,
                                  int(time.time()))
        own = bytes.fromhex(id_)
        r.st.add(own, env)
        c.send([T_ANNOUNCE, env])
        log("announced id=%s" % id_)
        r.quiesce()
    log("watching")
    deadline = time.time() + a.linger
    c.sock.settimeout(0.5)
    while time.time() < deadline:
        if a.expect_offers and len(r.fetched) >= a.expect_offers and not r.outstanding:
            break
        try:
            r.step()
        except socket.timeout:
            continue
    c.sock.settimeout(a.timeout)
    r.quiesce()
    for id_, env in r.fetched.items():
        _, sp = parse_envelope(env)
        log("offered id=%s kind=%d origin=%s" % (id_.hex(), sp[1], b64url_nopad(sp[2])))
    if len(r.fetched) != a.expect_offers or len(r.offers_received) != a.expect_offers:
        failures.append("expected %d offers, got %d (fetched %d)"
                        % (a.expect_offers, len(r.offers_received), len(r.fetched)))
    if own is not None and own[:16] in r.offers_received:
        failures.append("the responder offered back the event this connection announced")
    if r.sessions or r.session_syncs:
        failures.append("a sync arrived")
    failures += r.problems
    for f in failures:
        print("FAIL: watch: %s" % f, file=sys.stderr)
    close_session(c)
    log("watch: %d offers, %d checks failed" % (len(r.offers_received), len(failures)))
    return 1 if failures else 0


def _ids_raw(depth, pval, shorts):
    """An IDS entry without the encoder's checks (to break them)."""
    return (bytes([MODE_IDS, depth]) + prefix_bytes(depth, pval) + struct.pack(">H", len(shorts))
            + b"".join(shorts))


def malformed_cases():
    """(name, capabilities, messages to send, what the responder must do:
    'goodbye' = goodbye protocol-error; ('error', code) = an error, the
    connection goes on), types it may send before."""
    s1 = bytes.fromhex("10" + "00" * 15)
    s2 = bytes.fromhex("20" + "00" * 15)
    empty_root = encode_ids(0, 0, [])
    many = [k.to_bytes(16, "big") for k in range(4097)]
    R = ("announce", "replicate")
    return [
        ("mode-2", R, [[T_SYNC, 1, bytes([2, 0])]], "goodbye", ()),
        ("fps-depth-32", R, [[T_SYNC, 1, bytes([0, 32]) + bytes(16) + bytes(256)]], "goodbye", ()),
        ("ids-depth-33", R, [[T_SYNC, 1, bytes([1, 33]) + bytes(17) + b"\0\0"]], "goodbye", ()),
        ("bits-past-depth", R, [[T_SYNC, 1, bytes([1, 1, 0x1F, 0, 0])]], "goodbye", ()),
        ("ids-out-of-order", R, [[T_SYNC, 1, _ids_raw(0, 0, [s2, s1])]], "goodbye", ()),
        ("ids-duplicate", R, [[T_SYNC, 1, _ids_raw(0, 0, [s1, s1])]], "goodbye", ()),
        ("ids-outside-range", R, [[T_SYNC, 1, _ids_raw(2, 0xAB, [bytes.fromhex("ac" + "00" * 15)])]],
         "goodbye", ()),
        ("ids-4097", R, [[T_SYNC, 1, _ids_raw(0, 0, many)]], "goodbye", ()),
        ("fps-cut-short", R, [[T_SYNC, 1, bytes([0, 0]) + bytes(255)]], "goodbye", ()),
        ("ids-cut-short", R, [[T_SYNC, 1, _ids_raw(0, 0, [s1, s2])[:-16]]], "goodbye", ()),
        ("header-cut-short", R, [[T_SYNC, 1, b"\x01"]], "goodbye", ()),
        ("flag-8", R, [[T_SYNC, 1 | 8, empty_root]], "goodbye", ()),
        ("sync-without-start", R, [[T_SYNC, 0, empty_root]], "goodbye", ()),
        # the entries of the first message are answered as they arrive (15.4):
        # the responder may offer before it reads the second
        ("start-mid-round", R, [[T_SYNC, 1 | 2, empty_root], [T_SYNC, 1, empty_root]], "goodbye",
         (T_OFFER,)),
        ("two-rounds-in-a-row", R, [[T_SYNC, 1, empty_root], [T_SYNC, 0, empty_root]], "goodbye",
         (T_OFFER, T_SYNC)),
        ("ranges-not-bin", R, [[T_SYNC, 1, "x"]], "goodbye", ()),
        ("sent-without-want", R, [[T_SENT, 0]], "goodbye", ()),
        ("offer-empty", R, [[T_OFFER, b""]], "goodbye", ()),
        ("offer-17-bytes", R, [[T_OFFER, bytes(17)]], "goodbye", ()),
        ("want-4097", R, [[T_WANT, b"".join(many)]], "goodbye", ()),
        ("offer-32769", R, [[T_OFFER, b"".join(k.to_bytes(16, "big") for k in range(32769))]],
         "goodbye", ()),
        # 1,048,561 bytes of whole entries (4015 FPS of depth 0, 49 of depth
        # 2): one byte more than a sync may carry, in a message under 1 MiB
        ("ranges-1048561", R, [[T_SYNC, 1, encode_fps(0, 0, [bytes(15) + b"\x01"] * 16) * 4015
                                + encode_fps(2, 0, [bytes(15) + b"\x01"] * 16) * 49]],
         "goodbye", ()),
    ]


def run_malformed(a, sk, expected):
    cases = malformed_cases()
    if a.case and a.case != "all":
        names = a.case.split(",")
        cases = [k for k in cases if k[0] in names]
        if len(cases) != len(names):
            raise ValueError("unknown case in %r (known: %s)"
                             % (a.case, ", ".join(k[0] for k in malformed_cases())))
    ok = 0
    for n, (name, caps, msgs, expect, allowed) in enumerate(cases):
        if n:
            time.sleep(a.pace)  # 14.8: new handshakes per address, 1 per second after a burst
        c = open_session(a, sk, expected, caps)
        for m in msgs:
            c.send(m)
        got = None
        seen = []
        try:
            deadline = time.time() + a.timeout
            while time.time() < deadline:
                m = c.recv()
                if m[0] == T_PING:
                    c.send([T_PONG, m[1]])
                    continue
                if m[0] == T_GOODBYE:
                    got = ("goodbye", m[1], m[2])
                    break
                if m[0] == T_ERROR and expect != "goodbye":
                    got = ("error", m[1], m[2])
                    break
                seen.append(m[0])
                if m[0] not in allowed:
                    got = ("message", m[0], repr(m)[:120])
                    break
        except (EOFError, OSError) as e:
            got = ("closed", None, str(e))
        good = got is not None and got[0] == "goodbye" and got[1] == 3
        if good:
            ok += 1
            log("malformed %s: goodbye reason=3 (protocol-error) text=%r" % (name, got[2]))
        else:
            print("FAIL: malformed %s: expected goodbye protocol-error, got %r (after %r)"
                  % (name, got, seen), file=sys.stderr, flush=True)
        c.sock.close()
    log("malformed: %d cases, %d refused with goodbye protocol-error" % (len(cases), ok))
    return 0 if ok == len(cases) else 1


def run_probe_nocap(a, sk, expected):
    """A client whose hello does not list `replicate` sends a sync: the
    responder answers error unsupported (1) and the connection goes on
    (14.5 says so of a node that did not list the capability itself; of a
    sender that did not list it, it says only that it must not send)."""
    c = open_session(a, sk, expected, ("announce",))
    c.send([T_SYNC, 1, encode_ids(0, 0, [])])
    token = int.from_bytes(os.urandom(8), "big")
    c.send([T_PING, token])
    seen = []
    try:
        while True:
            m = c.recv()
            if m[0] == T_PING:
                c.send([T_PONG, m[1]])
                continue
            seen.append(m if m[0] != T_OFFER else [T_OFFER, "%d ids" % (len(m[1]) // 16)])
            if m[0] == T_GOODBYE or m == [T_PONG, token]:
                break
    except (EOFError, OSError) as e:
        seen.append("closed: %s" % e)
    log("no-replicate: the responder sent %r" % (seen,))
    if not seen or seen[-1] != [T_PONG, token]:
        c.sock.close()
        print("FAIL: no-replicate: the connection did not go on", file=sys.stderr)
        return 1
    close_session(c)
    if len(seen) == 2 and seen[0][:2] == [T_ERROR, 1]:
        log("no-replicate: error code=1 (unsupported), the connection goes on")
        return 0
    print("FAIL: no-replicate: expected one error unsupported, got %r" % (seen,), file=sys.stderr)
    return 1


# ---------------------------------------------------------------------------
# Members: the client role (section 16)
# ---------------------------------------------------------------------------

T_REQUEST, T_RESPONSE = 10, 11                  # 14.5, 16.3
LOGIN_CONTEXT = b"amicale/login/1"              # 16.1
LOGIN_PREFIX = "amicale-login:"
STATUS = ["ok", "bad-request", "not-found", "rate-limited", "forbidden", "internal",
          "unknown-method"]                     # 16.3
ST_OK, ST_BAD_REQUEST, ST_NOT_FOUND, ST_RATE_LIMITED, ST_FORBIDDEN, ST_INTERNAL, \
    ST_UNKNOWN_METHOD = range(7)
R_PROTOCOL_ERROR, R_INVITATION_REFUSED, R_REVOKED = 3, 7, 11
RATE_BUCKET, RATE_REFILL = 30, 10.0             # 16.6: a bucket of 30, 10 per second
PARAMS_MAX = 1048494                            # 16.3
INST_KINDS = ("school", "company", "association", "federation")


def status_name(s):
    return STATUS[s] if isinstance(s, int) and 0 <= s < len(STATUS) else "unknown"


class LoginCode:
    """16.1: "amicale-login:" base64url-nopad(01 | secret | identity | port | host)."""

    def __init__(self, text):
        text = text.strip()
        if not text.startswith(LOGIN_PREFIX):
            raise ValueError("a login code starts with %r" % LOGIN_PREFIX)
        b64 = text[len(LOGIN_PREFIX):]
        raw = b64url_nopad_decode(b64)
        if b64url_nopad(raw) != b64:
            raise ValueError("login code: not base64url without padding")
        if len(raw) < 1 + 16 + 32 + 2 + 1 or raw[0] != 1:
            raise ValueError("login code: not format 01, or too short (%d bytes)" % len(raw))
        self.secret = raw[1:17]
        self.identity = raw[17:49]
        self.port = struct.unpack(">H", raw[49:51])[0]
        host = raw[51:]
        if not 1 <= len(host) <= 253 or not 1 <= self.port <= 65535:
            raise ValueError("login code: host of %d bytes, port %d" % (len(host), self.port))
        self.host = host.decode("ascii")
        d = hashlib.blake2b(LOGIN_CONTEXT, digest_size=64, key=self.secret).digest()
        self.id, self.mac_key = d[0:8], d[32:64]

    def connect_host(self):
        h = self.host  # 14.10: an IPv6 address is in brackets
        return h[1:-1] if h.startswith("[") and h.endswith("]") else h

    def proof(self, h, bad_mac=False):
        mac = hashlib.blake2b(h, digest_size=32, key=self.mac_key).digest()
        if bad_mac:
            mac = bytes([mac[0] ^ 1]) + mac[1:]
        return self.id + mac


def save_member_key(sk, path):
    """The member's secret key, in the node.key format, mode 0600 (16.2)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("# amicale member key (interop client)\n")
        f.write("amicale-secret-key-v1 %s\n" % b64url_nopad(bytes(sk) + bytes(sk.verify_key)))


class MemberFailure(Exception):
    pass


class MemberClient:
    """One client session (16.3): handshake as a member, hello with `client`,
    requests and their responses."""

    def __init__(self, a, sk, expected, host, port, invitation=None):
        self.a, self.sk, self.expected = a, sk, expected
        sock = socket.create_connection((host, port), timeout=a.timeout)
        sock.settimeout(a.timeout)
        self.c = Connection(sock)
        self.next_id = 1
        self.node_hello = None
        try:
            self.c.handshake(sk, expected, invitation=invitation)
        except BaseException:
            sock.close()
            raise

    def hello(self, caps=("client",)):
        """Sends the client's hello, reads the node's (a goodbye raises
        Refused) and checks it lists `members`, not announce/replicate."""
        self.c.send([T_HELLO, "member", 0, "amicale-interop-py/1", list(caps), int(time.time()),
                     None])
        m = self.c.next_message()
        if validate_session_message(m):
            raise MemberFailure("node hello: %s" % validate_session_message(m))
        check_hello(m, self.a.expect_name, need=())
        caps = m[4]
        if "members" not in caps or "announce" in caps or "replicate" in caps:
            raise MemberFailure("the node's hello to a client lists %r (16.3: `members`, not "
                                "`announce` or `replicate`)" % (caps,))
        self.c.hello_received = True
        self.node_hello = m
        return m

    def send_request(self, method, params, request_id=None):
        rid = self.next_id if request_id is None else request_id
        self.next_id = max(self.next_id, rid) + 1 if request_id is None else self.next_id
        if isinstance(params, dict):
            params = json.dumps(params, ensure_ascii=False, separators=(",", ":"))
        self.c.send([T_REQUEST, rid, method, params])
        return rid

    def read_response(self, rid):
        """The next response; checks its framing (16.3): [11, rid, status,
        result], result a JSON object, {"error": sentence} when not ok.
        Returns (status, result)."""
        while True:
            m = self.c.next_message()
            if m[0] == T_PONG:
                continue
            break
        if m[0] != T_RESPONSE:
            raise MemberFailure("expected a response to request %d, got %r" % (rid, m[:3]))
        if len(m) != 4 or not _is_uint(m[1]) or not _is_uint(m[2]) or not isinstance(m[3], str):
            raise MemberFailure("response not [11, request_id, status, result]: %r" % (m,))
        if m[1] != rid:
            raise MemberFailure("response to request %d carries id %d" % (rid, m[1]))
        status, text = m[2], m[3]
        if "\x00" in text:
            raise MemberFailure("response %d: result holds a NUL byte" % rid)
        try:
            result = json.loads(text)
        except ValueError as e:
            raise MemberFailure("response %d: result is not JSON (%s): %r" % (rid, e, text[:200]))
        if not isinstance(result, dict):
            raise MemberFailure("response %d: result is not an object: %r" % (rid, text[:200]))
        if status != ST_OK and not (isinstance(result.get("error"), str) and result["error"]):
            raise MemberFailure("response %d: status %d (%s) without {\"error\": sentence}: %r"
                                % (rid, status, status_name(status), text[:200]))
        return status, result

    def call(self, method, params="{}"):
        rid = self.send_request(method, params)
        return self.read_response(rid)

    def ping(self):
        """A ping answered by its pong: the session goes on."""
        token = int.from_bytes(os.urandom(8), "big")
        self.c.send([T_PING, token])
        while True:
            m = self.c.next_message()
            if m == [T_PONG, token]:
                return True
            raise MemberFailure("expected pong %d, got %r" % (token, m[:3]))

    def close(self, text="interop member done"):
        close_session(self.c, text)


def member_target(a):
    """(code or None, host, port, expected identity) from --code or
    --host/--port/--server-key."""
    code = LoginCode(a.code) if a.code else None
    if code:
        if a.server_key and key_from_text(a.server_key) != code.identity:
            raise ValueError("--server-key is not the identity in the code")
        return code, code.connect_host(), code.port, code.identity
    if not a.server_key:
        raise ValueError("--server-key or --code is needed")
    return None, a.host, a.port, key_from_text(a.server_key)


def member_key(a, code):
    """A fresh key for a login with a code (16.2), saved to --member-key when
    given; otherwise the key in --member-key."""
    if code is not None:
        sk = SigningKey.generate()
        if a.member_key:
            save_member_key(sk, a.member_key)
        return sk
    if not a.member_key:
        raise ValueError("--member-key FILE (or --code) is needed")
    return load_secret_key(a.member_key)


def expect_goodbye_first(mc, reason):
    """14.3, 14.5: a refused initiator sends its hello and reads a goodbye as
    the first message, then the responder closes."""
    try:
        mc.c.send([T_HELLO, "member", 0, "amicale-interop-py/1", ["client"], int(time.time()),
                   None])
    except OSError:
        pass  # the responder may have closed already; the goodbye is still to read
    try:
        m = mc.c.next_message()
        return "first message %r, not a goodbye" % (m[:3],)
    except Refused as r:
        if r.reason != reason:
            return "goodbye reason %d (%s), expected %d (%s)" % (
                r.reason, goodbye_name(r.reason), reason, goodbye_name(reason))
        if not r.text:
            log("note: the goodbye has no text")
    except (EOFError, OSError) as e:
        return "closed without a goodbye: %s" % e
    finally:
        mc.c.sock.close()
    return ""


def check_inst(v, where):
    """16.4: inst = {"key": key text, "name": text, "kind": kind name or null}."""
    if not isinstance(v, dict) or set(v) != {"key", "name", "kind"}:
        return "%s: institution %r is not {key, name, kind}" % (where, v)
    try:
        key_from_text(v["key"])
    except (ValueError, AttributeError):
        return "%s: institution key %r is not a key text" % (where, v.get("key"))
    if not isinstance(v["name"], str) or not (v["kind"] is None or v["kind"] in INST_KINDS):
        return "%s: institution name/kind %r" % (where, v)
    return ""


PROFILE_LISTS = ("emails", "skills", "languages", "mentoring_topics")
PROFILE_FIELDS = ("given_name", "family_name", "usual_name", "emails", "phone", "promo",
                  "programme", "diploma", "department", "employer", "job_title", "sector",
                  "city", "country", "skills", "languages", "linkedin", "website", "bio",
                  "mentoring", "mentoring_topics")


def check_person(p, where):
    """16.4: person = {institution, local, id, fields}; fields non-empty,
    lists as arrays, promo a number, mentoring true."""
    if not isinstance(p, dict) or set(p) != {"institution", "local", "id", "fields"}:
        return "%s: person %r is not {institution, local, id, fields}" % (where, p)
    e = check_inst(p["institution"], where)
    if e:
        return e
    if not isinstance(p["local"], bool) or not _is_uint(p["id"]) or not isinstance(p["fields"], dict):
        return "%s: person local/id/fields %r" % (where, p)
    for k, v in p["fields"].items():
        if v in (None, "", [], False):
            return "%s: field %s is empty (%r); only non-empty fields are sent" % (where, k, v)
        if k in PROFILE_LISTS and not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
            return "%s: list field %s is %r" % (where, k, v)
        if k == "promo" and not _is_uint(v):
            return "%s: promo %r is not a number" % (where, v)
        if k == "mentoring" and v is not True:
            return "%s: mentoring %r" % (where, v)
    return ""


def check_page(r, where, item_check):
    """16.4: {"total", "offset", "results": [...]}."""
    if not isinstance(r, dict) or not {"total", "offset", "results"} <= set(r):
        return "%s: result %r is not {total, offset, results}" % (where, str(r)[:200])
    if not _is_uint(r["total"]) or not _is_uint(r["offset"]) or not isinstance(r["results"], list):
        return "%s: total/offset/results types" % where
    if len(r["results"]) > max(0, r["total"] - r["offset"]):
        return "%s: %d results with total %d offset %d" % (where, len(r["results"]), r["total"],
                                                         r["offset"])
    for i, x in enumerate(r["results"]):
        e = item_check(x, "%s result %d" % (where, i))
        if e:
            return e
    return ""


ISO_UTC = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"


def check_announcement_json(x, where, required):
    """16.4: the announcement as JSON (names of section 7) with an
    institution. The document does not say whether the body's fields are at
    the top level or under a member; both are accepted here (and the form
    found is logged)."""
    if not isinstance(x, dict):
        return "%s: %r is not an object" % (where, x)
    e = check_inst(x.get("institution"), where)
    if e:
        return e
    body = x if required[0] in x else x.get("body")
    if not isinstance(body, dict):
        return "%s: no %s (at the top level or in body): keys %r" % (where, required[0], sorted(x))
    for k in required:
        if k not in body:
            return "%s: no field %s: keys %r" % (where, k, sorted(body))
    return ""


def check_event(x, where):
    import re
    e = check_announcement_json(x, where, ("title", "starts_at", "timezone", "status"))
    if e:
        return e
    body = x if "title" in x else x["body"]
    if not (isinstance(body["starts_at"], str) and re.match(ISO_UTC, body["starts_at"])):
        return "%s: starts_at %r is not ISO 8601 UTC" % (where, body["starts_at"])
    if body["status"] not in ("scheduled", "cancelled", "postponed"):
        return "%s: status %r is not an enum name" % (where, body["status"])
    return ""


def check_job(x, where):
    e = check_announcement_json(x, where, ("title", "employer", "contract", "apply"))
    if e:
        return e
    body = x if "title" in x else x["body"]
    if body["contract"] not in ("cdi", "cdd", "internship", "work_study", "freelance", "vie",
                                "volunteer", "other"):
        return "%s: contract %r is not an enum name" % (where, body["contract"])
    return ""


def print_result(method, status, result):
    log("result %s %s %s" % (method, status_name(status),
                             json.dumps(result, ensure_ascii=False, separators=(",", ":"))))


def run_member_login(a):
    """Scenario member-login (16.1-16.4): a fresh key, the login proof in
    message 3 (--bad-mac-first: first a connection whose proof has a wrong
    MAC, refused without using the code), then whoami, me.show, search,
    events, jobs; each result's framing and shape is checked and printed
    ("result METHOD STATUS JSON")."""
    failures = []
    check = checker(failures)
    code, host, port, expected = member_target(a)
    if code is None:
        raise ValueError("scenario member-login needs --code")
    log("login code: node %s at %s:%d, code id %s"
        % (b64url_nopad(code.identity), code.host, code.port, code.id.hex()))
    if a.bad_mac_first:
        mc = MemberClient(a, SigningKey.generate(), expected, host, port,
                          invitation=lambda h: code.proof(h, bad_mac=True))
        e = expect_goodbye_first(mc, R_INVITATION_REFUSED)
        check(not e, "a login proof with a wrong MAC: goodbye invitation-refused%s"
              % (" (" + e + ")" if e else ""))
        time.sleep(a.pace)  # 14.8: handshakes per address
    sk = member_key(a, code)
    log("member key %s" % b64url_nopad(bytes(sk.verify_key)))
    mc = MemberClient(a, sk, expected, host, port, invitation=code.proof)
    hello = mc.hello()
    check(True, "logged in: the node admitted the new key as a client, hello lists %r" % (hello[4],))
    # whoami (16.4)
    st, r = mc.call("whoami", "{}")
    print_result("whoami", st, r)
    if check(st == ST_OK, "whoami: status ok (got %d %s)" % (st, status_name(st))):
        check(set(r) == {"member", "name", "institution"},
              "whoami: {member, name, institution} (got %r)" % sorted(r))
        check(_is_uint(r.get("member")) and isinstance(r.get("name"), str) and r.get("name"),
              "whoami: member is a number, name a text")
        check(not check_inst(r.get("institution"), "whoami"), "whoami: institution is an inst %s"
              % check_inst(r.get("institution"), "whoami"))
        check(isinstance(r.get("institution"), dict)
              and r["institution"].get("key") == b64url_nopad(expected),
              "whoami: the institution is the node itself")
        if a.expect_member is not None:
            check(r.get("member") == a.expect_member,
                  "whoami: member %r is %d" % (r.get("member"), a.expect_member))
    # me.show (16.4)
    st, r = mc.call("me.show", "{}")
    print_result("me.show", st, r)
    if check(st == ST_OK, "me.show: status ok (got %d %s)" % (st, status_name(st))):
        check(isinstance(r.get("member"), dict) and "institution" in r,
              "me.show: {institution, member: record} (keys %r)" % sorted(r))
    # queries (16.4)
    for method, params, item in (("search", a.search_params, check_person),
                                 ("events", a.events_params, check_event),
                                 ("jobs", a.jobs_params, check_job)):
        st, r = mc.call(method, params)
        print_result(method, st, r)
        if check(st == ST_OK, "%s %s: status ok (got %d %s %r)"
                 % (method, params, st, status_name(st), r.get("error"))):
            e = check_page(r, method, item)
            check(not e, "%s: {total, offset, results} of well-formed items%s"
                  % (method, " (" + e + ")" if e else ""))
    # the request ids are echoed, also large ones; responses come in order
    ids = [2**64 - 1, 0, 7]
    for rid in ids:
        mc.send_request("whoami", "", request_id=rid)
    got = []
    for rid in ids:
        try:
            got.append(mc.read_response(rid)[0])
        except MemberFailure as e:
            got.append(str(e))
    check(got == [ST_OK] * 3, "pipelined requests with ids %r (an empty params counts as {}): "
          "three ok responses in order (got %r)" % (ids, got))
    mc.close()
    log("member-login: %d checks failed" % len(failures))
    return 1 if failures else 0


def run_member_refused(a):
    """Scenario member-refused: --code (a fresh key with the login proof;
    --as-invite: the proof of a node invitation, 14.9, made from the login
    code's secret, which 16.1 says never works) or --member-key (a
    registered key, invitation nil); the goodbye after message 3 must have
    reason --expect-reason."""
    code, host, port, expected = member_target(a)
    sk = member_key(a, code) if code is None else SigningKey.generate()
    invitation = code.proof if code is not None else None
    if code is not None and a.as_invite:
        inv_id, mac_key = invitation_keys(code.secret)
        invitation = lambda h: invitation_proof(inv_id, mac_key, h)  # noqa: E731
    mc = MemberClient(a, sk, expected, host, port, invitation=invitation)
    e = expect_goodbye_first(mc, a.expect_reason)
    if e:
        print("FAIL: member-refused: %s" % e, file=sys.stderr)
        return 1
    log("member-refused: goodbye reason=%d (%s)" % (a.expect_reason, goodbye_name(a.expect_reason)))
    return 0


def run_member_requests(a):
    """Scenario member-requests (16.3, 16.4): malformed requests are answered
    with a status, and the session goes on."""
    failures = []
    check = checker(failures)
    _, host, port, expected = member_target(a)
    sk = member_key(a, None)
    mc = MemberClient(a, sk, expected, host, port)
    mc.hello()
    long_method = "x" * 64
    cases = [
        # (what, method, params, expected status); for a params object
        # refused, the sentence must name its first member (16.4)
        ("params a JSON array", "search", "[1]", ST_BAD_REQUEST),
        ("params a JSON string", "me.show", "\"x\"", ST_BAD_REQUEST),
        ("params not JSON", "search", "{city: Paris", ST_BAD_REQUEST),
        ("params with trailing garbage", "search", "{} {}", ST_BAD_REQUEST),
        ("params JSON null", "events", "null", ST_BAD_REQUEST),
        ("an unknown parameter", "search", {"colour": "red"}, ST_BAD_REQUEST),
        ("a misspelt filter", "events", {"citty": "Paris"}, ST_BAD_REQUEST),
        ("a parameter of the wrong type", "search", {"limit": "ten"}, ST_BAD_REQUEST),
        ("promo_min of the wrong type", "search", {"promo_min": "2010"}, ST_BAD_REQUEST),
        ("a list filter holding a number", "jobs", {"skill": [1]}, ST_BAD_REQUEST),
        ("an unknown parameter of me.show", "me.show", {"x": 1}, ST_BAD_REQUEST),
        ("limit above 200", "search", "{\"limit\":201}", ST_BAD_REQUEST),
        ("an unknown method", "no.such.method", "{}", ST_UNKNOWN_METHOD),
        ("an unknown method of 64 bytes", long_method, "{}", ST_UNKNOWN_METHOD),
        ("a null member is absent", "search", {"city": None, "limit": 200}, ST_OK),
        ("an empty params string", "search", "", ST_OK),
        ("a list filter", "search", {"city": ["Paris", "Lyon"]}, ST_OK),
        ("a date filter", "events", {"from": "2030-01-01", "to": "2031-12-31"}, ST_OK),
    ]
    for what, method, params, want in cases:
        st, r = mc.call(method, params)
        log("request %s: %s %r -> %d (%s) %s" % (what, method, params, st, status_name(st),
                                                 json.dumps(r, ensure_ascii=False)[:160]))
        ok = check(st == want, "%s: status %d %s (got %d %s)"
                   % (what, want, status_name(want), st, status_name(st)))
        if ok and want == ST_BAD_REQUEST and isinstance(params, dict):
            name = next(iter(params))
            check(name in r.get("error", ""), "%s: the sentence names the member %r (%r)"
                  % (what, name, r.get("error")))
    # whoami takes params {} only (16.4): anything else is bad-request
    for params in ("[1]", "{\"x\":1}", "nope"):
        st, r = mc.call("whoami", params)
        check(st == ST_BAD_REQUEST, "whoami with params %r: bad-request (got %d %s)"
              % (params, st, status_name(st)))
    # unknown message types: error unknown-message, the session goes on (16.3)
    mc.c.send([12, "later"])
    try:
        m = mc.c.recv()
        check(m[:2] == [T_ERROR, 0], "a message of type 12: error unknown-message (got %r)"
              % (m[:3],))
    except (EOFError, OSError, Refused) as e:
        check(False, "a message of type 12: error unknown-message (got %s)" % e)
    check(mc.ping(), "ping/pong in a client session")
    st, r = mc.call("whoami", "{}")
    check(st == ST_OK, "whoami after the malformed requests: ok, the session went on")
    mc.close()
    log("member-requests: %d checks failed" % len(failures))
    return 1 if failures else 0


def member_protocol_cases():
    """(name, hello capabilities or None for no hello, messages after it)."""
    req = [T_REQUEST, 1, "whoami", "{}"]
    return [
        ("request-before-hello", None, [req]),
        ("hello-without-client", ("announce",), [req]),
        ("sync", ("client",), [[T_SYNC, 1, encode_ids(0, 0, [])]]),
        ("offer", ("client",), [[T_OFFER, bytes(16)]]),
        ("announce", ("client",), [[T_ANNOUNCE, b"\x92\xc4\x00\xc4\x00"]]),
        ("response", ("client",), [[T_RESPONSE, 1, 0, "{}"]]),
        ("method-empty", ("client",), [[T_REQUEST, 1, "", "{}"]]),
        ("method-65-bytes", ("client",), [[T_REQUEST, 1, "x" * 65, "{}"]]),
        ("params-bin", ("client",), [[T_REQUEST, 1, "whoami", b"{}"]]),
        ("request-3-elements", ("client",), [[T_REQUEST, 1, "whoami"]]),
    ]


def run_member_protocol(a):
    """Scenario member-protocol (14.5, 16.3): one fresh connection per case,
    each must end with goodbye protocol-error."""
    _, host, port, expected = member_target(a)
    sk = member_key(a, None)
    cases = member_protocol_cases()
    if a.case and a.case != "all":
        names = a.case.split(",")
        cases = [k for k in cases if k[0] in names]
    ok = 0
    for name, caps, msgs in cases:
        time.sleep(a.pace)  # 14.8: new handshakes per address, 1 per second after a burst
        mc = MemberClient(a, sk, expected, host, port)
        c = mc.c
        got = None
        try:
            if caps is not None:
                c.send([T_HELLO, "member", 0, "amicale-interop-py/1", list(caps),
                        int(time.time()), None])
            for m in msgs:
                c.send(m)
            deadline = time.time() + a.timeout
            while time.time() < deadline:
                m = c.recv()
                if m[0] == T_HELLO:
                    c.hello_received = True
                    continue
                if m[0] == T_PING:
                    c.send([T_PONG, m[1]])
                    continue
                if m[0] == T_GOODBYE:
                    got = ("goodbye", m[1], m[2])
                else:
                    got = ("message", m[0], repr(m)[:120])
                break
        except (EOFError, OSError) as e:
            got = ("closed", None, str(e))
        c.sock.close()
        if got and got[0] == "goodbye" and got[1] == R_PROTOCOL_ERROR:
            ok += 1
            log("member-protocol %s: goodbye reason=3 (protocol-error) text=%r" % (name, got[2]))
        else:
            print("FAIL: member-protocol %s: expected goodbye protocol-error, got %r"
                  % (name, got), file=sys.stderr, flush=True)
    log("member-protocol: %d cases, %d refused with goodbye protocol-error" % (len(cases), ok))
    return 0 if ok == len(cases) else 1


def run_member_rate(a):
    """Scenario member-rate (16.6): with a fresh key (--code) the bucket is
    full: --burst requests sent at once get RATE_BUCKET ok answers (plus what
    the refill adds meanwhile), then rate-limited ones, the session staying
    open; a request is served again as soon as the refill allows (polled,
    with a deadline); after the time a full refill takes, RATE_BUCKET
    requests at once are all served and one more is refused."""
    failures = []
    check = checker(failures)
    code, host, port, expected = member_target(a)
    sk = member_key(a, code)
    mc = MemberClient(a, sk, expected, host, port,
                      invitation=code.proof if code is not None else None)
    mc.hello()

    def burst(n):
        t0 = time.time()
        rids = [mc.send_request("whoami", "{}") for _ in range(n)]
        statuses, sentences = [], set()
        for rid in rids:
            st, r = mc.read_response(rid)
            statuses.append(st)
            if st == ST_RATE_LIMITED:
                sentences.add(r["error"])
        return statuses, time.time() - t0, sentences

    n = a.burst
    statuses, took, sentences = burst(n)
    served = statuses.count(ST_OK)
    limited = statuses.count(ST_RATE_LIMITED)
    top = RATE_BUCKET + int(took * RATE_REFILL) + 1
    log("burst of %d requests in %.3f s: %d ok, %d rate-limited, sentences %r"
        % (n, took, served, limited, sorted(sentences)))
    check(served + limited == n, "burst: every answer is ok or rate-limited")
    check(statuses[:RATE_BUCKET] == [ST_OK] * RATE_BUCKET,
          "burst: the first %d requests are served (a full bucket)" % RATE_BUCKET)
    check(RATE_BUCKET <= served <= top, "burst: %d served, %d..%d allowed by bucket and refill"
          % (served, RATE_BUCKET, top))
    check(limited >= n - top, "burst: the requests over the budget are rate-limited (%d)" % limited)
    # the session stays open; served again after the refill (0.1 s a token)
    t0 = time.time()
    deadline = t0 + 3 * (1.0 / RATE_REFILL) + 2.0
    polls = 0
    while True:
        polls += 1
        st, _ = mc.call("whoami", "{}")
        if st == ST_OK or time.time() > deadline:
            break
        time.sleep(0.02)
    waited = time.time() - t0
    log("served again after %.3f s (%d polls)" % (waited, polls))
    check(st == ST_OK, "served again after the refill, within the deadline (%.2f s)" % waited)
    # a full refill takes RATE_BUCKET / RATE_REFILL seconds: then exactly the
    # bucket is served in one burst (plus what refills during it)
    time.sleep(RATE_BUCKET / RATE_REFILL + 0.1)
    statuses, took, _ = burst(RATE_BUCKET + 1)
    extra = int(took * RATE_REFILL)
    check(statuses[:RATE_BUCKET] == [ST_OK] * RATE_BUCKET,
          "after %.1f s the bucket is full again: %d requests served"
          % (RATE_BUCKET / RATE_REFILL, RATE_BUCKET))
    check(statuses[RATE_BUCKET] == ST_RATE_LIMITED or extra >= 1,
          "the request after the bucket's %d is rate-limited (got %s, burst took %.3f s)"
          % (RATE_BUCKET, status_name(statuses[RATE_BUCKET]), took))
    check(mc.ping(), "the session is still open")
    mc.close()
    log("member-rate: %d checks failed" % len(failures))
    return 1 if failures else 0


def run_member_revoke(a):
    """Scenario member-revoke (16.6): a session with --member-key stays open
    (answering pings; "waiting" is printed) until the node says goodbye,
    which must be `revoked`; then a new connection with the same key must
    be refused with `revoked` (16.2)."""
    failures = []
    check = checker(failures)
    _, host, port, expected = member_target(a)
    sk = member_key(a, None)
    mc = MemberClient(a, sk, expected, host, port)
    mc.hello()
    st, _ = mc.call("whoami", "{}")
    check(st == ST_OK, "whoami before the revocation: ok")
    mc.c.sock.settimeout(a.linger)
    log("waiting")
    got = None
    t0 = time.time()
    try:
        while True:
            m = mc.c.next_message()
            log("ignored message %r" % (m[:2],))
    except Refused as r:
        got = r.reason
    except (EOFError, OSError) as e:
        log("closed without goodbye: %s" % e)
    mc.c.sock.close()
    log("open session closed after %.2f s" % (time.time() - t0))
    check(got == R_REVOKED, "the open session is closed with goodbye revoked (got %r)" % (got,))
    time.sleep(a.pace)
    mc = MemberClient(a, sk, expected, host, port)
    e = expect_goodbye_first(mc, R_REVOKED)
    check(not e, "a new connection with the revoked key: goodbye revoked%s"
          % (" (" + e + ")" if e else ""))
    log("member-revoke: %d checks failed" % len(failures))
    return 1 if failures else 0


MEMBER_SCENARIOS = {
    "member-login": run_member_login,
    "member-refused": run_member_refused,
    "member-requests": run_member_requests,
    "member-protocol": run_member_protocol,
    "member-rate": run_member_rate,
    "member-revoke": run_member_revoke,
}


def replication_self_test():
    """Section 15 without a network: the fingerprint example of 15.2, entry
    round trips and sizes, the refusals of 15.3, describing, and whole
    sessions between two in-memory sets."""
    checks = [0, 0]  # done, failed

    def ok(cond, what):
        checks[0] += 1
        if not cond:
            checks[1] += 1
            print("FAIL replication: %s" % what, file=sys.stderr)

    # 15.2: the empty set, and the example {01 00..00, ff 00..00}
    ok(fingerprint([]) == bytes(16), "the empty set's fingerprint is 16 zero bytes")
    a, b = b"\x01" + bytes(31), b"\xff" + bytes(31)
    total = (int.from_bytes(a, "little") + int.from_bytes(b, "little")) % 2**256
    ok(total.to_bytes(32, "little") == b"\x00\x01" + bytes(30), "15.2 example: sum 00 01 00 .. 00")
    ok(struct.pack("<Q", 2) == bytes.fromhex("0200000000000000"), "15.2 example: count 02 00 .. 00")
    fp = fingerprint([a, b])
    ok(fp == hashlib.blake2b(b"\x00\x01" + bytes(30) + bytes.fromhex("0200000000000000"),
                             digest_size=16).digest(), "15.2 example: BLAKE2b-128(sum ‖ count)")
    ok(fp != hashlib.blake2b(b"\x00\x01" + bytes(30) + bytes.fromhex("0200000000000000"),
                             digest_size=64).digest()[:16], "digest length 16 is not truncated 512")
    ok(fingerprint([b, a]) == fp, "the fingerprint does not depend on order")
    # mod 2^256: ff..ff + 01 00..00 wraps to 0, but the count is 2
    wrap = fingerprint([b"\xff" * 32, b"\x01" + bytes(31)])
    ok(wrap == hashlib.blake2b(bytes(32) + struct.pack("<Q", 2), digest_size=16).digest(),
       "the sum is modulo 2^256")
    log("15.2 example fingerprint: %s" % fp.hex())

    # 15.1 / 15.3: prefixes and ranges
    ok(prefix_bytes(0, 0) == b"", "depth 0: no prefix byte")
    ok(prefix_bytes(1, 0xA) == b"\xa0", "depth 1: a0")
    ok(prefix_bytes(3, 0xABC) == b"\xab\xc0", "depth 3: ab c0")
    ok(prefix_bytes(4, 0xABCD) == b"\xab\xcd", "depth 4: ab cd")
    st = IdSet([bytes.fromhex("abc1" + "00" * 30), bytes.fromhex("abd0" + "00" * 30),
                bytes.fromhex("ab" + "00" * 31), bytes.fromhex("ff" * 32)])
    ok(len(st.range_ids(0, 0)) == 4 and len(st.range_ids(2, 0xAB)) == 3
       and len(st.range_ids(3, 0xABC)) == 1 and len(st.range_ids(1, 0xF)) == 1
       and len(st.range_ids(32, int("ff" * 16, 16))) == 1, "ranges by nibble prefix")

    # entries: round trips and sizes
    rnd = random.Random(15)
    samples = []
    for depth in (0, 1, 2, 7, 30, 31):
        pval = rnd.getrandbits(4 * depth) if depth else 0
        samples.append((MODE_FPS, depth, pval, [rnd.randbytes(16) for _ in range(16)]))
    for depth, n in ((0, 0), (0, 1), (0, 33), (1, 5), (5, 2), (31, 3), (32, 1), (32, 0), (0, 4096)):
        pval = rnd.getrandbits(4 * depth) if depth else 0
        shorts = sorted(set(((pval << (128 - 4 * depth)) | rnd.getrandbits(128 - 4 * depth))
                            .to_bytes(16, "big") for _ in range(n)))
        samples.append((MODE_IDS, depth, pval, shorts))
    for e in samples:
        blob = encode_entry(e)
        ok(len(blob) == entry_size(e), "entry size %s depth %d" % (("FPS", "IDS")[e[0]], e[1]))
        ok(decode_entries(blob) == [e], "round trip %s depth %d" % (("FPS", "IDS")[e[0]], e[1]))
    allb = b"".join(encode_entry(e) for e in samples)
    ok(decode_entries(allb) == samples, "round trip of concatenated entries")
    ok(decode_entries(b"") == [], "empty ranges: no entry")
    big = samples[-1]  # IDS of 4096: 4 + 65536 bytes, a bin32 in the sync
    m = [T_SYNC, 0, encode_entry(big)]
    wire = pack_session(m)
    ok(wire[3] == 0xC6 and unpack_session(wire) == m and not validate_session_message(m),
       "a sync of 65540 bytes of ranges is a canonical bin32")
    msgs = round_messages(samples, start=True, split=True)
    ok([x[1] for x in msgs] == [3] + [2] * (len(samples) - 2) + [0],
       "round cut one entry per message: start+more, more.., then 0")
    msgs = round_messages(samples, start=False)
    ok(len(msgs) == 1 and msgs[0][1] == 0, "a small round is one sync")
    ok(round_messages([]) == [[T_SYNC, 0, b""]], "an empty round is one sync with empty ranges")

    # refusals of 15.3
    s1, s2 = bytes.fromhex("10" + "00" * 15), bytes.fromhex("20" + "00" * 15)
    bad = {
        "mode 2": bytes([2, 0]),
        "mode 255": bytes([255, 0]) + bytes(256),
        "FPS depth 32": bytes([0, 32]) + bytes(16) + bytes(256),
        "IDS depth 33": bytes([1, 33]) + bytes(17) + b"\0\0",
        "bits past an odd depth": bytes([1, 1, 0x1F, 0, 0]),
        "bits past depth 31 (FPS)": bytes([0, 31]) + bytes(15) + b"\x01" + bytes(256),
        "IDS out of order": _ids_raw(0, 0, [s2, s1]),
        "IDS duplicate": _ids_raw(0, 0, [s1, s1]),
        "IDS short id outside the range": _ids_raw(2, 0xAB, [bytes.fromhex("ac" + "00" * 15)]),
        "IDS outside an odd range": _ids_raw(1, 0x1, [s2]),
        "IDS of 4097": _ids_raw(0, 0, [k.to_bytes(16, "big") for k in range(4097)]),
        "header cut short": b"\x00",
        "prefix cut short": bytes([1, 4, 0xAB]),
        "FPS cut short": bytes([0, 0]) + bytes(255),
        "IDS count cut short": bytes([1, 0, 0]),
        "IDS ids cut short": _ids_raw(0, 0, [s1, s2])[:-1],
        "good entry then garbage": encode_ids(0, 0, []) + b"\x01",
    }
    for what, blob in bad.items():
        try:
            decode_entries(blob)
            ok(False, "refuses %s" % what)
        except SyncError:
            ok(True, "")
    for what, fn in (("FPS depth 32", lambda: encode_fps(32, 0, [bytes(16)] * 16)),
                     ("IDS unsorted", lambda: encode_ids(0, 0, [s2, s1])),
                     ("IDS outside", lambda: encode_ids(1, 2, [s1]))):
        try:
            fn()
            ok(False, "the encoder refuses %s" % what)
        except ValueError:
            ok(True, "")
    # sync, offer, want, sent as messages (14.5)
    for m, good in (([T_SYNC, 7, b""], True), ([T_SYNC, 8, b""], False), ([T_SYNC, 0, "x"], False),
                    ([T_SYNC, 0], False), ([T_SYNC, 0, bytes(RANGES_MAX + 1)], False),
                    ([T_OFFER, bytes(16)], True), ([T_OFFER, b""], False),
                    ([T_OFFER, bytes(17)], False), ([T_WANT, bytes(16 * 4096)], True),
                    ([T_WANT, bytes(16 * 4097)], False), ([T_SENT, 4096], True),
                    ([T_SENT, 4097], False), ([T_SENT, "0"], False)):
        ok(bool(validate_session_message(m)) != good, "validate %r" % (m[:2],))

    # describing: 32 ids listed, 33 split
    ids32 = [bytes([0x50 | (k % 16)]) + rnd.randbytes(31) for k in range(32)]
    s32 = IdSet(ids32)
    ok(describe(s32, 0, 0)[0] == MODE_IDS and len(describe(s32, 0, 0)[3]) == 32,
       "32 ids: described as an IDS")
    s32.add(b"\x00" + rnd.randbytes(31))
    d = describe(s32, 0, 0)
    ok(d[0] == MODE_FPS and d[3][0] == s32.fp(1, 0) and d[3][1] == ZERO_FP,
       "33 ids: described as an FPS of the children")
    ok(describe(IdSet(), 0, 0) == (MODE_IDS, 0, 0, []), "the empty set: IDS of no id")

    # 15.7: I {a, b, c}, R {a, b, d}
    ia, ib, ic, idd = (bytes([k]) + rnd.randbytes(31) for k in (0x11, 0x22, 0x33, 0x44))
    I, R = IdSet([ia, ib, ic]), IdSet([ia, ib, idd])
    first = describe(I, 0, 0)
    ok(first == (MODE_IDS, 0, 0, sorted(x[:16] for x in (ia, ib, ic))), "15.7: I sends IDS(root)")
    out, offers, wants = answer_entry(R, first)
    ok(out == [] and offers == [idd[:16]] and wants == [ic[:16]],
       "15.7: R offers d, wants c, its round is empty")

    # whole sessions between two in-memory sets
    def session_case(name, common, only_a, only_b, expect_rounds=None):
        A, B = IdSet(common + only_a), IdSet(common + only_b)
        rounds, la, lb, stats = simulate_session(A, B)
        ok(la == set(x[:16] for x in only_b), "%s: A learns exactly B's extra ids" % name)
        ok(lb == set(x[:16] for x in only_a), "%s: B learns exactly A's extra ids" % name)
        if expect_rounds is not None:
            ok(rounds == expect_rounds, "%s: %d rounds (expected %d)" % (name, rounds,
                                                                        expect_rounds))
        return rounds, stats

    def rid(prefix=""):
        return bytes.fromhex(prefix + rnd.randbytes(32 - len(prefix) // 2).hex()) \
            if len(prefix) % 2 == 0 else bytes.fromhex(prefix + "%x" % rnd.getrandbits(4)
                                                        + rnd.randbytes(31 - len(prefix) // 2).hex())

    session_case("both empty", [], [], [], 2)
    session_case("A empty, B 100", [], [], [rid() for _ in range(100)], 2)
    session_case("A 100, B empty", [], [rid() for _ in range(100)], [], 3)
    session_case("equal, 10", [rid() for _ in range(10)], [], [], 2)
    session_case("equal, 1000", [rid() for _ in range(1000)], [], [], 2)
    session_case("one difference in 3000", [rid() for _ in range(3000)], [rid()], [])
    r, stats = session_case("deep range (abc*), differences both ways",
                            [rid("abc") for _ in range(60)] + [rid() for _ in range(100)],
                            [rid("abc"), rid("abc"), rid()], [rid("abc"), rid()])
    ok(stats.get("FPS1") and stats.get("FPS2") and stats.get("FPS3"),
       "deep range: FPS entries at depths 1, 2 and 3 (%r)" % dict(stats))
    session_case("many differences", [rid() for _ in range(500)], [rid() for _ in range(300)],
                 [rid() for _ in range(200)])
    # depth 32: more than 32 ids under one short id
    same = rnd.randbytes(16)
    twins = [same + rnd.randbytes(16) for _ in range(34)]
    A, B = IdSet(twins), IdSet(twins[:30])
    rounds, la, lb, _ = simulate_session(A, B)
    ok(la == set() and lb == set(), "ids sharing one short id: nothing learned by short id "
                                     "(they are one short id), session ends (%d rounds)" % rounds)

    log("replication self-test: %d checks, %d failed" % (checks[0], checks[1]))
    return checks[1] == 0


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
    """14.5 and 15: the elements of a known type, or '' when it is valid;
    unknown types (10 and above) only need to be an array starting with a
    uint."""
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
    elif t in (T_OFFER, T_WANT):  # 15.5
        top = OFFER_MAX if t == T_OFFER else WANT_MAX
        if (len(m) != 2 or not isinstance(m[1], bytes) or len(m[1]) % SHORT_LEN
                or not 1 <= len(m[1]) // SHORT_LEN <= top):
            return "%s: not [%d, bin of 1 to %d short ids]" % (("offer", "want")[t - T_OFFER], t, top)
    elif t == T_SENT:  # 15.5
        if len(m) != 2 or not _is_uint(m[1]) or m[1] > SENT_MISSING_MAX:
            return "sent: not [8, 0..4096]"
    elif t == T_SYNC:  # 15.4
        if (len(m) != 3 or not _is_uint(m[1]) or m[1] & ~(SYNC_START | SYNC_MORE | SYNC_PARTIAL)
                or not isinstance(m[2], bytes) or len(m[2]) > RANGES_MAX):
            return "sync: not [9, flags (1|2|4), bin of 0 to %d bytes]" % RANGES_MAX
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
            r.eq("shortest-form encoding of the %stype %d" % ("" if t <= T_SYNC else "unknown ", t),
                 again, data)
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
        elif t > T_SYNC:
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
        rc = self_test(path)
        return 0 if replication_self_test() and rc == 0 else 1
    if len(sys.argv) >= 2 and sys.argv[1] == "--vectors":
        path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
            here, "..", "vectors", "transport", "session.json")
        return run_vectors(path)
    p = argparse.ArgumentParser(prog="amicale_client.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("connect")
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=int, default=0, help="the responder's port (not for serve)")
    c.add_argument("--key-file", help="the node's secret key (node.key); not for member-*")
    c.add_argument("--server-key", help="the responder's identity (member-*: or --code)")
    c.add_argument("--scenario", choices=["full", "refused", "plain", "linger", "replicate",
                                          "malformed", "no-replicate", "serve", "watch"]
                   + sorted(MEMBER_SCENARIOS), default="full")
    c.add_argument("--expect-reason", type=int)
    c.add_argument("--expect-name")
    c.add_argument("--name", default="Python Interop")
    c.add_argument("--title", default="Interop meetup")
    c.add_argument("--object", type=int, default=1)
    c.add_argument("--version", type=int, default=0, help="default: the current time")
    c.add_argument("--timeout", type=float, default=15.0)
    c.add_argument("--linger", type=float, default=120.0,
                   help="scenario linger: how long to wait for the goodbye")
    c.add_argument("--hold", help="scenario replicate: a file of announcements the client holds")
    c.add_argument("--server-ids", help="scenario replicate: the responder's ids, one a line")
    c.add_argument("--untrusted-key",
                   help="scenario replicate: node.key of an origin the responder does not trust")
    c.add_argument("--case", default="all", help="scenario malformed: cases, comma-separated")
    c.add_argument("--expect-offers", type=int, default=0,
                   help="scenario watch: how many offers must arrive")
    c.add_argument("--announce", action="store_true",
                   help="scenario watch: first announce a new event")
    c.add_argument("--port-file", help="scenario serve: where to write the port listened on")
    c.add_argument("--quiet", type=float, default=3.0,
                   help="scenario serve: seconds without a new session after the first")
    c.add_argument("--pace", type=float, default=1.05,
                   help="scenarios malformed, member-*: seconds between connections")
    c.add_argument("--code", help="member-*: a login code (amicale-login:...)")
    c.add_argument("--member-key", help="member-*: the member's key file (written at a login)")
    c.add_argument("--expect-member", type=int, help="member-login: whoami's member id")
    c.add_argument("--as-invite", action="store_true",
                   help="member-refused: use the code's secret as a node invitation (14.9)")
    c.add_argument("--bad-mac-first", action="store_true",
                   help="member-login: first a proof with a wrong MAC (refused)")
    c.add_argument("--search-params", default="{}", help="member-login: params of search")
    c.add_argument("--events-params", default="{}", help="member-login: params of events")
    c.add_argument("--jobs-params", default="{}", help="member-login: params of jobs")
    c.add_argument("--burst", type=int, default=40, help="member-rate: requests sent at once")
    g = sub.add_parser("gen")
    g.add_argument("--key-file", required=True)
    g.add_argument("--out", required=True, help="directory for all.ann, server.ann, client.ann")
    g.add_argument("--deep", type=int, default=40)
    g.add_argument("--spread", type=int, default=60)
    g.add_argument("--prefix", default="abc")
    a = p.parse_args()
    try:
        if a.cmd == "gen":
            return run_gen(a)
        if a.scenario in MEMBER_SCENARIOS:
            return MEMBER_SCENARIOS[a.scenario](a)
        if not a.key_file or not a.server_key:
            raise ValueError("--key-file and --server-key are needed")
        if a.scenario in ("replicate", "malformed", "no-replicate", "serve", "watch"):
            sk = load_secret_key(a.key_file)
            expected = key_from_text(a.server_key)
            log("client identity %s" % b64url_nopad(bytes(sk.verify_key)))
            if a.scenario == "replicate":
                if not a.server_ids:
                    raise ValueError("scenario replicate needs --server-ids")
                return run_replicate(a, sk, expected)
            if a.scenario == "serve":
                if not a.server_ids:
                    raise ValueError("scenario serve needs --server-ids")
                return run_serve(a, sk, expected)
            if a.scenario == "malformed":
                return run_malformed(a, sk, expected)
            if a.scenario == "watch":
                return run_watch(a, sk, expected)
            return run_probe_nocap(a, sk, expected)
        return run_connect(a)
    except (NoiseError, ValueError, EOFError, OSError, Refused, ReplicationFailure,
            WrongIdentity, MemberFailure) as e:
        print("amicale_client: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1


def run_gen(a):
    """gen: the announcements of the replication test, signed by --key-file:
    --deep events whose ids start with --prefix, --spread others. Writes
    all.ann, server.ann (for the responder: all but deep 2, 3 and spread 1)
    and client.ann (all but deep 0, 1 and spread 0)."""
    sk = load_secret_key(a.key_file)
    if a.deep < 4 or a.spread < 2:
        raise ValueError("gen: --deep at least 4, --spread at least 2")
    evs = gen_events(sk, a.deep, a.spread, a.prefix.lower(), int(time.time()))
    client_lacks = {0, 1, a.deep}
    server_lacks = {2, 3, a.deep + 1}
    os.makedirs(a.out, exist_ok=True)
    for name, skip in (("all.ann", set()), ("server.ann", server_lacks), ("client.ann", client_lacks)):
        with open(os.path.join(a.out, name), "wb") as f:
            f.write(b"".join(env for k, (_, env) in enumerate(evs) if k not in skip))
    for k, (id_, _) in enumerate(evs):
        who = "client-lacks" if k in client_lacks else "server-lacks" if k in server_lacks else "both"
        log("gen id=%s %s %s" % (id_.hex(), "deep" if k < a.deep else "spread", who))
    log("gen: %d events (%d under %s), server.ann %d, client.ann %d"
        % (len(evs), a.deep, a.prefix, len(evs) - 3, len(evs) - 3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
