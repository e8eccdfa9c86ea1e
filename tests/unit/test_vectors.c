/* The implementation against the published announcement test vectors
 * ($AMICALE_TEST_VECTORS/announcements, see the README.md there): every
 * valid vector sealed from its input with the fixed test key gives exactly
 * the published signed part, signature, id and envelope, opens back to the
 * same fields, and is accepted by a store that trusts the test key; every
 * invalid vector is refused with exactly the stated reason, by am_ann_open
 * and by the store's ingest (the vectors with a "now" only by the store: it
 * applies the time rules). A missing directory, an unreadable file or fewer
 * vectors than were published fails the test. Stores go to a fresh
 * directory under /tmp, removed at the end. */
#include <dirent.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "proto/ann_json.h"
#include "crypto/identity.h"
#include "crypto/sign.h"
#include "proto/announce.h"
#include "store/announcements.h"
#include "tests/test.h"

/* As published (tests/vectors/announcements/generate.c); more is fine. */
#define MIN_VALID 18
#define MIN_INVALID 61

/* crypto/identity.c derives this public key from the seed 00 01 .. 1f
 * (test_crypto.c checks it against OpenSSL). */
#define TEST_KEY_TEXT "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"

static char dir[4096];
static am_identity key;
static char root[] = "/tmp/amicale-test-vectors-XXXXXX";

/* ---- a receiving node that trusts the test key ---- */

static int trust_fn(am_txn *t, void *arg) {
  (void)arg;
  am_trust tr = {.added = 0};
  memcpy(tr.key, key.pk, AM_ANN_KEY_BYTES);
  snprintf(tr.name, sizeof tr.name, "test key");
  return am_trust_add(t, &tr, NULL, NULL);
}

static am_store *fresh_store(void) {
  static int seq;
  char path[256];
  snprintf(path, sizeof path, "%s/node%d", root, ++seq);
  am_store *s = NULL;
  am_error err = {0};
  am_store_opts o = {.create = true};
  if (mkdir(path, 0700) || am_store_open(&s, path, &o, &err)) {
    fprintf(stderr, "store %s: %s\n", path, err.msg);
    return NULL;
  }
  if (am_store_write(s, trust_fn, NULL, &err)) {
    fprintf(stderr, "trust: %s\n", err.msg);
    am_store_close(s);
    return NULL;
  }
  return s;
}

typedef struct ingest_job {
  const uint8_t *p;
  size_t len;
  int64_t now;
  am_ingest r;
  am_error err;
} ingest_job;

static int ingest_fn(am_txn *t, void *arg) {
  ingest_job *j = arg;
  memset(&j->r, 0, sizeof j->r);
  return am_ann_ingest(t, j->p, j->len, j->now, &j->r, &j->err);
}

/* The store's verdict on p[0..len) at clock now: an AM_REJ_* value, or -1
 * when the store itself failed. */
static int ingest(am_store *s, const uint8_t *p, size_t len, int64_t now, am_error *err) {
  ingest_job j = {.p = p, .len = len, .now = now};
  int rc = am_store_write(s, ingest_fn, &j, err);
  if (rc) return -1;
  *err = j.err;
  return j.r.reason;
}

/* Names of the *.json files of dir/sub, sorted; NULL if the directory
 * cannot be read. */
static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **list(const char *sub, size_t *n) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, sub);
  DIR *d = opendir(path);
  *n = 0;
  if (!d) return NULL;
  char **v = NULL;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0) continue;
    char **nv = realloc(v, (*n + 1) * sizeof *v);
    if (!nv) break;
    v = nv;
    v[(*n)++] = strdup(e->d_name);
  }
  closedir(d);
  if (*n) qsort(v, *n, sizeof *v, cmp_names);
  return v;
}

static void free_list(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

static json_t *load(const char *sub, const char *name) {
  char path[4400];
  snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
  json_error_t e;
  json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
  if (!j) fprintf(stderr, "%s: cannot read (%s, line %d)\n", path, e.text, e.line);
  return j;
}

/* Lower-case hex only (the published convention). */
static uint8_t *unhex(const json_t *x, size_t *n) {
  const char *s = json_string_value(x);
  if (!s) return NULL;
  size_t len = strlen(s);
  if (len % 2) return NULL;
  uint8_t *p = malloc(len / 2 + 1);
  if (!p) return NULL;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) { free(p); return NULL; }
    if (i % 2 == 0) p[i / 2] = (uint8_t)(v << 4);
    else p[i / 2] |= (uint8_t)v;
  }
  *n = len / 2;
  return p;
}

static char *tohex(const void *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  char *s = malloc(2 * n + 1);
  if (!s) return NULL;
  for (size_t i = 0; i < n; i++) {
    s[2 * i] = digits[((const uint8_t *)p)[i] >> 4];
    s[2 * i + 1] = digits[((const uint8_t *)p)[i] & 15];
  }
  s[2 * n] = '\0';
  return s;
}

/* A failed expectation about one file: says which, counts it. */
static bool expect(bool ok, const char *file, const char *what) {
  if (!ok) {
    fprintf(stderr, "%s: %s\n", file, what);
    test_failed_checks++;
  }
  return ok;
}

static void expect_hex(const json_t *doc, const char *member, const void *p, size_t n,
                       const char *file) {
  char *h = tohex(p, n);
  const char *want = json_string_value(json_object_get(doc, member));
  if (!expect(h && want && strcmp(h, want) == 0, file, member))
    fprintf(stderr, "  expected %s\n  got      %s\n", want ? want : "(missing)",
            h ? h : "(no memory)");
  free(h);
}

static void check_valid(const char *name) {
  json_t *doc = load("valid", name);
  if (!expect(doc != NULL, name, "unreadable")) return;
  uint8_t seed[32];
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)i;
  expect_hex(doc, "seed_hex", seed, 32, name);
  const char *pk = json_string_value(json_object_get(doc, "public_key"));
  expect(pk && strcmp(pk, TEST_KEY_TEXT) == 0, name, "public_key is not the test key");
  const json_t *input = json_object_get(doc, "input");

  /* Sealing the input gives exactly the published bytes. */
  am_ann a;
  am_error err = {0};
  am_buf env = {0};
  if (expect(am_ann_from_json(input, &a, &err) == 0, name, err.msg)) {
    if (expect(am_ann_seal(&a, &key, &env, &err) == 0, name, err.msg)) {
      const uint8_t *sp, *sig;
      size_t spn;
      if (expect(am_ann_span((const uint8_t *)env.data, env.len, &sp, &spn, &sig) == 0, name,
                 "no signed part in the sealed envelope")) {
        expect_hex(doc, "signed_hex", sp, spn, name);
        expect_hex(doc, "signature_hex", a.sig, AM_ANN_SIG_BYTES, name);
        expect_hex(doc, "id_hex", a.id, AM_ANN_ID_BYTES, name);
        expect_hex(doc, "envelope_hex", env.data, env.len, name);
      }
    }
    am_ann_free(&a);
  }
  am_buf_free(&env);

  /* The published envelope opens to the same fields. */
  size_t n = 0;
  uint8_t *p = unhex(json_object_get(doc, "envelope_hex"), &n);
  if (expect(p != NULL, name, "envelope_hex is not lower-case hex")) {
    am_ann b;
    int reason = -1;
    if (expect(am_ann_open(p, n, &b, &reason, &err) == 0, name, err.msg)) {
      expect(memcmp(b.origin, key.pk, AM_ANN_KEY_BYTES) == 0, name, "origin is not the test key");
      expect_hex(doc, "id_hex", b.id, AM_ANN_ID_BYTES, name);
      expect_hex(doc, "signature_hex", b.sig, AM_ANN_SIG_BYTES, name);
      json_t *back = am_ann_to_json(&b);
      static const char *keys[] = {"kind", "object", "version", "created", "expires", "body"};
      for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        const json_t *want = json_object_get(input, keys[k]);
        if (!want && !strcmp(keys[k], "expires")) want = json_null();
        if (!expect(json_equal(want, json_object_get(back, keys[k])), name,
                    "opened announcement differs from the input")) {
          char *w = json_dumps(want, JSON_ENCODE_ANY | JSON_COMPACT);
          char *g = json_dumps(json_object_get(back, keys[k]), JSON_ENCODE_ANY | JSON_COMPACT);
          fprintf(stderr, "  %s: expected %s\n  got %s\n", keys[k], w ? w : "?", g ? g : "?");
          free(w);
          free(g);
        }
      }
      json_decref(back);
      am_ann_free(&b);
    }
    /* Frames as one whole envelope (streams of them are cut this way). */
    size_t used = 0;
    expect(am_ann_frame(p, n, &used, &reason) == 0 && used == n, name, "does not frame");

    /* A node that trusts the test key accepts it within its validity. */
    uint64_t created = 0;
    const json_t *c = json_object_get(input, "created");
    am_store *s = fresh_store();
    if (expect(s != NULL, name, "no store") &&
        expect(json_is_string(c) && am_time_parse(json_string_value(c), &created) == 0, name,
               "created is not a time")) {
      int v = ingest(s, p, n, (int64_t)created, &err);
      if (!expect(v == AM_REJ_NONE, name, "the store refuses it"))
        fprintf(stderr, "  %s (%s)\n", v < 0 ? "store failure" : am_reject_name(v), err.msg);
    }
    if (s) am_store_close(s);
    free(p);
  }
  json_decref(doc);
}

/* A clock for the stateless vectors: any will do, they are refused
 * before the time rules (2026-11-23T00:00:00Z). */
#define ANY_NOW INT64_C(1795392000)

static void check_invalid(am_store *s, const char *name) {
  json_t *doc = load("invalid", name);
  if (!expect(doc != NULL, name, "unreadable")) return;
  const char *want = json_string_value(json_object_get(doc, "reason"));
  const json_t *now = json_object_get(doc, "now");
  size_t n = 0;
  uint8_t *p = unhex(json_object_get(doc, "envelope_hex"), &n);
  if (expect(want && p, name, "no reason, or envelope_hex is not lower-case hex") &&
      expect(!now || json_is_integer(now), name, "now is not an integer")) {
    am_ann a;
    am_error err = {0};
    int reason = AM_REJ_NONE;
    if (am_ann_open(p, n, &a, &reason, &err) == 0) {
      am_ann_free(&a);
      reason = AM_REJ_NONE;
    }
    /* Refused for its bytes alone, or (with a clock) only by a time rule. */
    const char *stateless = now ? "accepted" : want;
    if (!expect(strcmp(am_reject_name(reason), stateless) == 0, name, "wrong reason (open)"))
      fprintf(stderr, "  expected %s, got %s (%s)\n", stateless, am_reject_name(reason),
              err.msg);
    if (s) {
      int v = ingest(s, p, n, now ? (int64_t)json_integer_value(now) : ANY_NOW, &err);
      if (!expect(v >= 0 && strcmp(am_reject_name(v), want) == 0, name, "wrong reason (ingest)"))
        fprintf(stderr, "  expected %s, got %s (%s)\n", want,
                v < 0 ? "store failure" : am_reject_name(v), err.msg);
    }
  }
  free(p);
  json_decref(doc);
}

static void test_valid_vectors(void) {
  size_t n;
  char **v = list("valid", &n);
  if (!expect(v != NULL && n >= MIN_VALID, "valid/", "missing or fewer files than published"))
    fprintf(stderr, "  %zu found, at least %d expected\n", n, MIN_VALID);
  for (size_t i = 0; i < n; i++) check_valid(v[i]);
  free_list(v, n);
}

static void test_invalid_vectors(void) {
  size_t n;
  char **v = list("invalid", &n);
  if (!expect(v != NULL && n >= MIN_INVALID, "invalid/", "missing or fewer files than published"))
    fprintf(stderr, "  %zu found, at least %d expected\n", n, MIN_INVALID);
  /* One node for all: a refusal changes nothing in its state. */
  am_store *s = fresh_store();
  expect(s != NULL, "invalid/", "no store");
  for (size_t i = 0; i < n; i++) check_invalid(s, v[i]);
  if (s) am_store_close(s);
  free_list(v, n);
}

int main(void) {
  const char *base = getenv("AMICALE_TEST_VECTORS");
  if (!base || !*base) {
    fprintf(stderr, "AMICALE_TEST_VECTORS is not set (ctest sets it)\n");
    return EXIT_FAILURE;
  }
  snprintf(dir, sizeof dir, "%s/announcements", base);
  if (am_crypto_init() != 0) return EXIT_FAILURE;
  uint8_t seed[32];
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)i;
  key.sk = sodium_malloc(AM_SECKEY_BYTES);
  if (!key.sk || crypto_sign_seed_keypair(key.pk, key.sk, seed) != 0) return EXIT_FAILURE;

  if (!mkdtemp(root)) return EXIT_FAILURE;
  RUN(test_valid_vectors);
  RUN(test_invalid_vectors);
  am_identity_wipe(&key);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  if (system(cmd)) return EXIT_FAILURE;
  return TEST_SUMMARY();
}
