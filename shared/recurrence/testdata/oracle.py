#!/usr/bin/env python3
"""Writes oracle.json: the occurrences of RFC 5545 rules as python-dateutil
computes them, the reference the Go rule engine is tested against (no code
is shared). Run from this directory: python3 oracle.py (python-dateutil 2.9,
the zoneinfo of Python 3.9+).

Each case is a rule, a first occurrence (DTSTART, a wall-clock reading in a
time zone) and the occurrences that follow, as UTC instants, with the series
semantics the tasks use: DTSTART is always occurrence 1 (COUNT counts it),
then every later instance of the rule; a date UNTIL includes its whole day.
"""
import json
from datetime import datetime, timezone, timedelta
from zoneinfo import ZoneInfo

import dateutil
from dateutil.rrule import rrulestr

LIMIT = 25  # occurrences kept per case

RULES = [
    # (rule, [(zone, dtstart), ...])
    ("FREQ=DAILY", [("America/New_York", "2026-03-06T02:30:00"), ("Europe/Berlin", "2026-10-23T02:30:00")]),
    ("FREQ=DAILY;INTERVAL=3;COUNT=10", [("America/New_York", "2026-11-01T01:30:00"), ("Australia/Lord_Howe", "2026-10-02T02:15:00")]),
    ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", [("Asia/Kolkata", "2026-01-30T09:00:00"), ("America/Havana", "2026-03-06T00:30:00")]),
    ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR,SA", [("Europe/London", "2026-03-27T07:00:00")]),
    ("FREQ=DAILY;BYMONTH=1,3", [("UTC", "2026-01-29T12:00:00"), ("America/New_York", "2026-03-07T02:30:00")]),
    ("FREQ=DAILY;BYMONTHDAY=1,-1", [("Pacific/Chatham", "2026-02-27T03:00:00")]),
    ("FREQ=DAILY;BYMONTH=12;BYDAY=SA,SU", [("Asia/Tokyo", "2026-11-30T10:00:00")]),
    ("FREQ=DAILY;UNTIL=20260310", [("America/New_York", "2026-03-06T23:30:00")]),
    ("FREQ=DAILY;UNTIL=20260403T120000Z", [("Europe/Berlin", "2026-03-27T14:00:00")]),
    ("FREQ=DAILY;INTERVAL=10;BYMONTH=2;BYMONTHDAY=28,29", [("UTC", "2024-02-01T08:00:00")]),
    ("FREQ=DAILY;BYMONTHDAY=13;BYDAY=FR", [("Africa/Casablanca", "2026-01-01T09:00:00")]),
    ("FREQ=WEEKLY", [("Australia/Sydney", "2026-03-29T02:30:00"), ("America/Sao_Paulo", "2018-10-28T00:30:00")]),
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR", [("Europe/Berlin", "2026-01-07T18:00:00"), ("America/New_York", "2026-02-23T09:00:00")]),
    ("FREQ=WEEKLY;INTERVAL=2;COUNT=8;BYDAY=TU,SU;WKST=MO", [("America/New_York", "1997-08-05T09:00:00")]),
    ("FREQ=WEEKLY;INTERVAL=2;COUNT=8;BYDAY=TU,SU;WKST=SU", [("America/New_York", "1997-08-05T09:00:00")]),
    ("FREQ=WEEKLY;BYDAY=MO,WE,FR;BYSETPOS=1", [("UTC", "2026-01-07T09:00:00")]),
    # The first week counts from DTSTART's day (dateutil's reading).
    ("FREQ=WEEKLY;BYDAY=MO,WE,FR;BYSETPOS=2", [("UTC", "2026-01-07T09:00:00")]),
    ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", [("Asia/Kolkata", "2026-04-01T17:30:00")]),
    ("FREQ=WEEKLY;COUNT=10", [("Pacific/Apia", "2011-12-15T09:00:00")]),
    ("FREQ=WEEKLY;INTERVAL=3;BYDAY=SU;BYMONTH=4,5", [("Europe/Paris", "2026-04-05T02:30:00")]),
    ("FREQ=WEEKLY;UNTIL=20261231;BYDAY=TH;WKST=SU", [("America/Chicago", "2026-10-29T01:30:00")]),
    ("FREQ=MONTHLY", [("UTC", "2026-01-31T09:00:00"), ("Europe/Berlin", "2024-01-29T08:00:00")]),
    ("FREQ=MONTHLY;BYMONTHDAY=31", [("America/New_York", "2026-01-31T09:00:00")]),
    ("FREQ=MONTHLY;BYMONTHDAY=-1", [("Australia/Sydney", "2026-01-31T09:00:00")]),
    ("FREQ=MONTHLY;BYMONTHDAY=-2,-1", [("UTC", "2024-02-27T12:00:00")]),
    ("FREQ=MONTHLY;BYDAY=-1FR", [("Europe/London", "2026-01-30T16:00:00"), ("Asia/Tokyo", "2026-01-01T16:00:00")]),
    ("FREQ=MONTHLY;BYDAY=3FR", [("America/Los_Angeles", "2026-01-16T10:00:00")]),
    ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", [("America/New_York", "2026-01-30T17:00:00"), ("UTC", "2026-01-31T17:00:00")]),
    ("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15", [("Europe/Berlin", "2026-01-15T10:00:00")]),
    ("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", [("UTC", "2026-01-01T13:00:00")]),
    ("FREQ=MONTHLY;BYDAY=1MO,-1MO", [("Pacific/Auckland", "2026-03-02T09:00:00")]),
    ("FREQ=MONTHLY;BYMONTHDAY=1,15,-1;BYSETPOS=2", [("Europe/Berlin", "2026-01-01T09:00:00")]),
    ("FREQ=MONTHLY;BYDAY=SA,SU;BYSETPOS=1,-1", [("America/Denver", "2026-02-01T11:00:00")]),
    ("FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=1SU,-1SU", [("America/New_York", "1997-09-07T09:00:00")]),
    ("FREQ=MONTHLY;COUNT=10;BYDAY=TU,WE,TH;BYSETPOS=3", [("America/New_York", "1997-09-04T09:00:00")]),
    ("FREQ=MONTHLY;BYMONTHDAY=29,30,31;BYSETPOS=-1", [("UTC", "2026-01-31T08:00:00")]),
    ("FREQ=MONTHLY;BYMONTH=2,8;BYDAY=2WE", [("Asia/Kolkata", "2026-02-11T10:00:00")]),
    ("FREQ=MONTHLY;UNTIL=20270101T000000Z;BYDAY=-2MO", [("America/Halifax", "2026-01-19T10:00:00")]),
    ("FREQ=YEARLY", [("UTC", "2024-02-29T10:00:00"), ("Europe/Berlin", "2026-03-28T02:30:00")]),
    ("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", [("America/New_York", "2026-11-26T12:00:00")]),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1", [("UTC", "2026-02-28T09:00:00")]),
    ("FREQ=YEARLY;COUNT=5;BYMONTH=2;BYMONTHDAY=29", [("Asia/Tokyo", "2024-02-29T09:00:00")]),
    ("FREQ=YEARLY;BYDAY=20MO", [("America/New_York", "1997-05-19T09:00:00")]),
    ("FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU", [("Europe/Berlin", "2026-03-29T01:00:00")]),
    ("FREQ=YEARLY;BYMONTH=1,2,3;BYDAY=TU,TH", [("UTC", "2026-01-01T09:00:00")]),
    ("FREQ=YEARLY;INTERVAL=4;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8", [("America/New_York", "1996-11-05T09:00:00")]),
    ("FREQ=YEARLY;BYMONTH=6,7;BYDAY=-1MO", [("Australia/Sydney", "2026-06-29T09:00:00")]),
    ("FREQ=YEARLY;BYDAY=MO;BYSETPOS=-1", [("UTC", "2026-12-28T09:00:00")]),
    ("FREQ=YEARLY;BYMONTHDAY=1,-1", [("Europe/Berlin", "2026-01-01T00:30:00")]),
    ("FREQ=YEARLY;BYDAY=1MO,-1FR", [("UTC", "2026-01-05T09:00:00")]),
    ("FREQ=YEARLY;INTERVAL=1000;COUNT=4", [("UTC", "2026-06-01T09:00:00")]),
    ("FREQ=YEARLY;UNTIL=20300101;BYMONTH=12;BYMONTHDAY=25", [("America/New_York", "2026-12-25T07:00:00")]),
    # Not synchronized with the rule: the first task is occurrence 1 all the same.
    ("FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=6", [("Europe/Berlin", "2026-01-06T09:00:00")]),
    ("FREQ=MONTHLY;BYDAY=-1FR;COUNT=4", [("UTC", "2026-01-05T09:00:00")]),
]


def expected(rule, zone, start):
    tz = ZoneInfo(zone)
    dtstart = datetime.fromisoformat(start).replace(tzinfo=tz)
    parts = dict(p.split("=", 1) for p in rule.split(";"))
    count = int(parts.pop("COUNT", 0)) or None
    until = parts.pop("UNTIL", None)
    base = ";".join(f"{k}={v}" for k, v in parts.items())
    if until:
        if until.endswith("Z"):
            u = datetime.strptime(until, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        else:  # a date: its whole day in the series' zone
            u = datetime.strptime(until, "%Y%m%d").replace(hour=23, minute=59, second=59, tzinfo=tz)
        base += ";UNTIL=" + u.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    it = iter(rrulestr(base, dtstart=dtstart))
    out = [dtstart]
    for x in it:
        if len(out) >= (count or LIMIT) or len(out) >= LIMIT:
            break
        if x == dtstart:
            continue
        out.append(x)
    return out


def main():
    cases = []
    for rule, starts in RULES:
        for zone, start in starts:
            occ = expected(rule, zone, start)
            cases.append({
                "rule": rule, "zone": zone, "start": start,
                "occurrences": [x.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") for x in occ],
                "complete": len(occ) < LIMIT,
            })
    with open("oracle.json", "w") as f:
        json.dump({"generator": "python-dateutil " + dateutil.__version__, "limit": LIMIT, "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
