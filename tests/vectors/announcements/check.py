#!/usr/bin/python3
"""An independent check of the announcement test vectors, written from
docs/PROTOCOL.md and not from the C code: another implementation, in another
language, with other libraries (msgpack-python, PyNaCl, hashlib), must agree
with every published byte and every stated reason.

For each valid vector it derives the key from the seed, encodes the input
itself (field tables of PROTOCOL.md section 7, restated below), signs it
with the context prefix, hashes it, wraps it, and compares each result with
the published bytes; then it receives the published envelope by the steps
of section 8 and compares the decoded values with the input. For each
invalid vector it receives the envelope by the same steps (with the time
rules at the vector's "now" when it has one) and compares the reason it finds
with the stated one.

Needs Debian's python3-msgpack and python3-nacl: run it with /usr/bin/python3
(a python3 earlier on PATH may lack them).

usage: check.py [DIR]   (default: the directory of this file)
"""
import base64
import datetime
import hashlib
import json
import os
import re
import sys

import msgpack
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

MIN_VALID = 18    # as published; more is fine
MIN_INVALID = 61

CONTEXT = b"amicale/announcement/1\x00"  # section 6.2
MAX_ENVELOPE = 65536                      # section 4
TIME_MAX = 253402300799                   # 9999-12-31T23:59:59Z
MAX53 = 2**53 - 1
SEED = bytes(range(32))
KINDS = ["node", "profile", "event", "job", "retraction"]

# ---- Field tables: PROTOCOL.md section 7, restated ----


def text(name, limit, req=False, ml=False, url=False):
    return dict(name=name, type="text", req=req, max=limit, ml=ml, url=url)


def lst(name, items, limit):
    return dict(name=name, type="list", req=False, items=items, max=limit, ml=False,
                url=False)


def uint(name, lo, hi):
    return dict(name=name, type="uint", req=False, lo=lo, hi=hi)


def enum(name, names, req=False):
    return dict(name=name, type="enum", req=req, names=names)


def tm(name, req=False):
    return dict(name=name, type="time", req=req)


def date(name, req=False):
    return dict(name=name, type="date", req=req)


def boolean(name, req=False):
    return dict(name=name, type="bool", req=req)


BODIES = [
    [  # 7.2 node
        text("name", 200, req=True),
        enum("kind", ["school", "company", "association", "federation"], req=True),
        text("country", 100),
        text("city", 100),
        text("website", 300, url=True),
        text("contact", 254),
        lst("addresses", 8, 261),
    ],
    [  # 7.3 profile
        text("given_name", 100),
        text("family_name", 100),
        text("usual_name", 100),
        lst("emails", 8, 254),
        text("phone", 40),
        uint("promo", 1900, 2100),
        text("programme", 200),
        text("diploma", 200),
        text("department", 200),
        text("employer", 200),
        text("job_title", 200),
        text("sector", 100),
        text("city", 100),
        text("country", 100),
        lst("skills", 50, 100),
        lst("languages", 20, 50),
        text("linkedin", 300, url=True),
        text("website", 300, url=True),
        text("bio", 2000, ml=True),
        boolean("mentoring"),
        lst("mentoring_topics", 20, 100),
    ],
    [  # 7.4 event
        text("title", 200, req=True),
        text("description", 4000, ml=True),
        tm("starts_at", req=True),
        tm("ends_at"),
        text("timezone", 64, req=True),
        text("venue", 200),
        text("city", 100),
        text("country", 100),
        text("online_url", 500, url=True),
        text("organiser", 200),
        uint("capacity", 1, 1000000),
        text("language", 35),
        lst("tags", 20, 50),
        text("registration", 500),
        enum("status", ["scheduled", "cancelled", "postponed"], req=True),
    ],
    [  # 7.5 job
        text("title", 200, req=True),
        text("employer", 200, req=True),
        enum("contract", ["cdi", "cdd", "internship", "work_study", "freelance", "vie",
                          "volunteer", "other"], req=True),
        text("city", 100),
        text("country", 100),
        enum("remote", ["on_site", "hybrid", "remote"]),
        text("description", 8000, ml=True),
        lst("skills", 30, 100),
        enum("experience", ["any", "entry", "junior", "mid", "senior", "executive"]),
        uint("salary_min", 0, 1000000000),
        uint("salary_max", 0, 1000000000),
        text("currency", 3),
        enum("salary_period", ["year", "month", "day", "hour"]),
        text("apply", 500, req=True),
        date("posted", req=True),
        date("valid_through", req=True),
        boolean("alumni_only", req=True),
    ],
    [  # 7.6 retraction
        enum("kind", KINDS, req=True),
        text("reason", 200),
    ],
]

# ---- Small helpers ----


class Refused(Exception):
    def __init__(self, reason, why):
        super().__init__(why)
        self.reason = reason


def refuse(reason, why):
    raise Refused(reason, why)


def is_uint(x):
    return type(x) is int and x >= 0  # bool is an int in Python: excluded


def iso_to_unix(s):
    if type(s) is int:
        return s
    d = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
    return (d - datetime.datetime(1970, 1, 1)) // datetime.timedelta(seconds=1)


def unix_to_iso(t):
    d = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=t)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ").rjust(20, "0")


def real_date(ymd):  # section 7.1: a real day, years 1900 to 2100
    y, m, d = ymd // 10000, ymd // 100 % 100, ymd % 100
    if not 1900 <= y <= 2100:
        return False
    try:
        datetime.date(y, m, d)
        return True
    except ValueError:
        return False


def key_text(pk):  # section 2
    return base64.urlsafe_b64encode(pk).rstrip(b"=").decode()


def bin_header(n):  # section 3.2: the shortest
    return bytes([0xc4, n]) if n < 256 else bytes([0xc5, n >> 8, n & 255])


# ---- Receiving: PROTOCOL.md section 8, steps 1 to 13 ----


def walk(p, max_depth=3):
    """Step 7: p is exactly one msgpack value; no float, ext or c1; no
    length or count past the end; arrays/maps at most max_depth deep.
    Returns without allocating anything the bytes declare."""
    pending = [1]  # values still to read at each open level
    off = 0
    while pending:
        if pending[-1] == 0:
            pending.pop()
            continue
        pending[-1] -= 1
        if off >= len(p):
            return False
        t = p[off]
        off += 1
        skip = count = 0
        container = False
        if t <= 0x7f or t >= 0xe0 or t in (0xc0, 0xc2, 0xc3):
            pass
        elif 0xa0 <= t <= 0xbf:
            skip = t & 0x1f
        elif 0x90 <= t <= 0x9f:
            count, container = t & 0x0f, True
        elif 0x80 <= t <= 0x8f:
            count, container = 2 * (t & 0x0f), True
        elif t in (0xcc, 0xd0):
            skip = 1
        elif t in (0xcd, 0xd1):
            skip = 2
        elif t in (0xce, 0xd2):
            skip = 4
        elif t in (0xcf, 0xd3):
            skip = 8
        elif t in (0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf):
            h = {0xc4: 1, 0xd9: 1, 0xc5: 2, 0xda: 2, 0xdc: 2, 0xde: 2}.get(t, 4)
            if len(p) - off < h:
                return False
            n = int.from_bytes(p[off:off + h], "big")
            off += h
            if t in (0xdc, 0xdd):
                count, container = n, True
            elif t in (0xde, 0xdf):
                count, container = 2 * n, True
            else:
                skip = n
        else:  # floats ca cb, ext c7-c9 d4-d8, and c1
            return False
        if skip > len(p) - off:
            return False
        off += skip
        if container:
            if len(pending) > max_depth or count > len(p) - off:
                return False
            pending.append(count)
    return off == len(p)


def check_text(fd, s):
    b = s.encode("utf-8", "surrogateescape")  # the bytes as received
    if not b:
        return "is empty (absent values are nil)"
    if len(b) > fd["max"]:
        return "is longer than %d bytes" % fd["max"]
    try:
        u = b.decode("utf-8")  # strict: no overlong forms, no surrogates
    except UnicodeDecodeError:
        return "is not UTF-8"
    for c in u:
        o = ord(c)
        if (o < 0x20 and not (c == "\n" and fd["ml"])) or 0x7f <= o <= 0x9f:
            return "has a control character U+%04X" % o
    if fd["url"]:
        if not ((b.startswith(b"http://") and len(b) > 7) or
                (b.startswith(b"https://") and len(b) > 8)):
            return "is not an http(s) URL"
        if b" " in b:
            return "has a space (URL)"
    return None


def check_value(fd, v):
    if v is None:
        return "is required" if fd["req"] else None
    t = fd["type"]
    if t == "text":
        return check_text(fd, v)
    if t == "list":
        if not v:
            return "is an empty list"
        for it in v:
            w = check_text(fd, it)
            if w:
                return "item " + w
        return None
    if t == "uint":
        return None if fd["lo"] <= v <= fd["hi"] else "is out of range"
    if t == "enum":
        return None if v < len(fd["names"]) else "is not one of its values"
    if t == "time":
        return None if v <= TIME_MAX else "is after 9999"
    if t == "date":
        return None if real_date(v) else "is not a date"
    return None  # bool: the type was checked at step 10


def receive(env):
    """Returns the decoded signed part, or raises Refused with the reason
    of the first step of section 8 that refuses (steps 1 to 13: those that
    need no clock, no trust list and no state)."""
    if len(env) > MAX_ENVELOPE:                                    # 1
        refuse("too-large", "over 65536 bytes")
    if len(env) < 2 or env[0] != 0x92 or env[1] not in (0xc4, 0xc5, 0xc6):  # 2
        refuse("malformed", "not an envelope header")
    h = {0xc4: 1, 0xc5: 2, 0xc6: 4}[env[1]]
    if len(env) < 2 + h:
        refuse("malformed", "envelope header cut short")
    n = int.from_bytes(env[2:2 + h], "big")
    hdr = 2 + h
    total = hdr + n + 66
    if total > MAX_ENVELOPE:                                       # 3
        refuse("too-large", "declares more than 65536 bytes")
    if len(env) < total:                                           # 4
        refuse("malformed", "cut short")
    if len(env) > total:                                           # 5
        refuse("malformed", "bytes after the signature")
    sp, sig_el = env[hdr:hdr + n], env[hdr + n:]
    if sig_el[:2] != b"\xc4\x40":                                  # 6
        refuse("malformed", "signature is not bin8 of 64 bytes")
    if not walk(sp):                                               # 7
        refuse("malformed", "signed part is not one bounded msgpack value")
    o = msgpack.unpackb(sp, raw=False, unicode_errors="surrogateescape",
                        strict_map_key=False, use_list=True)
    if type(o) is not list or not o or not is_uint(o[0]):         # 8
        refuse("malformed", "signed part is not an array starting with the format")
    if o[0] != 1:                                                  # 9
        refuse("unsupported-format", "format %d" % o[0])
    if len(o) != 8:                                                # 10
        refuse("malformed", "signed part has %d elements" % len(o))
    fmt, kind, origin, obj, version, created, expires, body = o
    if not is_uint(kind) or kind > 4:
        refuse("malformed", "unknown kind")
    if type(origin) is not bytes or len(origin) != 32:
        refuse("malformed", "origin is not a 32-byte bin")
    if not all(is_uint(x) for x in (obj, version, created, expires)):
        refuse("malformed", "object, version, created or expires is not a non-negative integer")
    fields = BODIES[kind]
    if type(body) is not list or len(body) != len(fields):
        refuse("malformed", "body is not an array of %d" % len(fields))
    for fd, v in zip(fields, body):
        if v is None:
            continue
        t = fd["type"]
        ok = {
            "text": lambda: type(v) is str and "\0" not in v,
            "list": lambda: (type(v) is list and len(v) <= fd["items"] and
                             all(type(i) is str and "\0" not in i for i in v)),
            "bool": lambda: type(v) is bool,
        }.get(t, lambda: is_uint(v))()
        if not ok:
            refuse("malformed", "field %s has the wrong type" % fd["name"])
    for fd, v in zip(fields, body):                                # 11
        w = check_value(fd, v)
        if w:
            refuse("malformed", "field %s %s" % (fd["name"], w))
    if obj > MAX53:
        refuse("malformed", "object above 2^53-1")
    if not 1 <= version <= MAX53:
        refuse("malformed", "version not in 1..2^53-1")
    if created > TIME_MAX:
        refuse("malformed", "created after 9999")
    if (kind in (2, 3)) != (expires != 0):
        refuse("malformed", "events and jobs expire, nothing else does")
    if expires and (expires <= created or expires > TIME_MAX):
        refuse("malformed", "expires not after created")
    if kind == 0 and obj != 0:
        refuse("malformed", "node announcement with object != 0")
    b = dict((fd["name"], v) for fd, v in zip(fields, body))
    if kind == 2 and b["ends_at"] is not None and b["ends_at"] < b["starts_at"]:
        refuse("malformed", "event ends before it starts")
    if kind == 3:
        lo, hi, cur = b["salary_min"], b["salary_max"], b["currency"]
        if lo is not None and hi is not None and lo > hi:
            refuse("malformed", "salary_min above salary_max")
        if (lo is not None or hi is not None) and cur is None:
            refuse("malformed", "salary without a currency")
        if cur is not None and not re.fullmatch(r"[A-Z]{3}", cur):
            refuse("malformed", "currency is not three capital letters")
        if b["valid_through"] < b["posted"]:
            refuse("malformed", "valid_through before posted")
    if kind == 4:
        if b["kind"] == 4:
            refuse("malformed", "retraction of a retraction")
        if b["kind"] == 0 and obj != 0:
            refuse("malformed", "node retraction with object != 0")
    if msgpack.packb(o, use_bin_type=True) != sp or hdr != 1 + len(bin_header(n)):  # 12
        refuse("non-canonical", "not the one canonical encoding")
    try:                                                           # 13
        VerifyKey(origin).verify(CONTEXT + sp, sig_el[2:])
    except BadSignatureError:
        refuse("bad-signature", "signature does not verify")
    return o


# ---- Encoding from the JSON input form (PROTOCOL.md section 12) ----


def encode_input(inp, pk):
    kind = KINDS.index(inp["kind"])
    body = []
    for fd in BODIES[kind]:
        v = inp.get("body", {}).get(fd["name"])
        t = fd["type"]
        if v is None:
            body.append(None)
        elif t == "enum":
            body.append(fd["names"].index(v))
        elif t == "time":
            body.append(iso_to_unix(v))
        elif t == "date":
            body.append(int(v.replace("-", "")))
        else:
            body.append(v)
    unknown = set(inp.get("body", {})) - set(fd["name"] for fd in BODIES[kind])
    if unknown:
        raise ValueError("unknown body fields %s" % sorted(unknown))
    expires = inp.get("expires")
    signed = [1, kind, pk, inp["object"], inp["version"], iso_to_unix(inp["created"]),
              0 if expires is None else iso_to_unix(expires), body]
    return msgpack.packb(signed, use_bin_type=True)


def to_json_form(o):
    """The decoded signed part in the input form, for comparison."""
    fmt, kind, origin, obj, version, created, expires, body = o
    out = {}
    for fd, v in zip(BODIES[kind], body):
        if v is None:
            continue
        t = fd["type"]
        if t == "enum":
            v = fd["names"][v]
        elif t == "time":
            v = unix_to_iso(v)
        elif t == "date":
            v = "%04d-%02d-%02d" % (v // 10000, v // 100 % 100, v % 100)
        out[fd["name"]] = v
    return {"kind": KINDS[kind], "object": obj, "version": version,
            "created": unix_to_iso(created),
            "expires": unix_to_iso(expires) if expires else None, "body": out}


# ---- The checks ----

problems = []


def problem(name, what):
    problems.append("%s: %s" % (name, what))


def check_valid(name, v):
    sk = SigningKey(bytes.fromhex(v["seed_hex"]))
    pk = bytes(sk.verify_key)
    if bytes.fromhex(v["seed_hex"]) != SEED:
        problem(name, "seed is not 00 01 .. 1f")
    if v["public_key"] != key_text(pk):
        problem(name, "public_key is not the text form of the seed's key")
    sp = encode_input(v["input"], pk)
    if sp.hex() != v["signed_hex"]:
        problem(name, "signed part: expected %s, encoded %s" % (v["signed_hex"], sp.hex()))
    sig = sk.sign(CONTEXT + sp).signature  # Ed25519 is deterministic
    if sig.hex() != v["signature_hex"]:
        problem(name, "signature differs")
    if hashlib.blake2b(sp, digest_size=32).hexdigest() != v["id_hex"]:
        problem(name, "id is not BLAKE2b-256 of the signed part")
    env = b"\x92" + bin_header(len(sp)) + sp + b"\xc4\x40" + sig
    if env.hex() != v["envelope_hex"]:
        problem(name, "envelope differs")
    # The published bytes, received as any node would.
    pub = bytes.fromhex(v["envelope_hex"])
    try:
        o = receive(pub)
    except Refused as r:
        problem(name, "refused (%s): %s" % (r.reason, r))
        return
    if o[2] != pk:
        problem(name, "origin is not the test key")
    got, want = to_json_form(o), dict(v["input"])
    want.setdefault("expires", None)
    want["created"] = unix_to_iso(iso_to_unix(want["created"]))
    if want["expires"] is not None:
        want["expires"] = unix_to_iso(iso_to_unix(want["expires"]))
    for k in ("kind", "object", "version", "created", "expires", "body"):
        if got[k] != want[k]:
            problem(name, "decoded %s %r differs from the input %r" % (k, got[k], want[k]))
    for k in ("signed_hex", "signature_hex", "id_hex", "envelope_hex", "seed_hex"):
        if v[k] != v[k].lower():
            problem(name, k + " is not lower-case")


MAX_SKEW = 900  # section 8, step 14


def check_invalid(name, v):
    env = bytes.fromhex(v["envelope_hex"])
    try:
        o = receive(env)
        now = v.get("now")
        if type(now) is not int:
            problem(name, "accepted, but stated %s" % v["reason"])
            return
        # Steps 14 and 15, for a receiver that trusts the test key.
        if o[5] > now + MAX_SKEW:
            refuse("from-the-future", "created %d > now %d + 900" % (o[5], now))
        if o[6] and o[6] <= now:
            refuse("expired", "expires %d <= now %d" % (o[6], now))
        problem(name, "accepted at now = %d, but stated %s" % (now, v["reason"]))
    except Refused as r:
        if r.reason != v["reason"]:
            problem(name, "refused as %s (%s), stated %s" % (r.reason, r, v["reason"]))


def check_protocol_tables(path):
    """The restated tables agree with PROTOCOL.md section 7 on the position,
    name, type and requiredness of every field (when the document exists)."""
    if not os.path.exists(path):
        print("note: %s not found; tables not compared with it" % path)
        return
    doc = open(path, encoding="utf-8").read()
    sections = re.split(r"^### 7\.\d+ ", doc, flags=re.M)[1:]
    kinds_seen = 0
    for sec in sections:
        m = re.match(r"(\w+) \(kind (\d)\)", sec)
        if not m:
            continue
        kind = int(m.group(2))
        rows = re.findall(r"^\| (\d+) \| (\w+) \| ([a-z]+)[^|]*\| (yes)? *\|", sec, flags=re.M)
        want = [(i, fd["name"], fd["type"], fd["req"]) for i, fd in enumerate(BODIES[kind])]
        got = [(int(i), n, t, r == "yes") for i, n, t, r in rows]
        if got != want:
            problem("PROTOCOL.md", "section 7 table of kind %d differs from check.py's:\n"
                    "  doc   %s\n  here  %s" % (kind, got, want))
        kinds_seen += 1
    if kinds_seen != 5:
        problem("PROTOCOL.md", "found %d kind tables in section 7, expected 5" % kinds_seen)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    d = sys.argv[1] if len(sys.argv) > 1 else here
    check_protocol_tables(os.path.join(here, "..", "..", "..", "docs", "PROTOCOL.md"))
    counts = {}
    for sub, fn, least in (("valid", check_valid, MIN_VALID),
                           ("invalid", check_invalid, MIN_INVALID)):
        try:
            names = sorted(f for f in os.listdir(os.path.join(d, sub)) if f.endswith(".json"))
        except OSError as e:
            names = []
            problem(sub + "/", str(e))
        if len(names) < least:
            problem(sub + "/", "%d files, at least %d expected" % (len(names), least))
        for f in names:
            try:
                with open(os.path.join(d, sub, f), encoding="utf-8") as fh:
                    v = json.load(fh)
                fn(sub + "/" + f, v)
            except (OSError, ValueError, KeyError, TypeError) as e:
                problem(sub + "/" + f, "unreadable or incomplete: %r" % e)
        counts[sub] = len(names)
    for p in problems:
        print("FAIL " + p)
    print("%d valid and %d invalid vectors checked, %d problems" %
          (counts.get("valid", 0), counts.get("invalid", 0), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
