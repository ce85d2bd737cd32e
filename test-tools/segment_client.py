#!/usr/bin/env python3
"""Drive the real Segment Python library against a Cairn ingest endpoint and record what it sent.

Needs the library, at the version this script was verified with (module `segment.analytics`):
    python3 -m pip install --quiet segment-analytics-python==2.4.0

Usage:
    python3 test-tools/segment_client.py --host http://127.0.0.1:PORT --write-key KEY --out sent.json [--count N] [--gzip]

Sends N track calls (explicit messageIds, nested/unicode/number properties, explicit timestamps; the
account in context.groupId or properties.accountId), one identify per persona, two group calls and one
page and one screen call. The library batches them into POST {host}/v1/batch (HTTP Basic: write key as
user name, empty password; gzip only with --gzip). We wrap the library's HTTP session, so --out holds each
message exactly as it went over the wire, with the batch's sentAt and the HTTP status answered:
    [{"request": 1, "status": 200, "gzip": false, "sentAt": "...", "message": {...}}, ...]
A request that got no answer has "status": null and "error". Exits 1 if the library reported an error
(on_error) or any message never got a 2xx.
"""
import argparse
import gzip
import json
import sys
import uuid
from datetime import datetime, timedelta, timezone

from segment.analytics import Client
from segment.analytics import request as segment_request

PERSONAS = ["admin", "champion", "sponsor", "end_user"]
# (event, properties) pairs the track calls cycle through: canonical business events and product usage.
TRACKS = [
    ("Report Exported", {"format": "csv", "rows": 1234, "filters": {"region": "EMEA", "tags": ["q4", "ëu"]},
                         "title": "Ünïcödé ✓ 日本語 🚀 \"quoted\" \\ back"}),
    ("contract.signed", {"plan": "pro", "seats": 25, "arr": 48000.5, "renewalDate": "2027-11-23"}),
    ("ticket.opened", {"priority": "high", "ticket": {"id": 9001, "tags": []}}),
    ("nps.submitted", {"score": 9, "comment": "très bien"}),
    ("Feature Used", {"feature": "dashboards", "ratio": 0.125, "negative": -7, "big": 2**53 - 1,
                      "flag": True, "nothing": None, "deep": {"a": {"b": {"c": [1, 2.5, "x"]}}}}),
]

sent = []      # one record per message per HTTP attempt, filled by the session wrapper
errors = []    # what the library reported through on_error


def record_session_posts():
    """Wrap the library's requests session so every POST it makes is recorded as sent, with its answer."""
    session = segment_request._session
    real_post = session.post

    def post(url, **kwargs):
        data = kwargs["data"]
        zipped = kwargs["headers"].get("Content-Encoding") == "gzip"
        body = json.loads(gzip.decompress(data) if zipped else data)
        number = 1 + len({r["request"] for r in sent})
        records = [{"request": number, "status": None, "gzip": zipped, "sentAt": body.get("sentAt"), "message": m}
                   for m in body["batch"]]
        sent.extend(records)
        try:
            response = real_post(url, **kwargs)
        except Exception as error:  # no answer at all (refused, timeout): the library retries, then on_error
            for r in records:
                r["error"] = repr(error)
            raise
        for r in records:
            r["status"] = response.status_code
            if not 200 <= response.status_code < 300:
                r["error"] = response.text[:500]
        return response

    session.post = post


def on_error(error, batch):
    errors.append(error)
    print(f"segment_client: library error for {len(batch)} message(s): {error}", file=sys.stderr)


def send_all(client, count, run):
    """Makes every call through the library's public API."""
    base = datetime(2026, 11, 23, 8, 0, 0, tzinfo=timezone.utc)
    for i in range(count):
        event, properties = TRACKS[i % len(TRACKS)]
        properties, context = dict(properties, seq=i), {}
        if i % 2 == 0:
            context["groupId"] = "acme-py"           # account named in context.groupId
        else:
            properties["accountId"] = "globex-py"    # account named in properties.accountId
        timestamp = base + timedelta(minutes=i, milliseconds=i)
        if i == 3:  # one timestamp with a non-UTC offset: Cairn must normalise it to UTC
            timestamp = timestamp.astimezone(timezone(timedelta(hours=2)))
        client.track(user_id=f"py-user-{i % 3}", event=event, properties=properties, context=context,
                     timestamp=timestamp, message_id=f"py-{run}-track-{i:04d}")
    for n, role in enumerate(PERSONAS):
        client.identify(user_id=f"py-user-{n}", message_id=f"py-{run}-identify-{n}",
                        timestamp=base + timedelta(hours=1, minutes=n),
                        traits={"accountId": "acme-py", "role": role, "email": f"user{n}@acme.example",
                                "name": "Zoë Ångström"})
    for n, (group_id, name) in enumerate([("acme-py", "Acme (Python) GmbH"), ("globex-py", "Globex Ünited")]):
        client.group(user_id="py-user-0", group_id=group_id, message_id=f"py-{run}-group-{n}",
                     timestamp=base + timedelta(hours=2, minutes=n), traits={"name": name, "plan": "pro"})
    client.page(user_id="py-user-1", name="Pricing", message_id=f"py-{run}-page-0",
                properties={"path": "/pricing"}, context={"groupId": "acme-py"}, timestamp=base + timedelta(hours=3))
    client.screen(user_id="py-user-2", name="Dashboard", message_id=f"py-{run}-screen-0",
                  properties={"accountId": "globex-py"}, timestamp=base + timedelta(hours=3, minutes=1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", required=True, help="base URL of cairn ingest, e.g. http://127.0.0.1:8081")
    parser.add_argument("--write-key", required=True)
    parser.add_argument("--out", required=True, help="where to write the JSON list of sent messages")
    parser.add_argument("--count", type=int, default=20, help="number of track calls (default 20)")
    parser.add_argument("--gzip", action="store_true", help="send gzip bodies (the library's default is off)")
    parser.add_argument("--run-id", default=uuid.uuid4().hex[:8], help="messageId prefix (default: random)")
    args = parser.parse_args()

    record_session_posts()
    # Bounded retries so a broken endpoint fails the run in seconds, not after the library's 12-hour default;
    # a 503 with Retry-After is retried for at most max_rate_limit_duration seconds.
    client = Client(args.write_key, host=args.host, gzip=args.gzip, on_error=on_error, max_retries=3,
                    max_total_backoff_duration=30, max_rate_limit_duration=30, timeout=10)
    send_all(client, args.count, args.run_id)
    client.shutdown()  # flush(): waits until the consumer thread has posted (or given up on) every message

    with open(args.out, "w", encoding="utf-8") as out:
        json.dump(sent, out, indent=2, ensure_ascii=False)
    accepted = {r["message"]["messageId"] for r in sent if r["status"] and 200 <= r["status"] < 300}
    missing = {r["message"]["messageId"] for r in sent} - accepted
    statuses = sorted({str(r["status"]) for r in sent})
    print(f"segment_client: {len(accepted)} message(s) accepted in {len({r['request'] for r in sent})} "
          f"request(s), statuses {', '.join(statuses) or '-'}; {len(errors)} library error(s)", file=sys.stderr)
    sys.exit(1 if errors or missing or not sent else 0)


if __name__ == "__main__":
    main()
