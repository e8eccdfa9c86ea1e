/* What the benchmarks share.
 *
 * Realistic announcements (bench_ingest, bench_sync, bench_catchup): the
 * bodies of events, job offers and member profiles with the field sizes of
 * a real alumni network - French text with accents, names from several
 * countries, descriptions of a few hundred to a few thousand bytes. The
 * random state is the caller's, so that a run is the same every time and
 * a caller can take a step back (a write transaction run again).
 *
 * And a few helpers: clocks, a process's CPU time and memory, the load
 * average, removing a directory, a node run by a real amicaled
 * (bench_transport, bench_member_rtt). */
#ifndef AMICALE_BENCH_COMMON_H
#define AMICALE_BENCH_COMMON_H

#include <stdint.h>
#include <sys/types.h>

#include "proto/announce.h"
#include "store/store.h"

/* A xorshift64 generator: the whole state, copied to be taken back. */
typedef struct gen {
  uint64_t s;
} gen;
#define GEN_INIT {0x9E3779B97F4A7C15ULL}

uint64_t gen_next64(gen *g);
uint32_t gen_rnd(gen *g, uint32_t n); /* 0 .. n - 1 */

/* A kind in the mix of a network: 40% events, 30% jobs, 30% profiles. */
int gen_kind(gen *g);

/* Fills the body of a (initialised with am_ann_init: an event, a job offer
 * or a member profile) and its expiry; now: Unix seconds, the events start
 * after it. */
void gen_body(gen *g, am_ann *a, uint64_t now);

/* Seconds on the monotonic clock. */
double bench_now(void);
/* CPU seconds of this process (all its threads), user + system; *sys, if
 * not NULL, gets system alone. */
double bench_cpu_self(double *sys);
/* The same for another process, from /proc (0 if it cannot be read). */
double bench_cpu_of(pid_t pid, double *sys);
/* A "kB" field of /proc/<pid>/status ("VmRSS:", "VmHWM:"...), -1 if none. */
long bench_proc_kb(pid_t pid, const char *field);
/* Prints "load average <when>: ..." from /proc/loadavg. */
void bench_loadavg(const char *when);
/* rm -rf dir. */
void bench_rm_rf(const char *dir);

/* A node served by amicaled, a child process on loopback. */
typedef struct bench_daemon {
  char dir[256];   /* the node: /tmp/amicale-bench-<tag>-XXXXXX/node */
  char addr[64];   /* where it listens: 127.0.0.1:<port> */
  uint8_t key[32]; /* its public key */
  pid_t pid;       /* 0 until it runs */
} bench_daemon;

/* Creates the node (a school named name), runs fill (if not NULL) with arg
 * in a write transaction on its store, then starts amicaled (the binary's
 * path) on it, listening on 127.0.0.1 (a port of its choosing), and waits
 * until its control socket answers (20 s at most). Returns 0, or -1 with
 * the reason in err and no amicaled left running. */
int bench_daemon_start(bench_daemon *d, const char *amicaled, const char *tag, const char *name,
                       am_txn_fn fill, void *arg, am_error *err);
/* Stops amicaled (SIGTERM, then waits for it) and removes the node. */
void bench_daemon_stop(bench_daemon *d);

#endif
