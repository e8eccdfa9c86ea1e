/* Transport benchmark: a real amicaled (the binary given on the command
 * line, run as a child process on loopback) against clients in this
 * process that use the same handshake and channel code
 * (tests/tools/client.h). Printed, each beside a baseline measured in the
 * same run:
 *   1. handshakes completed per second by the node (client threads open a
 *      session - TCP, the three handshake messages, hellos - then say
 *      goodbye), against the crypto limit of one node per handshake: one
 *      X25519 base-point multiplication (its ephemeral), three X25519
 *      (ee, es, se) and one Ed25519 verification (the peer's binding), at
 *      the rates measured here on one core. Target >= 0.5x.
 *   2. encrypted throughput of one session (60,000-byte messages, sealed
 *      by the client, decrypted and decoded by the node), against the raw
 *      ChaCha20-Poly1305 rate on one core. Target >= 0.5x.
 *   3. the node's resident memory idle, and with 200 peers connected.
 *      Targets <= 16 MB and <= 64 MB.
 * Each timed figure is the best of `rounds` (the machine is shared and
 * noisy: the best run is the least disturbed).
 *
 * The daemon limits new handshakes per remote address (PROTOCOL.md 14.8);
 * the clients spread their connections over source addresses 127.1.x.y,
 * as many peers would.
 *
 * The crypto baseline calls libsodium directly although every libsodium
 * call of the project lives in crypto/: it is the yardstick, not the
 * product.
 *
 * usage: bench_transport AMICALED [handshakes] [megabytes] [peers] [rounds] */
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/common.h"
#include "cli/control.h"
#include "store/datadir.h"
#include "store/peers.h"
#include "tests/tools/client.h"

static void die(const char *what) {
  fprintf(stderr, "bench_transport: %s\n", what);
  exit(1);
}

/* ---- the node ---- */

static bench_daemon node;

typedef struct ident {
  am_identity id;
  am_hs_local local;
} ident;

static int add_peers_txn(am_txn *t, void *arg) {
  ident *v = arg;
  extern int npeers_total;
  for (int i = 0; i < npeers_total; i++) {
    am_peer p = {0};
    memcpy(p.key, v[i].id.pk, 32);
    snprintf(p.name, sizeof p.name, "bench %d", i);
    int rc = am_peer_put(t, &p, NULL, NULL);
    if (rc) return rc;
  }
  return 0;
}
int npeers_total;

static void start_node(const char *amicaled, ident *peers, int npeers) {
  am_error err = {0};
  npeers_total = npeers;
  if (bench_daemon_start(&node, amicaled, "transport", "Bench node", add_peers_txn, peers, &err))
    die(err.msg);
}

/* ---- 1. handshakes ---- */

typedef struct hs_job {
  ident *me;
  int first, count, failures;
} hs_job;

static void *hs_thread(void *arg) {
  hs_job *j = arg;
  for (int i = 0; i < j->count; i++) {
    int k = j->first + i;
    char src[32];
    /* 60,000 source addresses: each used once per round. */
    snprintf(src, sizeof src, "127.1.%d.%d", k / 250 % 240 + 1, k % 250 + 1);
    am_tclient c;
    if (am_tc_open(&c, node.addr, src, &j->me->local, node.key, "bench") != 0) {
      if (!j->failures) fprintf(stderr, "  (a handshake failed: %s)\n", c.refusal);
      j->failures++;
    } else {
      am_msg bye = {.type = AM_MSG_GOODBYE, .code = AM_BYE_SHUTDOWN};
      am_tc_send(&c, &bye);
    }
    am_tc_close(&c);
  }
  return NULL;
}

static double handshakes(ident *me, int n, int threads, int base) {
  pthread_t t[16];
  hs_job j[16];
  double t0 = bench_now();
  for (int i = 0; i < threads; i++) {
    j[i] = (hs_job){me, base + i * (n / threads), n / threads, 0};
    pthread_create(&t[i], NULL, hs_thread, &j[i]);
  }
  int failures = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    failures += j[i].failures;
  }
  double dt = bench_now() - t0;
  if (failures) fprintf(stderr, "  (%d handshakes failed)\n", failures);
  return (double)(n - failures) / dt;
}

/* ---- 2. throughput ---- */

static double throughput(ident *me, size_t megabytes) {
  am_tclient c;
  if (am_tc_open(&c, node.addr, "127.0.0.2", &me->local, node.key, "bench"))
    die(c.refusal);
  enum { PAYLOAD = 60000 };
  static uint8_t payload[PAYLOAD];
  randombytes_buf(payload, sizeof payload);
  /* An unknown message type (63) carrying a bin: the node decrypts and
   * decodes it whole, answers error unknown-message, and goes on. */
  am_buf plain = {0};
  uint8_t head[] = {0x92, 0x3f, 0xc5, PAYLOAD >> 8, PAYLOAD & 0xff};
  am_buf_append(&plain, head, sizeof head);
  am_buf_append(&plain, payload, sizeof payload);
  size_t n = megabytes * 1000000 / PAYLOAD;
  am_buf out = {0};
  double t0 = bench_now();
  for (size_t i = 0; i < n; i++) {
    out.len = 0;
    if (am_chan_seal(&c.chan, (uint8_t *)plain.data, plain.len, &out) ||
        am_tc_send_all(c.fd, out.data, out.len))
      die("the node closed the session");
  }
  am_msg ping = {.type = AM_MSG_PING, .token = 42}, m;
  am_tc_send(&c, &ping);
  size_t errors = 0;
  for (;;) {
    if (am_tc_recv(&c, &m, am_tc_now_ms() + 60000)) die("no pong");
    if (m.type == AM_MSG_ERROR) errors++;
    if (m.type == AM_MSG_PONG && m.token == 42) break;
  }
  double dt = bench_now() - t0;
  if (errors != n) fprintf(stderr, "  (%zu answers for %zu messages)\n", errors, n);
  am_msg bye = {.type = AM_MSG_GOODBYE, .code = AM_BYE_SHUTDOWN};
  am_tc_send(&c, &bye);
  am_tc_close(&c);
  double bytes = (double)n * (double)plain.len;
  am_buf_free(&plain);
  am_buf_free(&out);
  return bytes / dt / 1e6;
}

/* ---- baselines ---- */

static double per_op(int what, int n) {
  uint8_t sk[32], pk[32], q[32] = {0}, seed[32], esk[64], epk[32], sig[64], msg[63];
  randombytes_buf(sk, 32);
  crypto_scalarmult_base(pk, sk);
  randombytes_buf(seed, 32);
  crypto_sign_seed_keypair(epk, esk, seed);
  randombytes_buf(msg, sizeof msg);
  crypto_sign_detached(sig, NULL, msg, sizeof msg, esk);
  double t0 = bench_now();
  int bad = 0;
  for (int i = 0; i < n; i++) {
    if (what == 0) bad |= crypto_scalarmult_base(q, sk);
    else if (what == 1) bad |= crypto_scalarmult(q, sk, pk);
    else bad |= crypto_sign_verify_detached(sig, msg, sizeof msg, epk);
    sk[0] ^= q[0]; /* a dependency, so no call is optimised away */
  }
  if (bad) die("crypto baseline failed");
  return (bench_now() - t0) / n;
}

static double chacha_mbps(size_t megabytes) {
  enum { LEN = 60006 };
  static uint8_t in[LEN], out[LEN + 16];
  uint8_t key[32], nonce[12] = {0};
  randombytes_buf(key, sizeof key);
  size_t n = megabytes * 1000000 / LEN;
  double t0 = bench_now();
  for (size_t i = 0; i < n; i++) {
    nonce[4] = (uint8_t)i;
    crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, in, LEN, NULL, 0, NULL, nonce, key);
    in[0] ^= out[0];
  }
  return (double)(n * LEN) / (bench_now() - t0) / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_transport AMICALED [handshakes] [megabytes] [peers] [rounds]\n");
    return 2;
  }
  int nhs = argc > 2 ? atoi(argv[2]) : 4000;
  size_t mb = argc > 3 ? (size_t)atol(argv[3]) : 500;
  int npeers = argc > 4 ? atoi(argv[4]) : 200;
  int rounds = argc > 5 ? atoi(argv[5]) : 3;
  if (sodium_init() < 0) die("libsodium");
  signal(SIGPIPE, SIG_IGN);
  ident *peers = calloc((size_t)npeers + 1, sizeof *peers);
  for (int i = 0; i <= npeers; i++) {
    am_identity_generate(&peers[i].id, NULL);
    am_hs_local_init(&peers[i].local, &peers[i].id);
  }
  start_node(argv[1], peers, npeers + 1);
  long rss_idle = bench_proc_kb(node.pid, "VmRSS:");
  printf("amicaled on %s (pid %d)\n\n", node.addr, (int)node.pid);

  double best_limit = 0, best_hs = 0, best_raw = 0, best_tp = 0, best_hs_cpu = 0;
  for (int r = 0; r < rounds; r++) {
    double tb = per_op(0, 2000), tdh = per_op(1, 2000), tv = per_op(2, 2000);
    double limit = 1.0 / (tb + 3 * tdh + tv);
    if (limit > best_limit) {
      best_limit = limit;
      printf("crypto: X25519 base %.1f us, X25519 %.1f us, Ed25519 verify %.1f us\n", tb * 1e6,
             tdh * 1e6, tv * 1e6);
    }
    double cpu0 = bench_cpu_of(node.pid, NULL), w0 = bench_now();
    double hs = handshakes(&peers[npeers], nhs, 4, r * nhs);
    double cpu = bench_cpu_of(node.pid, NULL) - cpu0, wall = bench_now() - w0;
    if (hs > best_hs) best_hs = hs;
    /* The same per second of the node's CPU: the clients share the
     * machine's two cores with it. */
    double hs_cpu = cpu > 0 ? hs * wall / cpu : 0;
    if (hs_cpu > best_hs_cpu) best_hs_cpu = hs_cpu;
    double raw = chacha_mbps(mb);
    if (raw > best_raw) best_raw = raw;
    double tp = throughput(&peers[npeers], mb);
    if (tp > best_tp) best_tp = tp;
    printf("round %d: %.0f handshakes/s (limit %.0f/s), %.0f MB/s (raw %.0f MB/s)\n", r + 1, hs,
           limit, tp, raw);
  }
  printf("\nhandshakes   %8.0f /s   crypto limit %8.0f /s   ratio %.2fx (target >= 0.50x)\n",
         best_hs, best_limit, best_hs / best_limit);
  printf("             %8.0f per second of the node's CPU: %.2fx the limit (the rest is the\n"
         "             clients' own crypto on the same two cores)\n",
         best_hs_cpu, best_hs_cpu / best_limit);
  printf("throughput   %8.0f MB/s raw ChaCha20-Poly1305 %5.0f MB/s ratio %.2fx (target >= 0.50x)\n",
         best_tp, best_raw, best_tp / best_raw);

  /* 3. memory with npeers sessions open at once. */
  am_tclient *cs = calloc((size_t)npeers, sizeof *cs);
  int up = 0;
  for (int i = 0; i < npeers; i++) {
    char src[32];
    snprintf(src, sizeof src, "127.2.%d.%d", i / 250 + 1, i % 250 + 1);
    if (am_tc_open(&cs[i], node.addr, src, &peers[i].local, node.key, "bench peer") == 0) up++;
  }
  long rss_peers = bench_proc_kb(node.pid, "VmRSS:");
  printf("memory       idle %.1f MB (target <= 16 MB); with %d peers connected %.1f MB "
         "(target <= 64 MB)\n",
         rss_idle / 1024.0, up, rss_peers / 1024.0);
  for (int i = 0; i < npeers; i++) am_tc_close(&cs[i]);
  free(cs);
  bench_daemon_stop(&node);
  for (int i = 0; i <= npeers; i++) {
    am_hs_local_wipe(&peers[i].local);
    am_identity_wipe(&peers[i].id);
  }
  free(peers);
  return up == npeers ? 0 : 1;
}
