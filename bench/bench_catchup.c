/* Initial-sync benchmark: a fresh node pulling N announcements (default
 * 100,000) from a peer, two real amicaled processes (the binary given on
 * the command line) on loopback. Printed beside a baseline measured in the
 * same run:
 *
 *   baseline  the single-core ingest limit: one thread taking the same N
 *             envelopes into a fresh scratch store with am_ann_ingest
 *             (decode with every rule, id, Ed25519 verify, trust, order,
 *             every index, LMDB put), `batch` per write transaction
 *             (default 1000), announcements/s;
 *   catch-up  a source node holding the N announcements (its own events,
 *             job offers and member profiles, published with
 *             am_ann_publish) and a fresh node trusting it: both daemons
 *             run, the fresh one dials the source, reconciles (section 15)
 *             and wants everything; timed from the moment the connection
 *             is up until the fresh node's store holds all N (read-only
 *             store reads every 50 ms), announcements/s.
 *
 * The ratio catch-up / baseline is the figure of merit (target >= 0.7).
 * Also printed: the time from the fresh daemon's start, the bytes each
 * side sent and received (the daemons' status counters), the CPU seconds
 * and peak resident memory (VmHWM) of both daemons. The baseline runs
 * once before and once after the catch-up and the better of the two is
 * kept (the machine is shared and noisy: the best run is the least
 * disturbed).
 *
 * usage: bench_catchup AMICALED [N] [batch] [deadline_s] [keep]
 *   deadline_s: the fresh node must hold all N within this (default 600),
 *               else the exit status is 1 (the directories are kept)
 *   keep: leave the directories (for inspecting the daemons' logs)
 * environment:
 *   BENCH_LOG_LEVEL   the daemons' --log-level (default info; their logs
 *                     are source.log and fresh.log in the run's directory)
 *   BENCH_WRAP_FRESH  runs the fresh daemon under a tool, words split at
 *                     spaces: "strace -f -c -o /tmp/s.txt",
 *                     "valgrind --tool=callgrind" (the CPU and memory
 *                     figures are then the tool's) */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/common.h"
#include "cli/control.h"
#include "store/announcements.h"
#include "store/datadir.h"
#include "store/peers.h"

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static char top[64]; /* the run's directory, removed at exit */
static bool keep;

static pid_t daemons[2];

/* Interrupted: the daemons run in process groups of their own (so that a
 * wrapper and its daemon stop together) and would outlive us. */
static void on_signal(int sig) {
  int st;
  for (int i = 0; i < 2; i++)
    if (daemons[i] > 0) kill(-daemons[i], SIGTERM);
  for (int i = 0; i < 2; i++)
    if (daemons[i] > 0) waitpid(daemons[i], &st, 0);
  if (top[0] && !keep) { /* only async-signal-safe calls here */
    pid_t rm = fork();
    if (rm == 0) {
      execl("/bin/rm", "rm", "-rf", top, (char *)NULL);
      _exit(127);
    }
    if (rm > 0) waitpid(rm, &st, 0);
  }
  _exit(128 + sig);
}

static void stop_daemon(pid_t pid) {
  kill(-pid, SIGTERM);
  kill(pid, SIGTERM);
  int st;
  waitpid(pid, &st, 0);
}

static void cleanup(void) {
  for (int i = 0; i < 2; i++)
    if (daemons[i] > 0) {
      stop_daemon(daemons[i]);
      daemons[i] = 0;
    }
  if (top[0] && !keep) bench_rm_rf(top);
}

static void die(const char *what, const am_error *err) {
  fprintf(stderr, "bench_catchup: %s%s%s\n", what, err ? ": " : "", err ? err->msg : "");
  cleanup();
  exit(1);
}

/* ---- the announcements (realistic sizes, bench/common.c) ---- */

/* The published envelopes, concatenated, for the baseline. */
typedef struct corpus {
  am_buf env;
  size_t *off; /* n + 1 offsets */
  size_t n, kinds[AM_K__COUNT];
} corpus;

typedef struct pub_arg {
  corpus *c;
  size_t first, count;
  int64_t now;
  uint64_t profiles; /* profile object numbers given so far */
  gen g;
  am_error err;
} pub_arg;

/* 40% events, 30% jobs, 30% member profiles, as one node publishes them.
 * The store may run this more than once (after growing the map): it
 * starts from the same state each time. */
static int publish_txn(am_txn *t, void *arg) {
  pub_arg *p = arg;
  corpus *c = p->c;
  gen g0 = p->g;
  uint64_t profiles0 = p->profiles;
  size_t len0 = c->env.len, kinds0[AM_K__COUNT];
  memcpy(kinds0, c->kinds, sizeof kinds0);
  int rc = 0;
  for (size_t i = 0; i < p->count && !rc; i++) {
    int kind = gen_kind(&p->g);
    am_ann a;
    am_ann_init(&a, kind);
    if (kind == AM_K_PROFILE) a.object = ++p->profiles;
    else rc = am_ann_next_object(t, kind, &a.object, &p->err);
    gen_body(&p->g, &a, (uint64_t)p->now);
    if (!rc) rc = am_ann_publish(t, &a, p->now, &c->env, &p->err);
    am_ann_free(&a);
    c->off[p->first + i + 1] = c->env.len;
    c->kinds[kind]++;
  }
  if (rc) { /* a retry starts again from here */
    p->g = g0, p->profiles = profiles0, c->env.len = len0;
    memcpy(c->kinds, kinds0, sizeof kinds0);
  }
  return rc;
}

/* ---- nodes and daemons ---- */

typedef struct trust_arg {
  const uint8_t *key;
  const char *name;
  const char *address; /* NULL: no peer record, "" a peer that dials us */
  int64_t now;
} trust_arg;

static int trust_peer_txn(am_txn *t, void *arg) {
  trust_arg *a = arg;
  am_trust tr = {.added = a->now};
  memcpy(tr.key, a->key, AM_ANN_KEY_BYTES);
  snprintf(tr.name, sizeof tr.name, "%s", a->name);
  int rc = am_trust_add(t, &tr, NULL, NULL);
  if (rc || !a->address) return rc;
  am_peer p = {.added = a->now, .via = AM_PEER_VIA_HAND};
  memcpy(p.key, a->key, AM_PUBKEY_BYTES);
  snprintf(p.address, sizeof p.address, "%s", a->address);
  snprintf(p.name, sizeof p.name, "%s", a->name);
  return am_peer_put(t, &p, NULL, NULL);
}

static void trust_peer(const char *dir, const uint8_t *key, const char *name,
                       const char *address) {
  am_node n;
  am_error err = {0};
  if (am_node_open(&n, dir, AM_NODE_STORE, &err)) die("open node", &err);
  trust_arg a = {key, name, address, (int64_t)time(NULL)};
  if (am_store_write(n.store, trust_peer_txn, &a, &err)) die("trust / peer", &err);
  am_node_close(&n);
}

static pid_t start_daemon(const char *amicaled, const char *dir, const char *log) {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0); /* its own group: a wrapper (below) and the daemon stop together */
    FILE *f = freopen(log, "w", stderr);
    (void)f;
    /* $BENCH_WRAP_FRESH (words split at spaces) runs the fresh daemon
     * under a tool: "strace -c -o /tmp/x", "valgrind --tool=callgrind". */
    char *argv[40];
    int k = 0;
    const char *wrap = strstr(dir, "/fresh") ? getenv("BENCH_WRAP_FRESH") : NULL;
    char *w = wrap ? strdup(wrap) : NULL;
    for (char *tok = w ? strtok(w, " ") : NULL; tok && k < 30; tok = strtok(NULL, " "))
      argv[k++] = tok;
    const char *level = getenv("BENCH_LOG_LEVEL");
    const char *rest[] = {amicaled, "--dir", dir, "--listen", "127.0.0.1:0", "--log-level",
                          level ? level : "info"};
    for (size_t i = 0; i < sizeof rest / sizeof *rest; i++) argv[k++] = (char *)rest[i];
    argv[k] = NULL;
    execvp(argv[0], argv);
    _exit(127);
  }
  return pid;
}

static json_t *status_of(const char *dir, int timeout_ms) {
  json_t *req = json_pack("{s:s}", "cmd", "status"), *r = NULL;
  am_error err = {0};
  int rc = am_ctl_call(dir, req, &r, timeout_ms, &err);
  json_decref(req);
  if (rc) {
    json_decref(r);
    return NULL;
  }
  return r;
}

static json_t *wait_status(const char *dir, pid_t pid) {
  double deadline = bench_now() + 30;
  json_t *r;
  while (!(r = status_of(dir, 2000))) {
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) die("amicaled exited at start (see its log)", NULL);
    if (bench_now() > deadline) die("amicaled did not start", NULL);
    sleep_ms(20);
  }
  return r;
}

static int count_txn(am_txn *t, void *arg) { return am_ann_count(t, arg); }

static size_t count_of(am_store *s) {
  size_t n = 0;
  am_error err = {0};
  if (am_store_read(s, count_txn, &n, &err)) die("count", &err);
  return n;
}

static json_int_t counter(json_t *st, const char *name) {
  return json_integer_value(json_object_get(json_object_get(st, "counters"), name));
}

static const char *peer_state(json_t *st) {
  json_t *p = json_array_get(json_object_get(st, "peers"), 0);
  const char *s = json_string_value(json_object_get(p, "state"));
  return s ? s : "?";
}

/* ---- the baseline: one thread, am_ann_ingest, batched ---- */

typedef struct base_arg {
  const corpus *c;
  size_t first, count;
  int64_t now;
  size_t applied;
  am_error err;
} base_arg;

static int base_txn(am_txn *t, void *arg) {
  base_arg *b = arg;
  b->applied = 0;
  for (size_t i = b->first; i < b->first + b->count; i++) {
    am_ingest r;
    int rc = am_ann_ingest(t, (const uint8_t *)b->c->env.data + b->c->off[i],
                           b->c->off[i + 1] - b->c->off[i], b->now, &r, &b->err);
    if (rc) return rc;
    if (r.applied) b->applied++;
  }
  return 0;
}

typedef struct took {
  double wall, cpu, sys;
} took;

static took baseline(const char *dir, const corpus *c, const uint8_t *origin, size_t batch) {
  am_store *s;
  am_error err = {0};
  am_store_opts so = {.create = true};
  mkdir(dir, 0700);
  if (am_store_open(&s, dir, &so, &err)) die("scratch store", &err);
  trust_arg ta = {origin, "source", NULL, (int64_t)time(NULL)};
  if (am_store_write(s, trust_peer_txn, &ta, &err)) die("scratch trust", &err);
  sync(); /* what earlier steps left dirty does not compete with this one */
  base_arg b = {.c = c, .now = (int64_t)time(NULL)};
  size_t applied = 0;
  double s0, t0 = bench_now(), c0 = bench_cpu_self(&s0);
  for (size_t i = 0; i < c->n; i += batch) {
    b.first = i;
    b.count = c->n - i < batch ? c->n - i : batch;
    if (am_store_write(s, base_txn, &b, &b.err)) die("baseline ingest", &b.err);
    applied += b.applied;
  }
  double s1, c1 = bench_cpu_self(&s1);
  took dt = {bench_now() - t0, c1 - c0, s1 - s0};
  am_store_close(s);
  bench_rm_rf(dir);
  if (applied != c->n) {
    fprintf(stderr, "baseline: %zu of %zu applied\n", applied, c->n);
    die("baseline incomplete", NULL);
  }
  return dt;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_catchup AMICALED [N] [batch] [deadline_s] [keep]\n");
    return 2;
  }
  const char *amicaled = argv[1];
  size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
  size_t batch = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000;
  double deadline_s = argc > 4 ? atof(argv[4]) : 600;
  keep = argc > 5 && !strcmp(argv[5], "keep");
  if (!n || !batch || deadline_s <= 0 || access(amicaled, X_OK)) {
    fprintf(stderr, "usage: bench_catchup AMICALED [N] [batch] [deadline_s] [keep]\n");
    return 2;
  }
  snprintf(top, sizeof top, "/tmp/amicale-bench-catchup-XXXXXX");
  if (!mkdtemp(top)) {
    perror("mkdtemp");
    return 1;
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGHUP, on_signal);
  char src[128], dst[128], scratch[128], src_log[128], dst_log[128];
  snprintf(src, sizeof src, "%s/source", top);
  snprintf(dst, sizeof dst, "%s/fresh", top);
  snprintf(scratch, sizeof scratch, "%s/scratch", top);
  snprintf(src_log, sizeof src_log, "%s/source.log", top);
  snprintf(dst_log, sizeof dst_log, "%s/fresh.log", top);
  bench_loadavg("before");

  /* ---- the source node and its announcements ---- */
  am_error err = {0};
  if (am_node_create(src, "Bench source", AM_KIND_SCHOOL, 0, &err)) die("init source", &err);
  if (am_node_create(dst, "Bench fresh", AM_KIND_SCHOOL, 0, &err)) die("init fresh", &err);
  am_node sn, dn;
  if (am_node_open(&sn, src, AM_NODE_STORE | AM_NODE_KEY, &err)) die("open source", &err);
  if (am_node_open(&dn, dst, AM_NODE_KEY, &err)) die("open fresh", &err);
  uint8_t src_key[32], dst_key[32];
  memcpy(src_key, sn.id.pk, 32);
  memcpy(dst_key, dn.id.pk, 32);
  am_node_close(&dn);
  am_store_set_signer(sn.store, &sn.id);
  corpus c = {0};
  c.off = calloc(n + 1, sizeof *c.off);
  double tg = bench_now();
  pub_arg pa = {.c = &c, .now = (int64_t)time(NULL), .g = GEN_INIT};
  enum { PUB_BATCH = 5000 };
  for (size_t i = 0; i < n; i += PUB_BATCH) {
    pa.first = i;
    pa.count = n - i < PUB_BATCH ? n - i : PUB_BATCH;
    if (am_store_write(sn.store, publish_txn, &pa, &pa.err)) die("publish", &pa.err);
  }
  c.n = n;
  size_t src_count = count_of(sn.store);
  am_node_close(&sn);
  tg = bench_now() - tg;
  printf("announcements:   %zu of one origin (%zu events, %zu jobs, %zu profiles), avg %zu B, "
         "%.1f MB (published in %.1f s); the source holds %zu\n",
         n, c.kinds[AM_K_EVENT], c.kinds[AM_K_JOB], c.kinds[AM_K_PROFILE], c.env.len / n,
         (double)c.env.len / 1e6, tg, src_count);
  fflush(stdout);

  /* ---- baseline, first run ---- */
  took base1 = baseline(scratch, &c, src_key, batch);
  printf("baseline 1:      %.3f s (cpu %.3f s)  %.0f ann/s\n", base1.wall, base1.cpu,
         (double)n / base1.wall);
  fflush(stdout);

  /* ---- catch-up ---- */
  trust_peer(src, dst_key, "fresh", ""); /* the fresh node dials it */
  trust_peer(dst, src_key, "source", NULL);
  daemons[0] = start_daemon(amicaled, src, src_log);
  json_t *st = wait_status(src, daemons[0]);
  char src_addr[128];
  snprintf(src_addr, sizeof src_addr, "%s", json_string_value(json_object_get(st, "listen")));
  json_decref(st);
  trust_peer(dst, src_key, "source", src_addr);
  am_store *ds;
  am_store_opts ro = {.read_only = true};
  if (am_store_open(&ds, dst, &ro, &err)) die("open fresh read-only", &err);
  size_t base_count = count_of(ds), target = base_count + src_count;
  sync();

  double t_start = bench_now(), t_conn = 0, t_first = 0, t_done = 0;
  daemons[1] = start_daemon(amicaled, dst, dst_log);
  size_t held = base_count;
  long peak_anon[2] = {0, 0};
  double next_report = t_start + 5;
  for (;;) {
    sleep_ms(50);
    double t = bench_now();
    for (int i = 0; i < 2; i++) {
      int wst;
      if (waitpid(daemons[i], &wst, WNOHANG) == daemons[i]) {
        daemons[i] = 0;
        keep = true;
        fprintf(stderr, "logs kept in %s\n", top);
        die(i ? "the fresh amicaled exited" : "the source amicaled exited", NULL);
      }
      /* Anonymous memory (the heap: buffers, LMDB's dirty pages), sampled. */
      long anon = bench_proc_kb(daemons[i], "RssAnon:");
      if (anon > peak_anon[i]) peak_anon[i] = anon;
    }
    if (!t_conn) {
      json_t *s = status_of(dst, 1000);
      if (s && !strcmp(peer_state(s), "connected")) t_conn = t;
      json_decref(s);
    }
    held = count_of(ds);
    /* The clock after the count: the status call above may have waited
     * for the busy daemon, and the count is only known now. */
    double tc = bench_now();
    if (!t_first && held > base_count) t_first = tc;
    if (held >= target) {
      t_done = tc;
      break;
    }
    if (t >= next_report) {
      printf("  %5.1f s: %zu of %zu\n", t - t_start, held - base_count, src_count);
      fflush(stdout);
      next_report += 5;
    }
    if (t - t_start > deadline_s) break;
  }
  double sys_src, sys_dst, cpu_src = bench_cpu_of(daemons[0], &sys_src),
                            cpu_dst = bench_cpu_of(daemons[1], &sys_dst);
  long hwm_src = bench_proc_kb(daemons[0], "VmHWM:"),
       hwm_dst = bench_proc_kb(daemons[1], "VmHWM:");
  json_t *ss = status_of(src, 5000), *ds_st = status_of(dst, 5000);
  am_store_close(ds);
  if (!t_done) {
    fprintf(stderr, "bench_catchup: the fresh node holds %zu of %zu after %g s: not converged\n",
            held - base_count, src_count, deadline_s);
    keep = true;
    fprintf(stderr, "logs kept in %s\n", top);
    cleanup();
    return 1;
  }
  /* The status poll may lag (a busy daemon answers late): the connection
   * was up at the latest when the first announcement was stored. */
  if (!t_conn || (t_first && t_first < t_conn)) t_conn = t_first ? t_first : t_start;
  for (int i = 0; i < 2; i++) {
    stop_daemon(daemons[i]);
    daemons[i] = 0;
  }

  /* ---- baseline, second run ---- */
  took base2 = baseline(scratch, &c, src_key, batch);
  printf("baseline 2:      %.3f s (cpu %.3f s)  %.0f ann/s\n", base2.wall, base2.cpu,
         (double)n / base2.wall);
  took best = base1.wall < base2.wall ? base1 : base2;
  double base = best.wall;

  double dt = t_done - t_conn, dt_all = t_done - t_start;
  double rate = (double)src_count / dt, brate = (double)n / base, ratio = rate / brate;
  printf("\n");
  printf("N:                      %zu announcements (%.1f MB of envelopes)\n", n,
         (double)c.env.len / 1e6);
  printf("baseline (1 core):      %8.0f ann/s  %.3f s  (am_ann_ingest: decode + Ed25519 verify "
         "+ LMDB apply, %zu per transaction; best of 2)\n", brate, base, batch);
  printf("catch-up (daemons):     %8.0f ann/s  %.3f s  from connection up to all %zu held\n",
         rate, dt, src_count);
  printf("ratio:                  %.2f  (target >= 0.70: %s)\n", ratio,
         ratio >= 0.7 ? "met" : "NOT met");
  printf("time from the fresh daemon's start: %.3f s (connected after %.3f s, first "
         "announcement stored after %.3f s)\n",
         dt_all, t_conn - t_start, (t_first ? t_first : t_done) - t_start);
  printf("bytes: source sent %.1f MB, received %.1f MB; fresh sent %.1f MB, received %.1f MB "
         "(%.2f x the envelopes)\n",
         (double)counter(ss, "bytes_out") / 1e6, (double)counter(ss, "bytes_in") / 1e6,
         (double)counter(ds_st, "bytes_out") / 1e6, (double)counter(ds_st, "bytes_in") / 1e6,
         (double)counter(ds_st, "bytes_in") / (double)c.env.len);
  printf("announcements: source sent %lld, fresh received %lld (refused %lld)\n",
         (long long)counter(ss, "announcements_out"), (long long)counter(ds_st, "announcements_in"),
         (long long)counter(ds_st, "announcements_refused"));
  printf("CPU seconds: source daemon %.2f (system %.2f), fresh daemon %.2f (system %.2f; "
         "%.0f%% of its wall time), baseline %.2f (system %.2f)\n",
         cpu_src, sys_src, cpu_dst, sys_dst, 100.0 * cpu_dst / dt_all, best.cpu, best.sys);
  /* Peak resident memory counts the store's pages the process touched
   * through LMDB's file mapping (shared with the page cache); the
   * anonymous part is the process's own heap. */
  printf("peak RSS (VmHWM): source %.1f MB, fresh %.1f MB, mapped store pages included; "
         "anonymous part (peak of 50 ms samples): source %.1f MB, fresh %.1f MB\n",
         (double)hwm_src / 1024, (double)hwm_dst / 1024, (double)peak_anon[0] / 1024,
         (double)peak_anon[1] / 1024);
  json_decref(ss);
  json_decref(ds_st);
  bench_loadavg("after");
  am_buf_free(&c.env);
  free(c.off);
  if (keep) printf("directories kept in %s\n", top);
  cleanup();
  return 0;
}
