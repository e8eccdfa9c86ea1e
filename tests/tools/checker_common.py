"""What check_ics.py and check_vcard.py share: the line rules both formats
follow (RFC 5545 and RFC 6350 content lines), matching expectations to
what a file holds by UID, and printing the result."""
import json
import sys


def raw_problems(data):
    """Line-level rules, on the bytes as written."""
    problems = []
    if not data.endswith(b"\r\n"):
        problems.append("the file does not end with CRLF")
    body = data[:-2] if data.endswith(b"\r\n") else data
    for i, line in enumerate(body.split(b"\r\n"), 1):
        if b"\r" in line or b"\n" in line:
            problems.append("line %d: a bare CR or LF" % i)
        if len(line) > 75:
            problems.append("line %d is %d octets (more than 75)" % (i, len(line)))
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            problems.append("line %d is not UTF-8 on its own (a fold split a character)" % i)
    return problems


def expect_by_uid(held, wanted, fields, noun):
    """Problems of the items held (dicts with a "uid") against the wanted
    ones: each must be held, and each field it names (one of fields) must
    be equal. noun: "event", "card"."""
    problems = []
    by_uid = {x["uid"]: x for x in held}
    for want in wanted:
        got = by_uid.get(want.get("uid"))
        if got is None:
            problems.append("no %s with UID %r" % (noun, want.get("uid")))
            continue
        for k, v in want.items():
            if k not in fields:
                problems.append("expectation names an unknown field %r" % k)
            elif got.get(k) != v:
                problems.append("%s %s: %s is %r, expected %r" % (noun, want["uid"], k, got.get(k), v))
    return problems


def report(result, expect_path, check_expectations, tool):
    """Adds the problems of the expectations in expect_path (if any),
    prints result as JSON and its problems on stderr; the exit status."""
    if expect_path:
        with open(expect_path, encoding="utf-8") as f:
            result["problems"] += check_expectations(result, json.load(f))
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    for p in result["problems"]:
        sys.stderr.write("%s: %s\n" % (tool, p))
    return 1 if result["problems"] else 0
