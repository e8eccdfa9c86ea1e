#!/usr/bin/python3
"""Propagation: NODES amicaled on loopback in a random connected topology of
degree 4 (two random Hamiltonian cycles, so connected by construction),
every node trusting every other. Announcements are posted one at a time
from random nodes; for each, the time from the origin's log line
`offering our announcement X` to the last node's `stored announcement X`,
and the bytes all daemons sent meanwhile (sum of the status counters
bytes_out) next to the minimum, (NODES - 1) copies of the envelope.

Targets: every node reached within 1 s; bytes at most 3 times the minimum.

usage: bench/bench_propagation.py build/amicale build/amicaled [nodes=50] [announcements=20]

Environment: BENCH_SEED fixes the topology and the origins;
AMICALE_TIMEOUT_SCALE is passed to the daemons (default: not set, the
real timers: reconciliation every 60 s, pings after 30 s of silence);
BENCH_KEEP=1 keeps the data directories and logs.
Standard library only; the system /usr/bin/python3.
"""
import concurrent.futures as cf
import datetime
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

FRAME = 2 + 16 + 1  # length, AEAD tag, chunk flags (PROTOCOL.md 14.4)
OFFER1 = FRAME + 4 + 16  # [6, bin8(16 bytes)] with one short id
WANT1 = OFFER1
SENT = FRAME + 3  # [8, 0]


def ann_msg_bytes(env):
    return FRAME + 1 + 1 + (2 if env < 256 else 3 if env < 65536 else 5) + env


class Bench:
    def __init__(self, amicale, amicaled, n, k, seed):
        self.amicale, self.amicaled, self.n, self.k = amicale, amicaled, n, k
        self.seed = seed
        self.rng = random.Random(seed)
        self.tmp = tempfile.mkdtemp(prefix="amicale-bench.")
        self.names = ["n%02d" % i for i in range(n)]
        self.dirs = [os.path.join(self.tmp, nm) for nm in self.names]
        self.logs = [d + ".log" for d in self.dirs]
        self.procs = []
        self.pool = cf.ThreadPoolExecutor(max_workers=4)

    # ---- helpers ---------------------------------------------------------------
    def cli(self, *args, check=True):
        r = subprocess.run([self.amicale, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=self.env)
        if check and r.returncode != 0:
            raise RuntimeError("amicale %s: status %d: %s" % (" ".join(args), r.returncode, r.stderr.strip()))
        return r.stdout

    def status(self, i):
        return json.loads(self.cli("status", "--dir", self.dirs[i], "--json"))

    def all_status(self):
        return list(self.pool.map(self.status, range(self.n)))

    def bytes_out(self):
        st = self.all_status()
        return (sum(s["counters"]["bytes_out"] for s in st),
                sum(s["counters"]["announcements_out"] for s in st))

    @staticmethod
    def wait(what, secs, cond, every=0.05):
        deadline = time.monotonic() + secs
        while True:
            if cond():
                return
            if time.monotonic() > deadline:
                raise RuntimeError("timed out after %d s: %s" % (secs, what))
            time.sleep(every)

    # ---- setup -----------------------------------------------------------------
    def topology(self):
        edges = set()
        for _ in range(2):
            cyc = list(range(self.n))
            self.rng.shuffle(cyc)
            for a, b in zip(cyc, cyc[1:] + cyc[:1]):
                if a != b:
                    edges.add((min(a, b), max(a, b)))
        self.edges = sorted(edges)
        self.nbrs = [[] for _ in range(self.n)]
        for a, b in self.edges:
            self.nbrs[a].append(b)
            self.nbrs[b].append(a)

    def setup(self):
        self.env = dict(os.environ, LC_ALL="C.UTF-8", TZ="UTC")
        for v in ("AMICALE_DIR", "AMICALE_HOME", "XDG_DATA_HOME", "AMICALE_NOW"):
            self.env.pop(v, None)
        self.env["HOME"] = self.tmp
        self.topology()
        degs = [len(x) for x in self.nbrs]
        print("seed %d (BENCH_SEED=%d to replay): %d nodes, %d edges, degree %d to %d (mean %.2f)"
              % (self.seed, self.seed, self.n, len(self.edges), min(degs), max(degs),
                 statistics.mean(degs)), flush=True)
        t0 = time.monotonic()

        def init(i):
            self.cli("init", "--dir", self.dirs[i], "--name", "Node %s" % self.names[i], "--kind",
                     ("school", "company", "association")[i % 3])
            return json.loads(self.cli("id", "--dir", self.dirs[i], "--json"))["key"]
        self.keys = list(self.pool.map(init, range(self.n)))

        def trust(i):
            for j in range(self.n):
                if j != i:
                    self.cli("trust", "add", "--dir", self.dirs[i], self.keys[j], "--name", self.names[j])
        list(self.pool.map(trust, range(self.n)))
        print("setup: %d nodes initialised, %d trusts written in %.1f s"
              % (self.n, self.n * (self.n - 1), time.monotonic() - t0), flush=True)

        for i in range(self.n):
            log = open(self.logs[i], "ab")
            p = subprocess.Popen([self.amicaled, "--dir", self.dirs[i], "--listen", "127.0.0.1:0",
                                  "--log-level", "debug"], stdout=log, stderr=subprocess.STDOUT,
                                 env=self.env)
            log.close()
            self.procs.append(p)

        def started(i):
            def ok():
                if self.procs[i].poll() is not None:
                    raise RuntimeError("amicaled %s exited with %d" % (self.names[i], self.procs[i].returncode))
                return self.cli("status", "--dir", self.dirs[i], "--json", check=False) != ""
            self.wait("amicaled %s answers" % self.names[i], 20, ok)
            return self.status(i)["listen"]
        self.addrs = list(self.pool.map(started, range(self.n)))

        def peers(i):
            for j in self.nbrs[i]:
                self.cli("peer", "add", "--dir", self.dirs[i], self.addrs[j], self.keys[j], "--name", self.names[j])
        list(self.pool.map(peers, range(self.n)))

        def connected():
            st = self.all_status()
            return all(sum(p["state"] == "connected" for p in s["peers"]) == len(self.nbrs[i])
                       for i, s in enumerate(st))
        self.wait("every node connected to all its neighbours", 120, connected, 0.5)

        def settled():
            st = self.all_status()
            if not all(p.get("sync") == "in sync" for s in st for p in s["peers"]):
                return False
            counts = self.pool.map(lambda i: len(json.loads(self.cli("announcement", "list", "--dir",
                                                                       self.dirs[i], "--json"))), range(self.n))
            return all(c == self.n for c in counts)
        self.wait("initial reconciliation settled (every node holds the %d node announcements)" % self.n,
                  120, settled, 0.5)
        print("connected and settled %.1f s after the start" % (time.monotonic() - t0), flush=True)

    # ---- logs --------------------------------------------------------------------
    TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z ")

    @classmethod
    def ts(cls, line):
        m = cls.TS.match(line)
        return datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(
            tzinfo=datetime.timezone.utc).timestamp()

    def log_since(self, i, off):
        with open(self.logs[i], "r", errors="replace") as f:
            f.seek(off)
            return f.read()

    # ---- one announcement --------------------------------------------------------
    def post(self, k):
        origin = self.rng.randrange(self.n)
        offs = [os.path.getsize(p) for p in self.logs]
        b0, a0 = self.bytes_out()
        t_b0 = time.monotonic()
        d = self.dirs[origin]
        if k % 4 == 3:
            self.cli("job", "add", "--dir", d, "--title", "Ingénieur·e données %d" % k, "--employer",
                     "Ardoise %s" % self.names[origin], "--contract", "cdi", "--city", "Nantes",
                     "--remote", "hybrid", "--apply", "jobs@ardoise.example",
                     "--description", "Équipe de six, pipeline Python et PostgreSQL, mentorat des alumni.")
        else:
            self.cli("event", "add", "--dir", d, "--title", "Afterwork des anciens %d" % k,
                     "--start", "2030-12-%02dT19:00" % (1 + k % 28), "--city", "Lyon",
                     "--venue", "Le Bouchon des Filles", "--description",
                     "Retrouvailles de la promo autour d'un verre ; inscription conseillée.")
        sid = [None]

        def offered():
            m = re.search(r"^(\S+) debug offering our announcement ([0-9a-f]{16})$",
                          self.log_since(origin, offs[origin]), re.M)
            if m:
                sid[0] = (m.group(2), self.ts(m.group(0)))
            return m is not None
        self.wait("the origin offers its announcement", 10, offered)
        sid, t_offer = sid[0]
        pat = re.compile(r"^(\S+) debug stored announcement %s \(" % sid, re.M)
        stored = {}

        def reached():
            for i in range(self.n):
                if i != origin and i not in stored:
                    m = pat.search(self.log_since(i, offs[i]))
                    if m:
                        stored[i] = self.ts(m.group(0))
            return len(stored) == self.n - 1
        self.wait("announcement %s reaches every node" % sid, 60, reached, 0.02)
        # Trailing offers (the last nodes offering it on) go out within
        # milliseconds; let them, then count.
        time.sleep(0.3)
        b1, a1 = self.bytes_out()
        window = time.monotonic() - t_b0
        out = self.cli("announcement", "show", "--dir", d, sid)
        env = int(re.search(r"^\s*size\s+(\d+) bytes", out, re.M).group(1))
        return {"sid": sid, "origin": origin, "time": max(stored.values()) - t_offer,
                "bytes": b1 - b0, "announces": a1 - a0, "env": env, "window": window}

    def background(self, secs):
        b0, _ = self.bytes_out()
        t0 = time.monotonic()
        time.sleep(secs)
        b1, _ = self.bytes_out()
        return (b1 - b0) / (time.monotonic() - t0)

    def run(self):
        self.setup()
        bg = self.background(5)
        print("background traffic with nothing to propagate: %.0f bytes/s (all daemons)" % bg, flush=True)
        res = []
        print("%3s %-16s %6s %8s %6s %9s %7s %5s %6s" % ("#", "id", "origin", "time ms", "env B",
                                                      "bytes", "minimum", "ratio", "annc"))
        for k in range(self.k):
            r = self.post(k)
            r["min"] = (self.n - 1) * r["env"]
            res.append(r)
            print("%3d %-16s %6s %8.0f %6d %9d %7d %5.2f %6d" % (
                k + 1, r["sid"], self.names[r["origin"]], r["time"] * 1000, r["env"], r["bytes"],
                r["min"], r["bytes"] / r["min"], r["announces"]), flush=True)
        self.report(res, bg)

    def report(self, res, bg):
        n1 = self.n - 1
        times = [r["time"] for r in res]
        med, worst = statistics.median(times), max(times)
        mean_bytes = statistics.mean(r["bytes"] for r in res)
        mean_min = statistics.mean(r["min"] for r in res)
        mean_env = statistics.mean(r["env"] for r in res)
        mean_win = statistics.mean(r["window"] for r in res)
        ratio = mean_bytes / mean_min
        corr = mean_bytes - bg * mean_win
        annc = statistics.mean(r["announces"] for r in res)
        print()
        print("nodes %d, edges %d, announcements %d, mean envelope %.0f bytes"
              % (self.n, len(self.edges), len(res), mean_env))
        print("time to reach all nodes: median %.0f ms, worst %.0f ms   target <= 1000 ms: %s"
              % (med * 1000, worst * 1000, "met" if worst <= 1.0 else "NOT met"))
        print("bytes sent per announcement: mean %.0f; minimum %d x %.0f = %.0f; ratio %.2f   "
              "target <= 3x: %s" % (mean_bytes, n1, mean_env, mean_min, ratio,
                                    "met" if ratio <= 3 else "NOT met"))
        print("  of which background (pings, periodic reconciliation) during the %.1f s measuring "
              "window: about %.0f; without it %.0f, ratio %.2f" % (mean_win, bg * mean_win, corr, corr / mean_min))
        # Where the bytes go (estimate: counters say how many announce
        # messages went out; each fetch is one want and one sent; the rest,
        # in units of a one-id offer).
        ann_b = annc * ann_msg_bytes(mean_env)
        fetch_b = annc * (WANT1 + SENT)
        rest = corr - ann_b - fetch_b
        print("  estimated split: announce %.1f messages (%.0f bytes, %.0f of it framing and "
              "msgpack), want+sent %.0f bytes, offers and the rest %.0f bytes (~%.0f one-id offers "
              "over %d links, i.e. %.2f per link)" % (
                  annc, ann_b, ann_b - annc * mean_env, fetch_b, rest, rest / OFFER1,
                  len(self.edges), rest / OFFER1 / len(self.edges)))

    def cleanup(self):
        bad = []
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for i, p in enumerate(self.procs):
            try:
                rc = p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = p.wait()
            if rc != 0:
                bad.append("%s:%d" % (self.names[i], rc))
        self.pool.shutdown(wait=False)
        if bad:
            print("daemons that did not exit 0: %s" % " ".join(bad))
        if os.environ.get("BENCH_KEEP"):
            print("logs kept in %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return not bad


def main():
    if len(sys.argv) < 3 or len(sys.argv) > 5:
        print(__doc__.split("\n\n")[2], file=sys.stderr)
        return 2
    amicale, amicaled = (os.path.abspath(a) for a in sys.argv[1:3])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    k = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    if n < 3 or k < 1:
        print("nodes >= 3, announcements >= 1", file=sys.stderr)
        return 2
    seed = int(os.environ.get("BENCH_SEED", random.SystemRandom().randrange(1 << 31)))
    b = Bench(amicale, amicaled, n, k, seed)

    def stop(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    ok = False
    try:
        b.run()
        ok = True
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    except RuntimeError as e:
        print("FAILED: %s" % e, file=sys.stderr)
    finally:
        clean = b.cleanup()
    return 0 if ok and clean else 1


if __name__ == "__main__":
    sys.exit(main())
