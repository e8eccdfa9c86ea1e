#!/usr/bin/python3
"""Self-test of the Python checkers (check_ics.py, check_vcard.py), run by
ctest: they must accept what Amicale writes, report it field by field, and
catch what they exist to catch.

  selftest_checkers.py TEST_ICS_BINARY

TEST_ICS_BINARY --write DIR writes calendars (v1.ics, then v2.ics, a later
export: one event edited, one added cancelled) and people.vcf from real
announcements and person JSON (tests/unit/test_ics.c). Hand-written
fixtures cover the failures: bare LF, long lines, a fold inside a UTF-8
sequence, a local time, a duplicate UID, a change without a SEQUENCE bump,
a vCard 3.0. Exit 0 when all holds, 1 otherwise, 77 (skipped) when
python3-icalendar or python3-vobject is missing outside CI.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(tool, *args):
    p = subprocess.run([sys.executable, os.path.join(HERE, tool)] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out = json.loads(p.stdout) if p.stdout else None
    except ValueError:
        out = None
    return p.returncode, out, p.stderr


def write(d, name, data):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


CAL = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\n{events}END:VCALENDAR\r\n")
EVENT = ("BEGIN:VEVENT\r\nUID:{uid}\r\nSEQUENCE:{seq}\r\nDTSTAMP:20260101T000000Z\r\n"
         "DTSTART{start}\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n")


def cal(*events):
    return CAL.format(events="".join(EVENT.format(**e) for e in events))


def ev(uid="a@x", seq=1, start=":20260131T180000Z", summary="S"):
    return dict(uid=uid, seq=seq, start=start, summary=summary)


def main():
    missing = []
    for mod in ("icalendar", "vobject"):
        try:
            __import__(mod)
        except ImportError:
            missing.append("python3-" + mod)
    if missing:
        print("missing: " + ", ".join(missing))
        return 1 if os.environ.get("CI") else 77
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2

    with tempfile.TemporaryDirectory(prefix="amicale-checkers.") as d:
        check(subprocess.run([sys.argv[1], "--write", d]).returncode == 0, "test_ics --write")
        key = open(os.path.join(d, "key.txt")).read().strip()
        uid = lambda o: "event-%d-%s@amicale" % (o, key)  # noqa: E731

        # ---- what Amicale writes, field by field ----
        v1 = write(d, "v1.json", json.dumps({
            "calendar": {"version": "2.0", "method": "PUBLISH", "calscale": "GREGORIAN",
                         "name": "Amicale – École Exemple", "timezone": "Europe/Paris"},
            "count": 2,
            "events": [
                {"uid": uid(7), "sequence": 11, "summary": "Gala des anciens",
                 "dtstart": "2026-01-31T00:00:00Z", "dtend": "2026-01-31T04:00:00Z",
                 "dtstamp": "2026-01-01T00:00:00Z", "status": "TENTATIVE",
                 "location": "Pavillon Dauphine, Paris, France",
                 "categories": ["gala", "réseau"], "url": "https://exemple.fr/gala",
                 "institution": "École Exemple", "timezone": "Europe/Paris"},
                {"uid": uid(9), "sequence": 12, "summary": 'Afterwork; "réseau", Lyon',
                 "dtend": None, "status": "CONFIRMED", "location": "Lyon, France",
                 "categories": ["networking"]},
            ]}))
        rc, out, err = run("check_ics.py", os.path.join(d, "v1.ics"), v1)
        check(rc == 0 and out and not out["problems"], "check_ics: v1.ics as expected " + err)
        check(out is not None and out["events"][0]["description"].startswith(
            "Dîner et soirée.\nTenue de ville.\n\nOrganiser: "), "check_ics: DESCRIPTION unescaped")

        merged = write(d, "merged.json", json.dumps({
            "count": 3, "only_in_old": [],
            "events": [{"uid": uid(7), "sequence": 20, "status": "CONFIRMED",
                        "summary": "Gala des anciens — nouvelle date"},
                       {"uid": uid(9), "sequence": 12},
                       {"uid": uid(10), "sequence": 21, "status": "CANCELLED",
                        "summary": "Conférence annulée"}]}))
        rc, out, err = run("check_ics.py", "--merge", os.path.join(d, "v1.ics"),
                           os.path.join(d, "v2.ics"), merged)
        check(rc == 0, "check_ics --merge v1 v2: the edit wins, the cancellation shows " + err)
        rc, out, err = run("check_ics.py", "--import-twice", os.path.join(d, "v2.ics"))
        check(rc == 0 and out and len(out["events"]) == 3, "check_ics --import-twice v2 " + err)
        rc, out, err = run("check_ics.py", "--merge", os.path.join(d, "v2.ics"),
                           os.path.join(d, "v1.ics"))
        check(rc == 1 and "SEQUENCE went down" in err, "check_ics --merge v2 v1: older file refused")
        rc, out, err = run("check_ics.py", os.path.join(d, "v1.ics"), merged)
        check(rc == 1 and "expected" in err, "check_ics: an unmet expectation fails")

        people = write(d, "people.json", json.dumps({"count": 2, "cards": [
            {"uid": "urn:amicale:%s:42" % key, "fn": "Éléonore Dubois",
             "n": {"family": "Dubois", "given": "Éléonore", "additional": "", "prefix": "",
                   "suffix": ""},
             "org": [["Société Générale"]], "title": "Analyste, risques; crédit",
             "emails": ["eleonore@example.fr", "e.dubois@example.org"],
             "urls": ["https://linkedin.com/in/eleonore-dubois"],
             "adr": [{"box": "", "extended": "", "street": "", "locality": "Paris",
                      "region": "", "code": "", "country": "France"}],
             "note": "Passionnée de finance durable.\nBénévole.",
             "categories": ["Python", "Gestion des risques"], "lang": ["fr", "en"],
             "institution": "École Exemple", "promo": "2012"},
            {"uid": "urn:amicale:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB:7", "fn": "Martin",
             "org": [], "institution": "Lycée C"}]}))
        rc, out, err = run("check_vcard.py", os.path.join(d, "people.vcf"), people)
        check(rc == 0 and out and not out["problems"], "check_vcard: people.vcf as expected " + err)

        # ---- what they must catch ----
        good = cal(ev())
        rc, _, err = run("check_ics.py", write(d, "good.ics", good))
        check(rc == 0, "check_ics: a minimal good calendar passes " + err)
        rc, _, err = run("check_ics.py", write(d, "lf.ics", good.replace("\r\n", "\n")))
        check(rc == 1 and "bare CR or LF" in err, "check_ics: LF line ends")
        rc, _, err = run("check_ics.py", write(d, "long.ics", cal(ev(summary="x" * 80))))
        check(rc == 1 and "octets" in err, "check_ics: a line over 75 octets")
        split = cal(ev(summary="é" * 30)).encode("utf-8")
        at = split.index("é".encode("utf-8") * 30) + 1  # between the two octets of an é
        split = split[:at] + b"\r\n " + split[at:]
        rc, _, err = run("check_ics.py", write(d, "split.ics", split))
        check(rc == 1 and "split a character" in err, "check_ics: a fold inside a character")
        rc, _, err = run("check_ics.py", write(d, "local.ics", cal(ev(start=":20260131T180000"))))
        check(rc == 1 and "not in UTC" in err, "check_ics: a floating local time")
        rc, _, err = run("check_ics.py", write(d, "dup.ics", cal(ev(), ev(summary="T"))))
        check(rc == 1 and "UID used twice" in err, "check_ics: a duplicate UID")
        rc, _, err = run("check_ics.py", "--merge", write(d, "s1.ics", cal(ev())),
                         write(d, "s2.ics", cal(ev(summary="Changed"))))
        check(rc == 1 and "same SEQUENCE" in err, "check_ics: a change without a SEQUENCE bump")
        rc, out, err = run("check_ics.py", "--merge", write(d, "o.ics", cal(ev(), ev(uid="b@x"))),
                           write(d, "n.ics", cal(ev(seq=2, summary="New"))))
        check(rc == 0 and out and out["only_in_old"] == ["b@x"] and
              [e["summary"] for e in out["events"]] == ["New", "S"],
              "check_ics --merge: an event gone from the new file stays, listed " + err)
        rc, _, err = run("check_vcard.py", write(d, "v3.vcf",
                                                 "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u\r\nFN:A\r\n"
                                                 "N:A;;;;\r\nEND:VCARD\r\n"))
        check(rc == 1 and "VERSION" in err, "check_vcard: a vCard 3.0")
        rc, out, err = run("check_vcard.py", write(d, "url.vcf",
                                                   "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:u\r\nFN:A\r\n"
                                                   "N:A;;;;\r\nURL:https://e.org/a,b\r\nEND:VCARD\r\n"))
        check(rc == 0 and out and out["cards"][0]["urls"] == ["https://e.org/a,b"],
              "check_vcard: a URL with a comma read whole " + err)
    print("%d failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
