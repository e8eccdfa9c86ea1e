#!/usr/bin/python3
"""Checks a file of vCards (RFC 6350) written by Amicale, with an
independent parser (Debian's python3-vobject, vobject.readComponents), and
prints what the cards hold as JSON, so end-to-end tests compare people
field by field.

  check_vcard.py FILE [EXPECT.json]
      {"cards": [{"uid", "fn", "n": {"family", "given", "additional",
                  "prefix", "suffix"}, "nickname", "org": [[...]], "title",
                  "emails", "tels", "urls", "adr": [{"locality",
                  "country", ...}], "note", "categories", "lang",
                  "institution", "promo", "rev"}],
       "problems": [...]}
      in file order; absent single values null, absent lists [].
      EXPECT.json: {"count": n, "cards": [{"uid": ..., field: value}]} or
      just the list of cards; each named field must be equal (cards
      matched by uid).

Besides, on the raw bytes: CRLF line ends only, physical lines of at most
75 octets, no UTF-8 sequence split by a fold, VERSION 4.0, FN and UID in
every card, UIDs unique. Exit 0 when there is no problem and every
expectation holds, 1 otherwise (problems printed in the JSON and on
stderr), 2 on bad usage.
"""
import os
import sys

import vobject

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checker_common import expect_by_uid, raw_problems, report  # noqa: E402

CARD_FIELDS = ("uid", "fn", "n", "nickname", "org", "title", "emails", "tels", "urls",
               "adr", "note", "categories", "lang", "institution", "promo", "rev")


def values(card, name):
    return [c.value for c in card.contents.get(name, [])]


def one(card, name):
    v = values(card, name)
    return v[0] if v else None


def split_text_list(v):
    """A comma-separated TEXT list that vobject leaves as typed."""
    if isinstance(v, list):
        return [str(x) for x in v]
    out, cur, i = [], "", 0
    while i < len(v):
        if v[i] == "\\" and i + 1 < len(v):
            cur += "\n" if v[i + 1] in "nN" else v[i + 1]
            i += 2
            continue
        if v[i] == ",":
            out.append(cur)
            cur = ""
        else:
            cur += v[i]
        i += 1
    out.append(cur)
    return out


def raw_urls(data):
    """The URL values of each card, read from the unfolded lines: vobject
    cuts a URI at its first comma (it splits URL like a TEXT list), while
    RFC 6350 writes URIs as they are."""
    lines = []
    for l in data.decode("utf-8", "replace").split("\r\n"):
        if l[:1] in (" ", "\t") and lines:
            lines[-1] += l[1:]
        else:
            lines.append(l)
    cards, cur = [], None
    for l in lines:
        if l.upper() == "BEGIN:VCARD":
            cur = []
        elif l.upper() == "END:VCARD" and cur is not None:
            cards.append(cur)
            cur = None
        elif cur is not None:
            name, sep, value = l.partition(":")
            if sep and name.split(";")[0].upper() == "URL":
                cur.append(value)
    return cards


def summarize(path):
    data = open(path, "rb").read()
    problems = raw_problems(data)
    try:
        cards = list(vobject.readComponents(data.decode("utf-8")))
    except Exception as e:  # the parser's own words
        return {"cards": [], "problems": problems + ["does not parse: %s" % e]}
    urls = raw_urls(data)
    out, seen = [], set()
    for i, c in enumerate(cards):
        uid = one(c, "uid")
        who = "card %s" % uid
        if c.name != "VCARD":
            problems.append("%s: a %s, not a VCARD" % (who, c.name))
            continue
        if one(c, "version") != "4.0":
            problems.append("%s: VERSION is %r" % (who, one(c, "version")))
        if uid is None:
            problems.append("a card without UID")
        if one(c, "fn") is None:
            problems.append("%s: no FN" % who)
        if uid in seen:
            problems.append("%s: UID used twice" % who)
        seen.add(uid)
        n = one(c, "n")
        cats = []
        for v in values(c, "categories"):
            cats.extend(split_text_list(v))
        out.append({
            "uid": uid,
            "fn": one(c, "fn"),
            "n": None if n is None else {k: getattr(n, k) for k in
                                         ("family", "given", "additional", "prefix", "suffix")},
            "nickname": one(c, "nickname"),
            "org": [list(o) if isinstance(o, list) else [o] for o in values(c, "org")],
            "title": one(c, "title"),
            "emails": values(c, "email"),
            "tels": values(c, "tel"),
            "urls": urls[i] if i < len(urls) else values(c, "url"),
            "adr": [{"box": a.box, "extended": a.extended, "street": a.street,
                     "locality": a.city, "region": a.region, "code": a.code,
                     "country": a.country} for a in values(c, "adr")],
            "note": one(c, "note"),
            "categories": cats,
            "lang": values(c, "lang"),
            "institution": one(c, "x-amicale-institution"),
            "promo": one(c, "x-amicale-promo"),
            "rev": one(c, "rev"),
        })
    return {"cards": out, "problems": problems}


def check_expectations(summary, expect):
    problems = []
    if isinstance(expect, list):
        expect = {"cards": expect}
    if "count" in expect and len(summary["cards"]) != expect["count"]:
        problems.append("%d cards, expected %d" % (len(summary["cards"]), expect["count"]))
    problems += expect_by_uid(summary["cards"], expect.get("cards", []), CARD_FIELDS, "card")
    return problems


def main(argv):
    args = argv[1:]
    if len(args) not in (1, 2) or args[0].startswith("--"):
        sys.stderr.write(__doc__)
        return 2
    return report(summarize(args[0]), args[1] if len(args) == 2 else None, check_expectations,
                  "check_vcard")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
