/* Writes the published announcement test vectors (README.md next to this
 * file): valid/<name>.json, announcements sealed with the fixed test key,
 * and invalid/<name>.json, envelopes edited by hand from valid bytes with
 * the reason every receiver must give for refusing them.
 *
 * The vectors are normative: once published they change only with the
 * protocol format. So by default this program writes the files that do not
 * exist yet and fails when an existing file would change; --check only
 * compares; --force rewrites (for a new format version only).
 *
 * The expected reason of an invalid vector is written here from the rules
 * of docs/PROTOCOL.md, not taken from the implementation: the program also
 * opens every envelope with am_ann_open and exits non-zero when the
 * implementation disagrees, but still writes what the rules say.
 *
 * An invalid vector has exactly one fault. Where an edit changes the signed
 * part, the edited bytes are signed again with the test key, so the
 * signature is good and only the stated fault remains (except, of course,
 * for the bad-signature vectors). */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <sodium.h>

#include "proto/ann_json.h"
#include "crypto/identity.h"
#include "crypto/sign.h"
#include "proto/announce.h"
#include "proto/mpcheck.h"

enum mode { MODE_WRITE, MODE_CHECK, MODE_FORCE };

static const char *outdir;
static enum mode mode = MODE_WRITE;
static int failures, written, unchanged;
static am_identity test_key, other_key;

/* ---- helpers ---- */

static void die(const char *what) {
  fprintf(stderr, "gen_announcement_vectors: %s\n", what);
  exit(2);
}

/* The fixed test key: Ed25519 seed 00 01 02 .. 1f (first + i). */
static void key_from_seed(am_identity *id, uint8_t first, int step) {
  uint8_t seed[32];
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)(first + step * i);
  id->sk = sodium_malloc(AM_SECKEY_BYTES);
  if (!id->sk || crypto_sign_seed_keypair(id->pk, id->sk, seed) != 0)
    die("cannot derive the test key");
}

static char *hex(const void *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  const uint8_t *b = p;
  char *s = malloc(2 * n + 1);
  if (!s) die("out of memory");
  for (size_t i = 0; i < n; i++) {
    s[2 * i] = digits[b[i] >> 4];
    s[2 * i + 1] = digits[b[i] & 15];
  }
  s[2 * n] = '\0';
  return s;
}

static void set_hex(json_t *o, const char *key, const void *p, size_t n) {
  char *h = hex(p, n);
  json_object_set_new(o, key, json_string(h));
  free(h);
}

/* JSON written with ' for " (texts use the typographic apostrophe). */
static json_t *J(const char *text) {
  char *s = strdup(text);
  if (!s) die("out of memory");
  for (char *c = s; *c; c++)
    if (*c == '\'') *c = '"';
  json_error_t e;
  json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &e);
  if (!j) {
    fprintf(stderr, "bad JSON in the generator (%s): %s\n", e.text, s);
    exit(2);
  }
  free(s);
  return j;
}

static json_t *J2(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  char *s = malloc(na + nb + 1);
  if (!s) die("out of memory");
  memcpy(s, a, na);
  memcpy(s + na, b, nb + 1);
  json_t *j = J(s);
  free(s);
  return j;
}

static void put(am_buf *b, const void *p, size_t n) {
  if (am_buf_append(b, p, n)) die("out of memory");
}

static am_buf copy(const void *p, size_t n) {
  am_buf b = {0};
  put(&b, p, n);
  return b;
}

/* src with n_del bytes at off replaced by ins[0..n_ins). */
static am_buf splice(const am_buf *src, size_t off, size_t n_del, const void *ins,
                     size_t n_ins) {
  if (off + n_del > src->len) die("splice out of range");
  am_buf b = {0};
  put(&b, src->data, off);
  if (n_ins) put(&b, ins, n_ins);
  put(&b, src->data + off + n_del, src->len - off - n_del);
  return b;
}

/* Where one msgpack value of the signed part sits: element i of the
 * signed array, or (j >= 0) element j of its body. */
static size_t skip_one(const am_buf *sp, size_t off) {
  size_t used;
  if (am_mp_check((const uint8_t *)sp->data + off, sp->len - off, 8,
                  AM_MP_ALLOW_FLOAT | AM_MP_ALLOW_EXT, &used))
    die("cannot walk a signed part");
  return used;
}

static size_t array_header(const am_buf *sp, size_t off) {
  uint8_t t = (uint8_t)sp->data[off];
  if (t >= 0x90 && t <= 0x9f) return 1;
  if (t == 0xdc) return 3;
  die("not an array header");
  return 0;
}

static size_t locate(const am_buf *sp, int i, int j, size_t *len) {
  size_t off = array_header(sp, 0);
  for (int k = 0; k < i; k++) off += skip_one(sp, off);
  if (j >= 0) {
    off += array_header(sp, off);
    for (int k = 0; k < j; k++) off += skip_one(sp, off);
  }
  *len = skip_one(sp, off);
  return off;
}

/* Replaces a whole value (top element i, or body element j). */
static am_buf replace(const am_buf *sp, int i, int j, const void *ins, size_t n) {
  size_t len, off = locate(sp, i, j, &len);
  return splice(sp, off, len, ins, n);
}

/* Replaces the first occurrence of find inside a text value (after its
 * str header) by ins. The header is left as is: use same-length edits. */
static am_buf edit_text(const am_buf *sp, int i, int j, const char *find,
                        const void *ins, size_t n_ins) {
  size_t len, off = locate(sp, i, j, &len);
  uint8_t t = (uint8_t)sp->data[off];
  size_t h = t == 0xd9 ? 2 : t == 0xda ? 3 : 1;
  off += h, len -= h;
  const char *v = sp->data + off;
  size_t flen = strlen(find);
  for (size_t k = 0; k + flen <= len; k++)
    if (memcmp(v + k, find, flen) == 0) return splice(sp, off + k, flen, ins, n_ins);
  die("text to edit not found");
  return (am_buf){0};
}

/* The unsigned integer at a position, and the shortest encoding of one. */
static uint64_t uint_at(const am_buf *sp, int i, int j) {
  size_t len, off = locate(sp, i, j, &len);
  const uint8_t *p = (const uint8_t *)sp->data + off;
  if (p[0] <= 0x7f) return p[0];
  if (p[0] < 0xcc || p[0] > 0xcf) die("not an unsigned integer");
  uint64_t v = 0;
  for (size_t k = 1; k < len; k++) v = v << 8 | p[k];
  return v;
}

static size_t pack_uint(uint64_t v, uint8_t out[static 9]) {
  size_t n;
  if (v <= 0x7f) { out[0] = (uint8_t)v; return 1; }
  if (v <= 0xff) out[0] = 0xcc, n = 1;
  else if (v <= 0xffff) out[0] = 0xcd, n = 2;
  else if (v <= 0xffffffff) out[0] = 0xce, n = 4;
  else out[0] = 0xcf, n = 8;
  for (size_t k = 0; k < n; k++) out[1 + k] = (uint8_t)(v >> (8 * (n - 1 - k)));
  return n + 1;
}

static void sign_with(const am_identity *key, const am_buf *sp, bool context,
                      uint8_t sig[static 64]) {
  am_buf m = {0};
  if (context) put(&m, AM_ANN_SIG_CONTEXT, sizeof AM_ANN_SIG_CONTEXT); /* with its 0 */
  put(&m, sp->data, sp->len);
  crypto_sign_detached(sig, NULL, (const uint8_t *)m.data, m.len, key->sk);
  am_buf_free(&m);
}

/* An envelope around sp with the given bin header (0: the shortest). */
static am_buf wrap(const am_buf *sp, const uint8_t sig[static 64], int bin) {
  am_buf e = {0};
  size_t n = sp->len;
  if (!bin) bin = n < 256 ? 8 : n < 65536 ? 16 : 32;
  uint8_t h[6] = {0x92};
  size_t hn;
  if (bin == 8) h[1] = 0xc4, h[2] = (uint8_t)n, hn = 3;
  else if (bin == 16) h[1] = 0xc5, h[2] = (uint8_t)(n >> 8), h[3] = (uint8_t)n, hn = 4;
  else h[1] = 0xc6, h[2] = (uint8_t)(n >> 24), h[3] = (uint8_t)(n >> 16),
       h[4] = (uint8_t)(n >> 8), h[5] = (uint8_t)n, hn = 6;
  put(&e, h, hn);
  put(&e, sp->data, n);
  put(&e, "\xc4\x40", 2);
  put(&e, sig, 64);
  return e;
}

/* Replaces an integer value (top element i, or body element j) by v. */
static am_buf set_uint(const am_buf *sp, int i, int j, uint64_t v) {
  uint8_t p[9];
  size_t n = pack_uint(v, p);
  return replace(sp, i, j, p, n);
}

/* The edited signed part, signed again with the test key. */
static am_buf resign(const am_buf *sp) {
  uint8_t sig[64];
  sign_with(&test_key, sp, true, sig);
  return wrap(sp, sig, 0);
}

/* ---- output ---- */

static void write_file(const char *sub, const char *name, json_t *doc) {
  char *text = json_dumps(doc, JSON_INDENT(2));
  if (!text) die("cannot serialise JSON");
  size_t n = strlen(text);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s/%s.json", outdir, sub, name);

  char *old = NULL;
  size_t old_n = 0;
  FILE *f = fopen(path, "rb");
  if (f) {
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    rewind(f);
    old = malloc((size_t)sz + 1);
    if (!old || fread(old, 1, (size_t)sz, f) != (size_t)sz) die("cannot read a vector");
    old_n = (size_t)sz;
    fclose(f);
  }
  bool same = old && old_n == n + 1 && memcmp(old, text, n) == 0 && old[n] == '\n';
  free(old);
  if (same) {
    unchanged++;
  } else if (mode == MODE_CHECK || (old && mode == MODE_WRITE)) {
    fprintf(stderr, "%s: %s\n", path,
            old ? "differs from what the generator produces (published vectors must "
                  "not change; --force only for a new protocol format)"
                : "missing");
    failures++;
  } else {
    f = fopen(path, "wb");
    if (!f || fwrite(text, 1, n, f) != n || fputc('\n', f) == EOF || fclose(f))
      die("cannot write a vector file");
    written++;
  }
  free(text);
}

/* A valid vector; what it made is kept for the invalid ones. */
typedef struct made {
  am_buf sp, env;
} made;

static made valid(const char *name, const char *desc, json_t *input) {
  am_ann a;
  am_error err = {0};
  am_buf env = {0};
  if (am_ann_from_json(input, &a, &err) || am_ann_seal(&a, &test_key, &env, &err)) {
    fprintf(stderr, "valid/%s: %s\n", name, err.msg);
    exit(2);
  }
  const uint8_t *sp, *sig;
  size_t spn;
  if (am_ann_span((const uint8_t *)env.data, env.len, &sp, &spn, &sig)) die("no span");

  /* The implementation must read back what it wrote. */
  am_ann b;
  int reason;
  if (am_ann_open((const uint8_t *)env.data, env.len, &b, &reason, &err)) {
    fprintf(stderr, "valid/%s: the implementation refuses it (%s): %s\n", name,
            am_reject_name(reason), err.msg);
    failures++;
  } else {
    json_t *back = am_ann_to_json(&b);
    static const char *keys[] = {"kind", "object", "version", "created", "expires", "body"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
      json_t *want = json_object_get(input, keys[k]);
      json_t *got = json_object_get(back, keys[k]);
      if (!want && !strcmp(keys[k], "expires")) want = json_null();
      if (!json_equal(want, got)) {
        fprintf(stderr, "valid/%s: \"%s\" does not read back as written\n", name, keys[k]);
        failures++;
      }
    }
    json_decref(back);
    am_ann_free(&b);
  }

  char key[AM_PUBKEY_TEXT_LEN + 1];
  am_pubkey_to_text(test_key.pk, key);
  uint8_t seed[32];
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)i;
  json_t *doc = json_object();
  json_object_set_new(doc, "description", json_string(desc));
  set_hex(doc, "seed_hex", seed, 32);
  json_object_set_new(doc, "public_key", json_string(key));
  json_object_set(doc, "input", input);
  set_hex(doc, "signed_hex", sp, spn);
  set_hex(doc, "signature_hex", a.sig, AM_ANN_SIG_BYTES);
  set_hex(doc, "id_hex", a.id, AM_ANN_ID_BYTES);
  set_hex(doc, "envelope_hex", env.data, env.len);
  write_file("valid", name, doc);
  json_decref(doc);
  json_decref(input);
  am_ann_free(&a);
  return (made){copy(sp, spn), env};
}

/* An invalid vector. now >= 0: refused only by a time rule at that clock
 * (receivers that trust the test key); stateless otherwise. */
static void invalid_at(const char *name, const char *desc, am_buf env, int reason,
                       int64_t now) {
  am_ann a;
  am_error err = {0};
  int got = AM_REJ_NONE;
  if (am_ann_open((const uint8_t *)env.data, env.len, &a, &got, &err) == 0) {
    got = AM_REJ_NONE;
    /* The time rules (PROTOCOL.md section 8, steps 14 and 15); the unit
     * test checks the store applies them (am_ann_ingest). */
    if (now >= 0 && (int64_t)a.created > now + AM_ANN_MAX_SKEW) got = AM_REJ_FUTURE;
    else if (now >= 0 && a.expires && (int64_t)a.expires <= now) got = AM_REJ_EXPIRED;
    am_ann_free(&a);
  }
  if (got != reason) {
    fprintf(stderr, "invalid/%s: the implementation says %s, the rules say %s (%s)\n", name,
            am_reject_name(got), am_reject_name(reason), err.msg);
    failures++;
  }
  json_t *doc = json_object();
  json_object_set_new(doc, "description", json_string(desc));
  if (now >= 0) json_object_set_new(doc, "now", json_integer(now));
  set_hex(doc, "envelope_hex", env.data, env.len);
  json_object_set_new(doc, "reason", json_string(am_reject_name(reason)));
  write_file("invalid", name, doc);
  json_decref(doc);
  am_buf_free(&env);
}

static void invalid(const char *name, const char *desc, am_buf env, int reason) {
  invalid_at(name, desc, env, reason, -1);
}

/* Text of exactly n bytes (ASCII). */
static char *filler(size_t n) {
  static const char base[] = "Rencontre annuelle des anciens, ouverte a toutes les promotions. ";
  char *s = malloc(n + 1);
  if (!s) die("out of memory");
  for (size_t i = 0; i < n; i++) s[i] = base[i % (sizeof base - 1)];
  s[n] = '\0';
  return s;
}

/* An event whose description is n bytes. */
static json_t *event_with_description(size_t n, int object, int version) {
  char text[512];
  snprintf(text, sizeof text,
           "{'kind': 'event', 'object': %d, 'version': %d,", object, version);
  json_t *in = J2(text, " 'created': '2026-09-01T08:00:00Z', 'expires': '2026-10-02T00:00:00Z',"
                 " 'body': {'title': 'Assemblée générale',"
                 " 'starts_at': '2026-10-01T17:00:00Z', 'timezone': 'Europe/Paris',"
                 " 'status': 'scheduled'}}");
  char *d = filler(n);
  json_t *body = json_object_get(in, "body");
  json_t *rest = json_deep_copy(body);
  json_object_clear(body); /* keep table order: title, description, ... */
  json_object_set(body, "title", json_object_get(rest, "title"));
  json_object_set_new(body, "description", json_string(d));
  json_object_update(body, rest);
  json_decref(rest);
  free(d);
  return in;
}

static size_t signed_len(json_t *in) {
  am_ann a;
  am_error err;
  am_buf sp = {0};
  if (am_ann_from_json(in, &a, &err)) die(err.msg);
  memcpy(a.origin, test_key.pk, 32);
  if (am_ann_encode_signed(&a, &sp)) die("cannot encode");
  size_t n = sp.len;
  am_buf_free(&sp);
  am_ann_free(&a);
  return n;
}

/* An event whose signed part is exactly n bytes. */
static json_t *event_signed_exactly(size_t n, int object, int version) {
  for (size_t d = 1; d < 1000; d++) {
    json_t *in = event_with_description(d, object, version);
    if (signed_len(in) == n) return in;
    json_decref(in);
  }
  die("no description length gives that signed size");
  return NULL;
}

/* ---- the vectors ---- */

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--check")) mode = MODE_CHECK;
    else if (!strcmp(argv[i], "--force")) mode = MODE_FORCE;
    else if (argv[i][0] != '-' && !outdir) outdir = argv[i];
    else outdir = NULL, i = argc;
  }
  if (!outdir) {
    fprintf(stderr, "usage: gen_announcement_vectors [--check | --force] DIR\n"
                    "  DIR: tests/vectors/announcements of the source tree\n");
    return 2;
  }
  if (sodium_init() < 0) die("libsodium does not initialise");
  char path[4096];
  snprintf(path, sizeof path, "%s/valid", outdir);
  if (mode != MODE_CHECK && mkdir(path, 0777) && errno != EEXIST) die("cannot create valid/");
  snprintf(path, sizeof path, "%s/invalid", outdir);
  if (mode != MODE_CHECK && mkdir(path, 0777) && errno != EEXIST) die("cannot create invalid/");
  key_from_seed(&test_key, 0x00, 1);
  key_from_seed(&other_key, 0x1f, -1);

  /* ---- valid ---- */
  made node = valid(
      "node-full", "A node describes itself, every field set (node announcements have object 0 "
                   "and never expire).",
      J("{'kind': 'node', 'object': 0, 'version': 1, 'created': '2026-01-15T09:00:00Z',"
        " 'expires': null, 'body': {'name': 'École Exemple — Association des anciens',"
        " 'kind': 'school', 'country': 'France', 'city': 'Palaiseau',"
        " 'website': 'https://alumni.example.fr/', 'contact': 'contact@alumni.example.fr',"
        " 'addresses': ['node.alumni.example.fr:7400', '[2001:db8::7]:7400']}}"));
  made profile = valid(
      "profile-accents",
      "A member profile with some fields set; non-ASCII text (é, œ, ß) is plain UTF-8.",
      J("{'kind': 'profile', 'object': 31, 'version': 2, 'created': '2026-02-03T14:25:00Z',"
        " 'expires': null, 'body': {'given_name': 'Éléonore', 'family_name': 'Lœvenbruck',"
        " 'promo': 2012, 'programme': 'Ingénieur généraliste', 'employer': 'Société Générale',"
        " 'job_title': 'Analyste risques', 'city': 'Paris', 'country': 'France',"
        " 'skills': ['Python', 'Gestion des risques'],"
        " 'languages': ['Français', 'Anglais', 'Deutsch (Großartig)'],"
        " 'mentoring': true, 'mentoring_topics': ['Finance', 'Reconversion']}}"));
  made event = valid(
      "event-full",
      "An event with every field: a multi-line description, an online link, tags, a "
      "capacity and a status. Events must expire.",
      J("{'kind': 'event', 'object': 1, 'version': 3, 'created': '2026-11-01T08:00:00Z',"
        " 'expires': '2026-12-11T00:00:00Z', 'body': {"
        " 'title': 'Afterwork des anciens à Paris',"
        " 'description': 'Rendez-vous au café après le travail.\\nInscription obligatoire.',"
        " 'starts_at': '2026-12-10T18:30:00Z', 'ends_at': '2026-12-10T22:00:00Z',"
        " 'timezone': 'Europe/Paris', 'venue': 'Café de la Paix', 'city': 'Paris',"
        " 'country': 'France', 'online_url': 'https://meet.example.org/afterwork',"
        " 'organiser': 'Amicale des anciens', 'capacity': 80, 'language': 'fr',"
        " 'tags': ['afterwork', 'networking', 'paris'],"
        " 'registration': 'https://alumni.example.fr/inscription', 'status': 'scheduled'}}"));
  made event_min = valid(
      "event-minimal", "An event with only its required fields (every other position is nil).",
      J("{'kind': 'event', 'object': 2, 'version': 4, 'created': '2026-11-02T08:00:00Z',"
        " 'expires': '2027-01-01T00:00:00Z', 'body': {'title': 'Gala',"
        " 'starts_at': '2026-12-31T20:00:00Z', 'timezone': 'Europe/Paris',"
        " 'status': 'postponed'}}"));
  made job = valid(
      "job-salary",
      "A job offer with a salary range and currency, reserved to alumni; dates are YYYYMMDD "
      "integers on the wire.",
      J("{'kind': 'job', 'object': 7, 'version': 5, 'created': '2026-11-20T10:00:00Z',"
        " 'expires': '2027-01-01T00:00:00Z', 'body': {'title': 'Ingénieur·e données',"
        " 'employer': 'Société Générale', 'contract': 'cdi', 'city': 'Paris',"
        " 'country': 'France', 'remote': 'hybrid',"
        " 'description': 'Équipe risques de marché.\\nPython, SQL.',"
        " 'skills': ['Python', 'SQL'], 'experience': 'junior', 'salary_min': 45000,"
        " 'salary_max': 55000, 'currency': 'EUR', 'salary_period': 'year',"
        " 'apply': 'https://careers.example.com/offres/123', 'posted': '2026-11-20',"
        " 'valid_through': '2026-12-31', 'alumni_only': true}}"));
  made ret_profile = valid(
      "retraction-profile",
      "The retraction of profile 31: same object, a higher version, kind 'profile', no reason. "
      "Its signed part is under 256 bytes (bin8 envelope header).",
      J("{'kind': 'retraction', 'object': 31, 'version': 6, 'created': '2026-11-21T10:00:00Z',"
        " 'expires': null, 'body': {'kind': 'profile'}}"));
  made ret_job = valid(
      "retraction-job-reason", "The retraction of job 7, with a reason.",
      J("{'kind': 'retraction', 'object': 7, 'version': 7, 'created': '2026-11-25T16:45:00Z',"
        " 'expires': null, 'body': {'kind': 'job', 'reason': 'Poste pourvu'}}"));
  made s31 = valid(
      "str-31-bytes", "A 31-byte text: the longest fixstr (header 0xbf).",
      J("{'kind': 'node', 'object': 0, 'version': 8, 'created': '2026-03-01T00:00:00Z',"
        " 'expires': null, 'body': {'name': 'Association des anciens de Lyon',"
        " 'kind': 'association'}}"));
  made s32 = valid(
      "str-32-bytes",
      "A 32-byte text (27 characters, 32 bytes of UTF-8): the shortest str8 (header d9 20). "
      "Lengths count bytes, not characters.",
      J("{'kind': 'node', 'object': 0, 'version': 9, 'created': '2026-03-01T00:00:00Z',"
        " 'expires': null, 'body': {'name': 'Société des Amis de l’École',"
        " 'kind': 'federation'}}"));
  made s255 = valid("str-255-bytes",
                    "A 255-byte description: the longest str8 (header d9 ff).",
                    event_with_description(255, 12, 40));
  made s256 = valid("str-256-bytes",
                    "A 256-byte description: the shortest str16 (header da 01 00).",
                    event_with_description(256, 13, 41));
  made i127 = valid(
      "int-127-128",
      "Integers 127 (positive fixint 7f) and 128 (uint8 cc 80): object 127, version 128, "
      "capacity 128.",
      J("{'kind': 'event', 'object': 127, 'version': 128, 'created': '2026-04-01T00:00:00Z',"
        " 'expires': '2026-05-01T00:00:00Z', 'body': {'title': 'Visite', "
        " 'starts_at': '2026-04-20T09:00:00Z', 'timezone': 'UTC', 'capacity': 128,"
        " 'status': 'scheduled'}}"));
  made i255 = valid(
      "int-255-256",
      "Integers 255 (uint8 cc ff) and 256 (uint16 cd 01 00): object 255, version 256, "
      "capacity 255.",
      J("{'kind': 'event', 'object': 255, 'version': 256, 'created': '2026-04-01T00:00:00Z',"
        " 'expires': '2026-05-01T00:00:00Z', 'body': {'title': 'Visite', "
        " 'starts_at': '2026-04-20T09:00:00Z', 'timezone': 'UTC', 'capacity': 255,"
        " 'status': 'scheduled'}}"));
  made i65535 = valid(
      "int-65535-65536",
      "Integers 65535 (uint16 cd ff ff) and 65536 (uint32 ce 00 01 00 00): object 65535, "
      "version 65536, capacity 65536.",
      J("{'kind': 'event', 'object': 65535, 'version': 65536,"
        " 'created': '2026-04-01T00:00:00Z', 'expires': '2026-05-01T00:00:00Z',"
        " 'body': {'title': 'Visite', 'starts_at': '2026-04-20T09:00:00Z', 'timezone': 'UTC',"
        " 'capacity': 65536, 'status': 'scheduled'}}"));
  made i2p32 = valid(
      "int-2p32",
      "Integers 2^32-1 (uint32 ce ff ff ff ff) and 2^32 (uint64 cf 00 00 00 01 00 00 00 00) "
      "through time fields: starts_at 2106-02-07T06:28:15Z = 4294967295, ends_at "
      "2106-02-07T06:28:16Z = 4294967296; also object 2^32-1 and version 2^32.",
      J("{'kind': 'event', 'object': 4294967295, 'version': 4294967296,"
        " 'created': '2026-04-01T00:00:00Z', 'expires': '2106-02-08T00:00:00Z',"
        " 'body': {'title': 'Fin de l’ère 32 bits', 'starts_at': '2106-02-07T06:28:15Z',"
        " 'ends_at': '2106-02-07T06:28:16Z', 'timezone': 'UTC', 'status': 'scheduled'}}"));
  made imax = valid(
      "int-max",
      "The largest values allowed: object and version 2^53-1, expires "
      "9999-12-31T23:59:59Z (253402300799), capacity 1000000.",
      J("{'kind': 'event', 'object': 9007199254740991, 'version': 9007199254740991,"
        " 'created': '2026-04-01T00:00:00Z', 'expires': '9999-12-31T23:59:59Z',"
        " 'body': {'title': 'Jamais', 'starts_at': '9999-12-31T23:59:59Z', 'timezone': 'UTC',"
        " 'capacity': 1000000, 'status': 'scheduled'}}"));
  made sp255 = valid("signed-255-bytes",
                     "A signed part of exactly 255 bytes: the largest with a bin8 envelope "
                     "header (92 c4 ff).",
                     event_signed_exactly(255, 14, 42));
  made sp256 = valid("signed-256-bytes",
                     "A signed part of exactly 256 bytes: the smallest with a bin16 envelope "
                     "header (92 c5 01 00).",
                     event_signed_exactly(256, 15, 43));

  /* ---- invalid ---- */
  am_buf b, e;
  uint8_t sig[64];

  /* Canonical form. */
  b = replace(&event.sp, 4, -1, "\xcc\x03", 2);
  invalid("int-not-shortest", "event-full with version 3 written as uint8 (cc 03) instead of "
          "positive fixint 03; re-signed.", resign(&b), AM_REJ_NONCANONICAL);
  am_buf_free(&b);
  b = replace(&event.sp, 3, -1, "\xd0\x01", 2);
  invalid("int-signed-type", "event-full with object 1 written as int8 (d0 01): a positive "
          "value must use the unsigned encoding; re-signed.", resign(&b), AM_REJ_NONCANONICAL);
  am_buf_free(&b);
  {
    uint64_t t = uint_at(&event.sp, 5, -1);
    uint8_t v[9] = {0xcf};
    for (int k = 0; k < 8; k++) v[1 + k] = (uint8_t)(t >> (56 - 8 * k));
    b = replace(&event.sp, 5, -1, v, 9);
  }
  invalid("int-uint64-for-uint32", "event-full with created written as uint64 (cf) instead "
          "of uint32 (ce); re-signed.", resign(&b), AM_REJ_NONCANONICAL);
  am_buf_free(&b);
  {
    size_t len, off = locate(&event.sp, 7, AM_EV_TITLE, &len);
    uint8_t t = (uint8_t)event.sp.data[off];
    size_t h = t == 0xd9 ? 2 : 1, n = len - h;
    uint8_t v[3] = {0xda, (uint8_t)(n >> 8), (uint8_t)n};
    b = splice(&event.sp, off, h, v, 3);
  }
  invalid("str16-short", "event-full with its title (under 256 bytes) under a str16 header "
          "(da 00 nn); re-signed.", resign(&b), AM_REJ_NONCANONICAL);
  am_buf_free(&b);
  {
    size_t len, off = locate(&s31.sp, 7, AM_NODE_NAME, &len);
    b = splice(&s31.sp, off, 1, "\xd9\x1f", 2);
  }
  invalid("str8-for-fixstr", "str-31-bytes with its 31-byte name under a str8 header (d9 1f) "
          "instead of fixstr bf; re-signed.", resign(&b), AM_REJ_NONCANONICAL);
  am_buf_free(&b);
  memcpy(sig, ret_profile.env.data + ret_profile.env.len - 64, 64);
  invalid("envelope-bin16-small", "retraction-profile (signed part under 256 bytes) with a "
          "bin16 envelope header (92 c5 00 nn); the signature is the original, valid one.",
          wrap(&ret_profile.sp, sig, 16), AM_REJ_NONCANONICAL);
  invalid("envelope-bin32-small", "retraction-profile with a bin32 envelope header "
          "(92 c6 00 00 00 nn); the signature is the original, valid one.",
          wrap(&ret_profile.sp, sig, 32), AM_REJ_NONCANONICAL);
  {
    uint8_t o[37] = {0xc6, 0, 0, 0, 32};
    memcpy(o + 5, test_key.pk, 32);
    b = replace(&ret_profile.sp, 2, -1, o, sizeof o);
  }
  invalid("origin-bin32", "retraction-profile with the origin key under a bin32 header "
          "(c6 00 00 00 20) instead of bin8 (c4 20); re-signed.", resign(&b),
          AM_REJ_NONCANONICAL);
  am_buf_free(&b);
  {
    size_t len, off = locate(&ret_profile.sp, 7, -1, &len);
    b = splice(&ret_profile.sp, off, 1, "\xdc\x00\x02", 3);
  }
  invalid("array16-short", "retraction-profile with its 2-element body under an array16 "
          "header (dc 00 02) instead of fixarray 92; re-signed.", resign(&b),
          AM_REJ_NONCANONICAL);
  am_buf_free(&b);

  /* Types and structure. */
  b = replace(&event.sp, 7, AM_EV_CAPACITY, "\xcb\x40\x54\x00\x00\x00\x00\x00\x00", 9);
  invalid("float-in-body", "event-full with capacity 80 written as a float64 (cb, 80.0): "
          "floats never appear in an announcement; re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = replace(&event.sp, 7, AM_EV_CAPACITY, "\xd4\x01\x50", 3);
  invalid("ext-in-body", "event-full with capacity as an ext type (fixext1 d4 01 50): ext "
          "types never appear; re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = replace(&ret_profile.sp, 7, -1, "\x82\x00\x01\x01\xc0", 5);
  invalid("body-map", "retraction-profile with its body as a map {0: 1, 1: nil} instead of an "
          "array; re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = replace(&event.sp, 3, -1, "\xff", 1);
  invalid("negative-int", "event-full with object -1 (negative fixint ff); re-signed.",
          resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  {
    size_t len, off = locate(&event_min.sp, 7, AM_EV_STATUS, &len);
    am_buf c = splice(&event_min.sp, off, len, "", 0);
    size_t boff = locate(&event_min.sp, 7, -1, &len);
    c.data[boff] = (char)0x9e;
    b = c;
  }
  invalid("body-too-short", "event-minimal with its last body position removed (14 elements "
          "instead of 15); re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  {
    size_t len, boff = locate(&event_min.sp, 7, -1, &len);
    am_buf c = splice(&event_min.sp, boff, 1, "\xdc\x00\x10", 3);
    b = splice(&c, c.len, 0, "\xc0", 1);
    am_buf_free(&c);
  }
  invalid("body-too-long", "event-minimal with a nil added at the end of its body (16 "
          "elements instead of 15); re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  {
    b = copy(ret_profile.sp.data, ret_profile.sp.len);
    b.data[0] = (char)0x99;
    put(&b, "\xc0", 1);
  }
  invalid("signed-part-9-elements", "retraction-profile with a ninth element (nil) in its "
          "signed part; re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = replace(&event_min.sp, 1, -1, "\x09", 1);
  invalid("kind-unknown-9", "event-minimal with kind 9, which no format-1 reader knows; "
          "re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = replace(&event_min.sp, 0, -1, "\x02", 1);
  invalid("format-2", "event-minimal with format version 2 (the first element of the signed "
          "part); re-signed.", resign(&b), AM_REJ_UNSUPPORTED);
  am_buf_free(&b);
  b = copy("\x92\x02\xa6" "future", 9);
  invalid("format-2-other-shape", "A signed part [2, \"future\"]: a reader looks at the format "
          "version first and refuses what it does not know without judging the rest; signed "
          "with the test key.", resign(&b), AM_REJ_UNSUPPORTED);
  am_buf_free(&b);
  b = replace(&event.sp, 7, AM_EV_TITLE, "\xc4\x05" "Gala!", 7);
  invalid("text-as-bin", "event-full with its title as a bin (c4 05) instead of a str; "
          "re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = replace(&job.sp, 7, AM_JOB_ALUMNI_ONLY, "\x01", 1);
  invalid("bool-as-int", "job-salary with alumni_only written as the integer 1 instead of "
          "true (c3); re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  {
    size_t len, off = locate(&event.sp, 7, AM_EV_TAGS, &len);
    am_buf c = splice(&event.sp, off + 1, 0, "\x91", 1); /* first item inside an array */
    b = c;
  }
  invalid("nested-list", "event-full with its first tag wrapped in an array (a list item "
          "that is an array: nesting deeper than envelope > signed > body > list); "
          "re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  {
    uint8_t o[33] = {0xc4, 31};
    memcpy(o + 2, test_key.pk, 31);
    b = replace(&ret_profile.sp, 2, -1, o, 33);
  }
  invalid("origin-31-bytes", "retraction-profile with an origin of 31 bytes; re-signed.",
          resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);

  /* Framing and size. */
  e = copy(event.env.data, event.env.len - 1);
  invalid("truncated", "event-full without its last byte.", e, AM_REJ_MALFORMED);
  invalid("truncated-header", "Three bytes: an envelope and bin16 header cut short (92 c5 01).",
          copy("\x92\xc5\x01", 3), AM_REJ_MALFORMED);
  e = copy(event.env.data, event.env.len);
  put(&e, "\xc0", 1);
  invalid("trailing-bytes", "event-full followed by one more byte (c0): an envelope must "
          "occupy exactly the bytes given.", e, AM_REJ_MALFORMED);
  e = copy(event.env.data, event.env.len);
  e.data[0] = (char)0x93;
  put(&e, "\xc0", 1);
  invalid("envelope-3-elements", "event-full as a 3-element array (93 ... c0).", e,
          AM_REJ_MALFORMED);
  {
    am_buf c = copy(event.env.data, event.env.len - 1);
    c.data[c.len - 64] = 0x3f;
    e = c;
  }
  invalid("signature-63-bytes", "event-full with a 63-byte signature (c4 3f).", e,
          AM_REJ_MALFORMED);
  invalid("bomb-alone", "The 5 bytes dd ff 00 00 00 (an array32 header declaring 2^32-256 "
          "elements, msgpack-c issue #1013): not an envelope. A decoder must refuse it "
          "without allocating what it declares.", copy("\xdd\xff\x00\x00\x00", 5),
          AM_REJ_MALFORMED);
  b = copy("\xdd\xff\x00\x00\x00", 5);
  invalid("bomb-as-signed-part", "An envelope whose signed part is dd ff 00 00 00 (declares "
          "2^32-256 elements in 4 bytes); signed with the test key.", resign(&b),
          AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = replace(&event.sp, 7, AM_EV_TAGS, "\xdd\xff\x00\x00\x00", 5);
  invalid("bomb-in-body", "event-full with its tags replaced by dd ff 00 00 00; re-signed.",
          resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  {
    /* 65537 bytes in all with canonical headers: 92 c5 nn nn + signed + c4 40 + 64. */
    size_t want_sp = 65537 - 70;
    size_t len, off = locate(&event.sp, 7, AM_EV_DESCRIPTION, &len);
    size_t text = want_sp - (event.sp.len - len) - 3;
    char *d = filler(text);
    am_buf v = {0};
    uint8_t h[3] = {0xda, (uint8_t)(text >> 8), (uint8_t)text};
    put(&v, h, 3);
    put(&v, d, text);
    free(d);
    b = splice(&event.sp, off, len, v.data, v.len);
    am_buf_free(&v);
    if (b.len != want_sp) die("too-large: wrong size");
  }
  e = resign(&b);
  if (e.len != 65537) die("too-large: wrong envelope size");
  invalid("too-large", "An envelope of 65537 bytes (one over the limit of 65536), otherwise "
          "event-full with a long description; signed. Size is checked before anything else.",
          e, AM_REJ_TOO_LARGE);
  am_buf_free(&b);
  invalid("too-large-declared", "An envelope header declaring a 65536-byte signed part "
          "(92 c6 00 01 00 00) followed by 10 bytes: refused for its declared size before "
          "the bytes are read.",
          copy("\x92\xc6\x00\x01\x00\x00\x98\x01\x02\xc4\x20\x00\x00\x00\x00\x00", 16),
          AM_REJ_TOO_LARGE);

  /* Text rules. */
  b = edit_text(&profile.sp, 7, AM_F_GIVEN_NAME, "\xc3\x89", "\xc3\x28", 2);
  invalid("utf8-invalid", "profile-accents with the É of its given name (c3 89) changed to "
          "c3 28, not UTF-8; re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = edit_text(&profile.sp, 7, AM_F_GIVEN_NAME, "\xc3\xa9", "\xc1\xa9", 2);
  invalid("utf8-overlong", "profile-accents with the é of its given name (c3 a9) changed to "
          "c1 a9, an overlong encoding of 'i'; re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = edit_text(&profile.sp, 7, AM_F_GIVEN_NAME, "ono", "\xed\xa0\x80", 3);
  invalid("utf8-surrogate", "profile-accents with 'ono' in its given name replaced by "
          "ed a0 80 (the surrogate U+D800, not allowed in UTF-8); re-signed.", resign(&b),
          AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = edit_text(&event.sp, 7, AM_EV_TITLE, " ", "\t", 1);
  invalid("control-tab", "event-full with a tab (09) in its title; re-signed.", resign(&b),
          AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = edit_text(&event.sp, 7, AM_EV_TITLE, " ", "\n", 1);
  invalid("line-feed-single-line", "event-full with a line feed in its title (only "
          "multi-line fields such as description allow LF); re-signed.", resign(&b),
          AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = edit_text(&event.sp, 7, AM_EV_TITLE, " ", "\x7f", 1);
  invalid("control-del", "event-full with DEL (7f) in its title; re-signed.", resign(&b),
          AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = edit_text(&event.sp, 7, AM_EV_TITLE, " ", "\0", 1);
  invalid("nul-in-text", "event-full with a NUL byte in its title; re-signed.", resign(&b),
          AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = edit_text(&profile.sp, 7, AM_F_FAMILY_NAME, "\xc5\x93", "\xc2\x85", 2);
  invalid("control-c1", "profile-accents with the œ of its family name (c5 93) changed to "
          "c2 85 (U+0085, a C1 control character); re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = replace(&event_min.sp, 7, AM_EV_VENUE, "\xa0", 1);
  invalid("empty-string", "event-minimal with an empty string (a0) as venue: an absent value "
          "is nil, never \"\"; re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = replace(&event_min.sp, 7, AM_EV_TAGS, "\x90", 1);
  invalid("empty-list", "event-minimal with an empty list (90) as tags: an absent list is "
          "nil, never []; re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = replace(&event_min.sp, 7, AM_EV_TITLE, "\xc0", 1);
  invalid("required-nil", "event-minimal with its title (required) nil; re-signed.",
          resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = replace(&job.sp, 7, AM_JOB_CURRENCY, "\xa4" "EURO", 5);
  invalid("text-over-limit", "job-salary with currency \"EURO\" (4 bytes; the limit is 3); "
          "re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = edit_text(&node.sp, 7, AM_NODE_WEBSITE, "https", "ftp", 3);
  invalid("url-scheme", "node-full with website ftp://alumni.example.fr/ (links are http:// "
          "or https://); re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);

  /* Values and rules across fields. */
  b = replace(&event.sp, 7, AM_EV_STATUS, "\x03", 1);
  invalid("enum-out-of-range", "event-full with status 3 (the statuses are 0 scheduled, "
          "1 cancelled, 2 postponed); re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = replace(&event_min.sp, 6, -1, "\x00", 1);
  invalid("event-expires-0", "event-minimal with expires 0: events and jobs must expire; "
          "re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = set_uint(&profile.sp, 6, -1, uint_at(&profile.sp, 5, -1) + 1);
  invalid("profile-expires", "profile-accents with an expiry time (created + 1 s): only "
          "events and jobs expire; re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = set_uint(&event.sp, 6, -1, uint_at(&event.sp, 5, -1));
  invalid("expires-at-created", "event-full with expires equal to created (it must be "
          "later); re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = replace(&event.sp, 4, -1, "\x00", 1);
  invalid("version-0", "event-full with version 0 (versions start at 1); re-signed.",
          resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = replace(&node.sp, 3, -1, "\x01", 1);
  invalid("node-object-nonzero", "node-full with object 1 (a node announcement has object "
          "0); re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = set_uint(&event.sp, 7, AM_EV_ENDS_AT, uint_at(&event.sp, 7, AM_EV_STARTS_AT) - 1);
  invalid("event-ends-before-start", "event-full with ends_at one second before starts_at; "
          "re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = set_uint(&job.sp, 7, AM_JOB_POSTED, 20260230);
  invalid("date-invalid", "job-salary with posted 20260230 (30 February); re-signed.",
          resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);
  b = replace(&ret_profile.sp, 7, AM_RET_KIND, "\x04", 1);
  invalid("retraction-of-retraction", "retraction-profile withdrawing kind 4 (retraction): "
          "a retraction cannot be withdrawn; re-signed.", resign(&b), AM_REJ_MALFORMED);
  am_buf_free(&b);

  /* Signatures. */
  e = copy(event.env.data, event.env.len);
  e.data[e.len - 1] ^= 0x01;
  invalid("signature-bit-flipped", "event-full with the last bit of its signature flipped.", e,
          AM_REJ_BAD_SIGNATURE);
  memcpy(sig, event.env.data + event.env.len - 64, 64);
  b = edit_text(&event.sp, 7, AM_EV_TITLE, "Paris", "Lyon!", 5);
  invalid("body-changed", "event-full with 'Paris' in its title changed to 'Lyon!' (same "
          "length) and the original signature: not re-signed.", wrap(&b, sig, 0),
          AM_REJ_BAD_SIGNATURE);
  am_buf_free(&b);
  sign_with(&test_key, &event.sp, false, sig);
  invalid("signature-without-context", "event-full signed over the signed part alone, "
          "without the \"amicale/announcement/1\" + 00 prefix.", wrap(&event.sp, sig, 0),
          AM_REJ_BAD_SIGNATURE);
  sign_with(&other_key, &event.sp, true, sig);
  invalid("signature-other-key", "event-full signed by another key (seed 1f 1e .. 00) than "
          "its origin.", wrap(&event.sp, sig, 0), AM_REJ_BAD_SIGNATURE);

  /* Time rules: valid bytes, refused at a given clock. */
  invalid_at("expired", "event-full (the same bytes) received at now = its expiry time, "
             "2026-12-11T00:00:00Z (1796947200): an event is refused once expires <= now. "
             "For a receiver that trusts the test key.",
             copy(event.env.data, event.env.len), AM_REJ_EXPIRED, 1796947200);
  invalid_at("from-the-future", "event-full (the same bytes) received at now = created - 901 s "
             "(2026-11-01T07:44:59Z, 1793519099): created may be at most 900 s ahead of the "
             "receiver's clock. For a receiver that trusts the test key.",
             copy(event.env.data, event.env.len), AM_REJ_FUTURE, 1793519099);

  made *all[] = {&node, &profile, &event, &event_min, &job, &ret_profile, &ret_job, &s31,
                 &s32, &s255, &s256, &i127, &i255, &i65535, &i2p32, &imax, &sp255, &sp256};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
    am_buf_free(&all[i]->sp);
    am_buf_free(&all[i]->env);
  }
  am_identity_wipe(&test_key);
  am_identity_wipe(&other_key);
  printf("%d written, %d unchanged, %d problems\n", written, unchanged, failures);
  return failures ? 1 : 0;
}
