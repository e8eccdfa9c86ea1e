/* Writes the seed corpus of fuzz_announce (fuzz/corpus/announce/), or with
 * --check compares the committed files with what it would write (the ctest
 * entry fuzz.announce.seeds: a change to the announcement format that makes
 * the seeds stale fails there, and the fix is to run this program again).
 *
 *   build/fuzz/gen_corpus_announce fuzz/corpus/announce
 *   build/fuzz/gen_corpus_announce --check fuzz/corpus/announce
 *
 * Every valid seed is signed by the corpus key, whose Ed25519 seed is the
 * 32 bytes 00 01 .. 1f (public key 03a107bf..5531b8, the known answer of
 * tests/unit/test_crypto.c), which fuzz_announce trusts; times sit just
 * before the fixed clock FUZZ_NOW of fuzz_announce, expiries after it, so
 * valid seeds reach the store. Ed25519 signatures are deterministic, so
 * the output is the same on every run. The program also prints the key
 * file line of the fuzz target's own node key (seed 20 21 .. 3f), which
 * fuzz_announce.c embeds. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/identity.h"
#include "crypto/sign.h"
#include "proto/announce.h"

#define FUZZ_NOW 1790000000 /* 2026-09-21T14:13:20Z; as in fuzz_announce.c */

static void die(const char *what, const am_error *err) {
  fprintf(stderr, "gen_corpus_announce: %s%s%s\n", what, err ? ": " : "",
          err ? err->msg : "");
  exit(1);
}

/* The key pair whose seed is first, first+1, .. first+31. */
static void key_from_seed(am_identity *id, uint8_t first) {
  uint8_t seed[32];
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)(first + i);
  id->sk = sodium_malloc(AM_SECKEY_BYTES);
  if (!id->sk || crypto_sign_seed_keypair(id->pk, id->sk, seed) != 0)
    die("cannot derive a key", NULL);
  sodium_memzero(seed, sizeof seed);
}

static void set(am_ann *a, uint32_t f, const char *value) {
  am_error err = {0, ""};
  if (am_ann_set(a, f, value, &err) != 0) {
    fprintf(stderr, "field %u = '%s'\n", (unsigned)f, value);
    die("am_ann_set", &err);
  }
}

static uint64_t t(const char *iso) {
  uint64_t v;
  if (am_time_parse(iso, &v) != 0) die("bad time in the generator", NULL);
  return v;
}

static void seal(am_ann *a, const am_identity *id, am_buf *out) {
  am_error err = {0, ""};
  if (am_ann_seal(a, id, out, &err) != 0) die("am_ann_seal", &err);
  am_ann_free(a);
}

static void node(am_buf *out, const am_identity *id, const char *name) {
  am_ann a;
  am_ann_init(&a, AM_K_NODE);
  a.version = 1;
  a.created = FUZZ_NOW - 86400;
  set(&a, AM_NODE_NAME, name);
  set(&a, AM_NODE_KIND, "school");
  set(&a, AM_NODE_COUNTRY, "France");
  set(&a, AM_NODE_CITY, "Paris");
  set(&a, AM_NODE_WEBSITE, "https://ecole.example.fr");
  set(&a, AM_NODE_CONTACT, "alumni@ecole.example.fr");
  set(&a, AM_NODE_ADDRESSES, "node.ecole.example.fr:7740; 192.0.2.10:7740");
  seal(&a, id, out);
}

static void profile(am_buf *out, const am_identity *id) {
  am_ann a;
  am_ann_init(&a, AM_K_PROFILE);
  a.object = 31;
  a.version = 2;
  a.created = FUZZ_NOW - 43200;
  set(&a, AM_F_GIVEN_NAME, "Éléonore");
  set(&a, AM_F_FAMILY_NAME, "Dubois");
  set(&a, AM_F_EMAILS, "eleonore.dubois@example.fr");
  set(&a, AM_F_PROMO, "2012");
  set(&a, AM_F_PROGRAMME, "Ingénieur généraliste");
  set(&a, AM_F_EMPLOYER, "Société Générale");
  set(&a, AM_F_JOB_TITLE, "Analyste risques");
  set(&a, AM_F_SECTOR, "Finance");
  set(&a, AM_F_CITY, "Paris");
  set(&a, AM_F_COUNTRY, "France");
  set(&a, AM_F_SKILLS, "Python; SQL");
  set(&a, AM_F_LANGUAGES, "Français; Anglais");
  set(&a, AM_F_LINKEDIN, "https://www.linkedin.com/in/edubois");
  set(&a, AM_F_BIO, "Analyste chez SG.\nMentore des jeunes diplômés.");
  set(&a, AM_F_MENTORING, "yes");
  set(&a, AM_F_MENTORING_TOPICS, "Finance; Reconversion");
  seal(&a, id, out);
}

static void event(am_buf *out, const am_identity *id) {
  am_ann a;
  am_ann_init(&a, AM_K_EVENT);
  a.object = 1;
  a.version = 3;
  a.created = FUZZ_NOW - 7200;
  a.expires = t("2026-12-11T23:30Z");
  set(&a, AM_EV_TITLE, "Gala des anciens 2026");
  set(&a, AM_EV_DESCRIPTION, "Dîner et soirée.\nTenue de soirée.");
  set(&a, AM_EV_STARTS_AT, "2026-12-10T18:30Z");
  set(&a, AM_EV_ENDS_AT, "2026-12-10T23:30Z");
  set(&a, AM_EV_TIMEZONE, "Europe/Paris");
  set(&a, AM_EV_VENUE, "Pavillon Ledoyen");
  set(&a, AM_EV_CITY, "Paris");
  set(&a, AM_EV_COUNTRY, "France");
  set(&a, AM_EV_ONLINE, "https://live.ecole.example.fr/gala");
  set(&a, AM_EV_ORGANISER, "Association des anciens");
  set(&a, AM_EV_CAPACITY, "300");
  set(&a, AM_EV_LANGUAGE, "fr");
  set(&a, AM_EV_TAGS, "gala; réseau");
  set(&a, AM_EV_REGISTRATION, "https://ecole.example.fr/gala");
  set(&a, AM_EV_STATUS, "scheduled");
  seal(&a, id, out);
}

static void job(am_buf *out, const am_identity *id) {
  am_ann a;
  am_ann_init(&a, AM_K_JOB);
  a.object = 2;
  a.version = 4;
  a.created = FUZZ_NOW - 3600;
  a.expires = t("2027-01-01T00:00Z");
  set(&a, AM_JOB_TITLE, "Ingénieure données");
  set(&a, AM_JOB_EMPLOYER, "Airbus");
  set(&a, AM_JOB_CONTRACT, "cdi");
  set(&a, AM_JOB_CITY, "Toulouse");
  set(&a, AM_JOB_COUNTRY, "France");
  set(&a, AM_JOB_REMOTE, "hybrid");
  set(&a, AM_JOB_DESCRIPTION, "Équipe qualité.\nPython, SQL.");
  set(&a, AM_JOB_SKILLS, "Python; SQL; Spark");
  set(&a, AM_JOB_EXPERIENCE, "junior");
  set(&a, AM_JOB_SALARY_MIN, "42000");
  set(&a, AM_JOB_SALARY_MAX, "50000");
  set(&a, AM_JOB_CURRENCY, "EUR");
  set(&a, AM_JOB_SALARY_PERIOD, "year");
  set(&a, AM_JOB_APPLY, "https://careers.example.com/42");
  set(&a, AM_JOB_POSTED, "2026-09-01");
  set(&a, AM_JOB_VALID_THROUGH, "2026-12-31");
  set(&a, AM_JOB_ALUMNI_ONLY, "yes");
  seal(&a, id, out);
}

/* Withdraws the event above (object 1), with a later version. */
static void retraction(am_buf *out, const am_identity *id) {
  am_ann a;
  am_ann_init(&a, AM_K_RETRACTION);
  a.object = 1;
  a.version = 5;
  a.created = FUZZ_NOW - 600;
  set(&a, AM_RET_KIND, "event");
  set(&a, AM_RET_REASON, "Annulé (grève)");
  seal(&a, id, out);
}

typedef struct seed {
  const char *name;
  am_buf b;
} seed;

static seed seeds[32];
static int nseeds;

static am_buf *add(const char *name) {
  if (nseeds == (int)(sizeof seeds / sizeof seeds[0])) die("too many seeds", NULL);
  seeds[nseeds].name = name;
  return &seeds[nseeds++].b;
}

static void put(am_buf *b, const void *p, size_t n) {
  if (am_buf_append(b, p, n) != 0) die("out of memory", NULL);
}

int main(int argc, char **argv) {
  bool check = argc == 3 && strcmp(argv[1], "--check") == 0;
  if (argc != 2 + check || argv[1 + check][0] == '-') {
    fprintf(stderr, "usage: gen_corpus_announce [--check] DIR\n");
    return 2;
  }
  const char *dir = argv[1 + check];
  if (am_crypto_init() != 0) die("libsodium does not initialise", NULL);
  am_identity corpus = {0}, own = {0}, stranger = {0};
  key_from_seed(&corpus, 0x00);   /* trusted by fuzz_announce */
  key_from_seed(&own, 0x20);      /* fuzz_announce's own node key */
  key_from_seed(&stranger, 0x40); /* trusted by nobody */

  /* Valid envelopes, one per kind. */
  am_buf ev = {0}, jb = {0}, rt = {0}, nd = {0};
  node(&nd, &corpus, "École Exemple");
  event(&ev, &corpus);
  job(&jb, &corpus);
  retraction(&rt, &corpus);
  put(add("node.bin"), nd.data, nd.len);
  profile(add("profile.bin"), &corpus);
  put(add("event.bin"), ev.data, ev.len);
  put(add("job.bin"), jb.data, jb.len);
  put(add("retraction.bin"), rt.data, rt.len);
  /* A stream: the event, a job, then the event's retraction (which
   * replaces the event in the store). */
  am_buf *s = add("stream-3.bin");
  put(s, ev.data, ev.len);
  put(s, jb.data, jb.len);
  put(s, rt.data, rt.len);
  /* The retraction first: the event it withdraws is then stale, and the
   * retraction again a duplicate. */
  s = add("stream-stale.bin");
  put(s, rt.data, rt.len);
  put(s, ev.data, ev.len);
  put(s, rt.data, rt.len);
  /* Valid but signed by the node itself (always trusted) or by a stranger
   * (refused: unknown-origin). */
  node(add("own-node.bin"), &own, "Nœud du fuzzer");
  node(add("unknown-origin.bin"), &stranger, "Inconnu");

  /* Invalid ones. */
  put(add("truncated.bin"), ev.data, ev.len / 2);
  /* msgpack-c would allocate ~96 GB for this array header (issue #1013),
   * bare and as a signed part. */
  put(add("bomb.bin"), "\xdd\xff\x00\x00\x00", 5);
  am_buf *b = add("bomb-signed-part.bin");
  put(b, "\x92\xc4\x05\xdd\xff\x00\x00\x00\xc4\x40", 10);
  static const uint8_t zero_sig[AM_ANN_SIG_BYTES];
  put(b, zero_sig, sizeof zero_sig);
  /* An envelope whose bin32 header declares 4 GB. */
  b = add("bin32-4gb.bin");
  put(b, "\x92\xc6\xff\xff\xff\xff", 6);
  put(b, zero_sig, 16);
  /* The event with one bit of its signature flipped. */
  b = add("bad-signature.bin");
  put(b, ev.data, ev.len);
  b->data[b->len - 1] ^= 1;
  /* The node announcement with its signed part under a bin16 header instead
   * of the shortest (bin8): same bytes signed, refused as non-canonical. */
  b = add("noncanonical-header.bin");
  if (nd.len < 3 || (uint8_t)nd.data[1] != 0xc4) die("node envelope is not bin8", NULL);
  uint8_t n8 = (uint8_t)nd.data[2];
  put(b, "\x92\xc5\x00", 3);
  put(b, &n8, 1);
  put(b, nd.data + 3, nd.len - 3);

  int bad = 0;
  for (int i = 0; i < nseeds; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, seeds[i].name);
    if (check) {
      FILE *f = fopen(path, "rb");
      uint8_t buf[AM_ANN_MAX_BYTES + 1];
      size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
      if (f) fclose(f);
      if (!f || n != seeds[i].b.len || memcmp(buf, seeds[i].b.data, n) != 0) {
        fprintf(stderr, "%s: %s (run gen_corpus_announce %s to write the seeds again)\n",
                path, f ? "differs from what the generator writes" : strerror(errno), dir);
        bad = 1;
      }
    } else {
      FILE *f = fopen(path, "wb");
      if (!f || fwrite(seeds[i].b.data, 1, seeds[i].b.len, f) != seeds[i].b.len ||
          fclose(f) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
      }
    }
  }
  if (!check) {
    /* For fuzz_announce.c: its own key as a key file line (am_identity_load
     * derives the public key from the seed and checks it against this). */
    uint8_t raw[64];
    memcpy(raw, own.sk, 32);
    memcpy(raw + 32, own.pk, 32);
    char b64[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    sodium_bin2base64(b64, sizeof b64, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    char hex[65];
    am_ann_id_hex(corpus.pk, hex);
    printf("wrote %d seeds to %s\ncorpus key: %s\nown key line: amicale-secret-key-v1 %s\n",
           nseeds, dir, hex, b64);
  } else if (!bad) {
    printf("%d seeds up to date in %s\n", nseeds, dir);
  }
  for (int i = 0; i < nseeds; i++) am_buf_free(&seeds[i].b);
  am_buf_free(&ev), am_buf_free(&jb), am_buf_free(&rt), am_buf_free(&nd);
  am_identity_wipe(&corpus), am_identity_wipe(&own), am_identity_wipe(&stranger);
  return bad;
}
