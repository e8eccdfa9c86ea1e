#!/usr/bin/python3
"""Checks an iCalendar file (RFC 5545) written by Amicale, with an
independent parser (Debian's python3-icalendar), and prints what it holds
as JSON, so end-to-end tests compare events field by field.

  check_ics.py FILE [EXPECT.json]
      The calendar and its events:
        {"calendar": {"version", "prodid", "method", "calscale", "name",
                      "timezone"},
         "events": [{"uid", "sequence", "summary", "description",
                     "dtstart", "dtend", "dtstamp", "status", "location",
                     "categories", "url", "institution", "timezone"}],
         "problems": [...]}
      Times as ISO 8601 UTC ("2026-01-31T18:30:00Z"), absent ones null;
      events in file order. EXPECT.json: {"calendar": {...}, "count": n,
      "events": [{"uid": ..., field: value, ...}]} or just the list of
      events; each named field must be equal (events matched by uid).
  check_ics.py --merge OLD NEW [EXPECT.json]
      What a calendar holds after importing OLD then NEW: events merged by
      UID, the greater SEQUENCE winning. Problems: an event of NEW whose
      SEQUENCE went down, or stayed the same with different content (a
      calendar would keep the old one); the merged calendar must show every
      event of NEW as NEW has it. Events only in OLD (retracted since) are
      listed under "only_in_old": calendars keep them.
  check_ics.py --import-twice FILE [EXPECT.json]
      --merge FILE FILE: importing the same file again changes nothing.

Besides, on the raw bytes: CRLF line ends only, physical lines of at most
75 octets, no UTF-8 sequence split by a fold, every VEVENT with UID,
DTSTAMP and DTSTART, UTC times, UIDs unique. Exit 0 when there is no
problem and every expectation holds, 1 otherwise (problems printed in the
JSON and on stderr), 2 on bad usage.
"""
import datetime
import os
import sys

import icalendar

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checker_common import expect_by_uid, raw_problems, report  # noqa: E402

SUMMARY_FIELDS = ("uid", "sequence", "summary", "description", "dtstart", "dtend",
                  "dtstamp", "status", "location", "categories", "url",
                  "institution", "timezone")


def text(v):
    return None if v is None else str(v)


def utc(prop, what, problems):
    if prop is None:
        return None
    dt = prop.dt
    if not isinstance(dt, datetime.datetime):
        problems.append("%s is a date, not a date-time" % what)
        return dt.isoformat()
    if dt.tzinfo is None or dt.utcoffset() != datetime.timedelta(0):
        problems.append("%s is not in UTC" % what)
        if dt.tzinfo is None:
            return dt.isoformat()
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def categories(prop):
    if prop is None:
        return []
    props = prop if isinstance(prop, list) else [prop]
    out = []
    for p in props:
        cats = getattr(p, "cats", None)
        out.extend(str(c) for c in (cats if cats is not None else [p]))
    return out


def summarize(path):
    data = open(path, "rb").read()
    problems = raw_problems(data)
    try:
        cal = icalendar.Calendar.from_ical(data)
    except Exception as e:  # the parser's own words
        return {"calendar": None, "events": [], "problems": problems + ["does not parse: %s" % e]}
    info = {
        "version": text(cal.get("version")),
        "prodid": text(cal.get("prodid")),
        "method": text(cal.get("method")),
        "calscale": text(cal.get("calscale")),
        "name": text(cal.get("x-wr-calname")),
        "timezone": text(cal.get("x-wr-timezone")),
    }
    if info["version"] != "2.0":
        problems.append("VERSION is %r, not 2.0" % info["version"])
    if not info["prodid"]:
        problems.append("no PRODID")
    events = []
    seen = set()
    for ev in cal.walk("VEVENT"):
        uid = text(ev.get("uid"))
        who = "event %s" % uid
        for required in ("uid", "dtstamp", "dtstart"):
            if ev.get(required) is None:
                problems.append("%s: no %s" % (who, required.upper()))
        if uid in seen:
            problems.append("%s: UID used twice in the file" % who)
        seen.add(uid)
        seq = ev.get("sequence")
        events.append({
            "uid": uid,
            "sequence": int(seq) if seq is not None else None,
            "summary": text(ev.get("summary")),
            "description": text(ev.get("description")),
            "dtstart": utc(ev.get("dtstart"), who + " DTSTART", problems),
            "dtend": utc(ev.get("dtend"), who + " DTEND", problems),
            "dtstamp": utc(ev.get("dtstamp"), who + " DTSTAMP", problems),
            "status": text(ev.get("status")),
            "location": text(ev.get("location")),
            "categories": categories(ev.get("categories")),
            "url": text(ev.get("url")),
            "institution": text(ev.get("x-amicale-institution")),
            "timezone": text(ev.get("x-amicale-timezone")),
        })
        if events[-1]["dtend"] and events[-1]["dtstart"] and events[-1]["dtend"] < events[-1]["dtstart"]:
            problems.append("%s: DTEND before DTSTART" % who)
    return {"calendar": info, "events": events, "problems": problems}


def merge(old, new):
    """What a calendar holds after importing old, then new."""
    problems = list(old["problems"]) + list(new["problems"])
    held = {e["uid"]: e for e in old["events"]}
    for e in new["events"]:
        before = held.get(e["uid"])
        if before is not None:
            bs, es = before["sequence"] or 0, e["sequence"] or 0
            if es < bs:
                problems.append("event %s: SEQUENCE went down (%d after %d)" % (e["uid"], es, bs))
                continue
            if es == bs and before != e:
                changed = sorted(k for k in e if before.get(k) != e[k])
                problems.append("event %s: changed (%s) with the same SEQUENCE %d: a calendar "
                                "keeps the old version" % (e["uid"], ", ".join(changed), es))
                continue
        held[e["uid"]] = e
    for e in new["events"]:
        if held.get(e["uid"]) != e:
            problems.append("event %s: the merged calendar does not show it as the new file has it"
                            % e["uid"])
    new_uids = {e["uid"] for e in new["events"]}
    return {
        "calendar": new["calendar"],
        "events": sorted(held.values(), key=lambda e: e["uid"] or ""),
        "only_in_old": sorted(u for u in held if u not in new_uids),
        "problems": problems,
    }


def check_expectations(summary, expect):
    problems = []
    if isinstance(expect, list):
        expect = {"events": expect}
    for k, v in (expect.get("calendar") or {}).items():
        got = (summary.get("calendar") or {}).get(k)
        if got != v:
            problems.append("calendar %s: %r, expected %r" % (k, got, v))
    if "count" in expect and len(summary["events"]) != expect["count"]:
        problems.append("%d events, expected %d" % (len(summary["events"]), expect["count"]))
    problems += expect_by_uid(summary["events"], expect.get("events", []), SUMMARY_FIELDS, "event")
    if "only_in_old" in expect and summary.get("only_in_old") != sorted(expect["only_in_old"]):
        problems.append("only_in_old is %r, expected %r" % (summary.get("only_in_old"),
                                                            sorted(expect["only_in_old"])))
    return problems


def main(argv):
    args = argv[1:]
    if args[:1] == ["--merge"] and len(args) in (3, 4):
        result = merge(summarize(args[1]), summarize(args[2]))
        expect_path = args[3] if len(args) == 4 else None
    elif args[:1] == ["--import-twice"] and len(args) in (2, 3):
        result = merge(summarize(args[1]), summarize(args[1]))
        result["problems"] = sorted(set(result["problems"]), key=result["problems"].index)
        expect_path = args[2] if len(args) == 3 else None
    elif len(args) in (1, 2) and not args[0].startswith("--"):
        result = summarize(args[0])
        expect_path = args[1] if len(args) == 2 else None
    else:
        sys.stderr.write(__doc__)
        return 2
    return report(result, expect_path, check_expectations, "check_ics")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
