#!/usr/bin/env python3
"""Load generator for tests/bench/ingest.sh (standard library only).

Posts TOTAL readings to one session as CSV batches of BATCH readings over CONNS keep-alive
connections, then polls PostgreSQL (psql) until every accepted reading is stored, then loads the
same rows for a fresh session id with COPY into the same table. Prints one line per figure.

usage: ingest_load.py API_URL TOKEN SESSION_ID COPY_SESSION_ID TOTAL BATCH CONNS DATABASE_URL
"""
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

CHANNELS = ("pressure", "temperature", "wind", "humidity")
T0_MS = 1798761600000  # 2027-01-01T00:00:00Z


def rows(total):
    """(ts text, channel, value text) for reading i: 4 channels a millisecond."""
    for i in range(total):
        ms = T0_MS + i // len(CHANNELS)
        secs, milli = divmod(ms, 1000)
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + ".%03dZ" % milli
        yield ts, CHANNELS[i % len(CHANNELS)], "%.3f" % (1000 + (i % 9973) * 0.125)


def psql(db, sql):
    out = subprocess.run(["psql", db, "-Atqc", sql], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def main():
    api, token, session, copy_session = sys.argv[1:5]
    total, batch, conns = (int(x) for x in sys.argv[5:8])
    db = sys.argv[8]
    all_rows = list(rows(total))
    bodies = []
    for k in range(0, total, batch):
        lines = ["ts,channel,value"] + ["%s,%s,%s" % r for r in all_rows[k:k + batch]]
        bodies.append(("\n".join(lines) + "\n").encode())
    url = urllib.parse.urlsplit(api)
    path = "%s/api/v1/sessions/%s/data" % (url.path.rstrip("/"), session)
    headers = {"Authorization": "Bearer " + token, "Content-Type": "text/csv"}
    lock = threading.Lock()
    state = {"next": 0, "accepted": 0, "errors": 0, "lat": [], "last_ack": 0.0}

    def worker():
        conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=60)
        while True:
            with lock:
                i = state["next"]
                state["next"] += 1
            if i >= len(bodies):
                break
            while True:
                t = time.monotonic()
                try:
                    conn.request("POST", path, body=bodies[i], headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=60)
                    continue
                dt = time.monotonic() - t
                if resp.status == 429:  # rate limited: wait and send the same batch again
                    time.sleep(float(resp.getheader("Retry-After", "1")))
                    continue
                with lock:
                    if resp.status == 202:
                        state["accepted"] += bodies[i].count(b"\n") - 1
                        state["lat"].append(dt)
                        state["last_ack"] = time.monotonic()
                    else:
                        state["errors"] += 1
                break
        conn.close()

    start = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(conns)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    accept_s = state["last_ack"] - start
    count_sql = "SELECT count(*) FROM ingest.readings WHERE session_id = '%s'" % session
    stored = 0
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        stored = int(psql(db, count_sql))
        if stored >= state["accepted"]:
            break
        time.sleep(0.05)
    persist_s = time.monotonic() - start
    lat = sorted(state["lat"])
    p50 = lat[len(lat) // 2] * 1000 if lat else 0
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else 0

    # The ceiling: the same rows, COPY'd straight into the same table for another session.
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        for ts, ch, v in all_rows:
            f.write("%s,%s,%s,%s\n" % (copy_session, ch, ts, v))
        csv_path = f.name
    t = time.monotonic()
    psql(db, "\\copy ingest.readings (session_id, channel, ts, value) FROM '%s' WITH (FORMAT csv)"
         % csv_path)
    copy_s = time.monotonic() - t
    os.unlink(csv_path)
    copied = int(psql(db, "SELECT count(*) FROM ingest.readings WHERE session_id = '%s'"
                      % copy_session))

    print("readings posted        %d in %d requests of %d over %d connections"
          % (total, len(bodies), batch, conns))
    print("accepted (202)         %d  errors %d" % (state["accepted"], state["errors"]))
    print("accepted readings/s    %.0f  (%.2f s)" % (state["accepted"] / accept_s, accept_s))
    print("persisted readings/s   %.0f  (%.2f s until all %d queryable)"
          % (stored / persist_s, persist_s, stored))
    print("request latency        p50 %.1f ms  p99 %.1f ms" % (p50, p99))
    print("COPY ceiling           %.0f rows/s  (%d rows in %.2f s)" % (copied / copy_s, copied, copy_s))
    print("persisted / COPY       %.2f  (goal >= 0.5)" % ((stored / persist_s) / (copied / copy_s)))
    psql(db, "DELETE FROM ingest.readings WHERE session_id IN ('%s', '%s')" % (session, copy_session))


if __name__ == "__main__":
    main()
