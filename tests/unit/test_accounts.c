/* store/accounts.c: members' login codes and keys. A code is redeemed
 * once, before it expires, only with a proof made from its secret over the
 * same handshake hash (a wrong MAC, a node invitation's proof, another
 * hash: refused); a new code replaces the member's older one; a code for a
 * member who does not exist is not made; revoking one key or all of them;
 * forgetting a member deletes their keys and codes; a key is never bound to
 * a second member; damaged records are reported, not read. Clocks are
 * parameters: nothing sleeps. */
#include "store/accounts.h"

#include <sys/stat.h>
#include <unistd.h>

#include "crypto/invite.h"
#include "store/members.h"
#include "tests/test.h"
#include "tests/unit/fixtures.h"

#define NOW INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define DAY INT64_C(86400)

static am_error err;

typedef struct op {
  int kind;
  uint64_t member;
  int64_t now, expires;
  uint8_t secret[16], proof[40], h[64], key[32];
  const uint8_t *keyp;
  am_mcode code;
  am_mkey mkey;
  int refusal;
  size_t count;
  const char *name;
} op;

enum { ADD, CODE, REDEEM, KEYGET, REVOKE, FORGET, COUNT, CODEOF, TOUCH };

static int count_cb(const am_mkey *k, void *arg) {
  (void)k;
  ((op *)arg)->count++;
  return 0;
}

static int op_fn(am_txn *t, void *arg) {
  op *o = arg;
  switch (o->kind) {
  case ADD: {
    am_member m;
    am_member_init(&m);
    am_member_set(&m, AM_F_GIVEN_NAME, o->name, strlen(o->name), &err);
    am_member_set(&m, AM_F_FAMILY_NAME, "Test", 4, &err);
    int rc = am_members_put(t, &m, 0, &err);
    o->member = m.id;
    am_member_free(&m);
    return rc;
  }
  case CODE:
    return am_accounts_code_create(t, o->member, o->now, o->expires, o->secret, &o->code, &err);
  case REDEEM:
    return am_accounts_redeem(t, o->proof, o->h, o->key, o->now, &o->member, &o->refusal, &err);
  case KEYGET: return am_accounts_key_get(t, o->key, &o->mkey);
  case REVOKE: return am_accounts_revoke(t, o->member, o->keyp, o->now, &o->count, &err);
  case FORGET: return am_accounts_forget_member(t, o->member, &err);
  case COUNT: o->count = 0; return am_accounts_keys_each(t, o->member, count_cb, o, &err);
  case CODEOF: return am_accounts_code_of(t, o->member, o->now, &o->code);
  case TOUCH: return am_accounts_key_touch(t, o->key, o->now, &err);
  }
  return AM_EINTERNAL;
}

static int run(am_store *s, op *o, bool write) {
  memset(&err, 0, sizeof err);
  return write ? am_store_write(s, op_fn, o, &err) : am_store_read(s, op_fn, o, &err);
}

static uint64_t add_member(am_store *s, const char *name) {
  op o = {.kind = ADD, .name = name};
  CHECK_INT(run(s, &o, true), 0);
  return o.member;
}

static void fill(uint8_t *p, size_t n, int v) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(v + i);
}

/* Redeems a proof made from secret over h (as the member's CLI does). */
static int redeem(am_store *s, const uint8_t secret[16], int hv, int keyv, int64_t now, op *o) {
  memset(o, 0, sizeof *o);
  o->kind = REDEEM;
  o->now = now;
  fill(o->h, 64, hv);
  fill(o->key, 32, keyv);
  am_login_proof(secret, o->h, o->proof);
  return run(s, o, true);
}

static void test_code_once(void) {
  am_store *s = fx_store_fresh(NULL, NULL);
  REQUIRE(s);
  uint64_t id = add_member(s, "Ada");
  op c = {.kind = CODE, .member = id, .now = NOW, .expires = NOW + 7 * DAY};
  CHECK_INT(run(s, &c, true), 0);
  CHECK_INT(c.code.member_id, id);
  CHECK_INT(c.code.used, 0);
  op r;
  CHECK_INT(redeem(s, c.secret, 1, 50, NOW + 10, &r), 0);
  CHECK_INT(r.member, id);
  CHECK_INT(r.refusal, AM_LOGIN_OK);
  op k = {.kind = KEYGET};
  fill(k.key, 32, 50);
  CHECK_INT(run(s, &k, false), 0);
  CHECK_INT(k.mkey.member_id, id);
  CHECK_INT(k.mkey.added, NOW + 10);
  CHECK_INT(k.mkey.revoked, 0);
  /* Once only, even with another key and another handshake. */
  CHECK_INT(redeem(s, c.secret, 2, 51, NOW + 20, &r), AM_EINVAL);
  CHECK_INT(r.refusal, AM_LOGIN_USED);
  CHECK(strstr(err.msg, "used already") != NULL);
  fill(k.key, 32, 51);
  CHECK_INT(run(s, &k, false), AM_ENOTFOUND);
  /* No pending code any more. */
  op co = {.kind = CODEOF, .member = id, .now = NOW + 30};
  CHECK_INT(run(s, &co, false), AM_ENOTFOUND);
  /* last used */
  op tch = {.kind = TOUCH, .now = NOW + 99};
  fill(tch.key, 32, 50);
  CHECK_INT(run(s, &tch, true), 0);
  fill(k.key, 32, 50);
  CHECK_INT(run(s, &k, false), 0);
  CHECK_INT(k.mkey.last_used, NOW + 99);
  am_store_close(s);
}

static void test_refusals(void) {
  am_store *s = fx_store_fresh(NULL, NULL);
  REQUIRE(s);
  uint64_t id = add_member(s, "Grace");
  op c = {.kind = CODE, .member = id, .now = NOW, .expires = NOW + DAY};
  CHECK_INT(run(s, &c, true), 0);
  op r;
  /* Expired: at its expiry time, not a second before. */
  CHECK_INT(redeem(s, c.secret, 1, 60, NOW + DAY, &r), AM_EINVAL);
  CHECK_INT(r.refusal, AM_LOGIN_EXPIRED);
  CHECK(strstr(err.msg, "expired") != NULL);
  /* A wrong MAC: the id is right, the tag is not (one bit flipped). */
  memset(&r, 0, sizeof r);
  r.kind = REDEEM, r.now = NOW;
  fill(r.h, 64, 1), fill(r.key, 32, 60);
  am_login_proof(c.secret, r.h, r.proof);
  r.proof[39] ^= 1;
  CHECK_INT(run(s, &r, true), AM_EINVAL);
  CHECK_INT(r.refusal, AM_LOGIN_WRONG);
  /* A proof over another handshake hash (a replay). */
  am_login_proof(c.secret, r.h, r.proof);
  r.h[0] ^= 1;
  CHECK_INT(run(s, &r, true), AM_EINVAL);
  CHECK_INT(r.refusal, AM_LOGIN_WRONG);
  /* A node invitation's proof from the same secret: another id. */
  fill(r.h, 64, 1);
  am_invite_proof(c.secret, r.h, r.proof);
  CHECK_INT(run(s, &r, true), AM_EINVAL);
  CHECK_INT(r.refusal, AM_LOGIN_UNKNOWN);
  /* None of these used the code up. */
  CHECK_INT(redeem(s, c.secret, 3, 60, NOW + 5, &r), 0);
  /* A key already registered is never bound to someone else. */
  uint64_t id2 = add_member(s, "Linus");
  op c2 = {.kind = CODE, .member = id2, .now = NOW, .expires = NOW + DAY};
  CHECK_INT(run(s, &c2, true), 0);
  CHECK_INT(redeem(s, c2.secret, 4, 60, NOW + 5, &r), AM_EINVAL);
  CHECK_INT(r.refusal, AM_LOGIN_WRONG);
  /* No code for a member who does not exist. */
  op bad = {.kind = CODE, .member = 999, .now = NOW, .expires = NOW + DAY};
  CHECK_INT(run(s, &bad, true), AM_ENOTFOUND);
  am_store_close(s);
}

static void test_new_code_replaces(void) {
  am_store *s = fx_store_fresh(NULL, NULL);
  REQUIRE(s);
  uint64_t id = add_member(s, "Barbara");
  op c1 = {.kind = CODE, .member = id, .now = NOW, .expires = NOW + DAY};
  CHECK_INT(run(s, &c1, true), 0);
  op c2 = {.kind = CODE, .member = id, .now = NOW + 1, .expires = NOW + DAY};
  CHECK_INT(run(s, &c2, true), 0);
  CHECK(memcmp(c1.code.id, c2.code.id, 8) != 0);
  op co = {.kind = CODEOF, .member = id, .now = NOW + 2};
  CHECK_INT(run(s, &co, false), 0);
  CHECK(memcmp(co.code.id, c2.code.id, 8) == 0);
  op r;
  CHECK_INT(redeem(s, c1.secret, 1, 70, NOW + 2, &r), AM_EINVAL);
  CHECK_INT(r.refusal, AM_LOGIN_UNKNOWN);
  CHECK_INT(redeem(s, c2.secret, 1, 70, NOW + 2, &r), 0);
  am_store_close(s);
}

static void test_revoke_and_forget(void) {
  am_store *s = fx_store_fresh(NULL, NULL);
  REQUIRE(s);
  uint64_t id = add_member(s, "Edsger"), other = add_member(s, "Tony");
  op r;
  for (int i = 0; i < 3; i++) {
    op c = {.kind = CODE, .member = id, .now = NOW, .expires = NOW + DAY};
    CHECK_INT(run(s, &c, true), 0);
    CHECK_INT(redeem(s, c.secret, i, 80 + i, NOW + 1, &r), 0);
  }
  op c = {.kind = CODE, .member = other, .now = NOW, .expires = NOW + DAY};
  CHECK_INT(run(s, &c, true), 0);
  CHECK_INT(redeem(s, c.secret, 9, 90, NOW + 1, &r), 0);
  op n = {.kind = COUNT, .member = id};
  CHECK_INT(run(s, &n, false), 0);
  CHECK_INT(n.count, 3);
  /* One key. */
  uint8_t k81[32];
  fill(k81, 32, 81);
  op rv = {.kind = REVOKE, .member = id, .keyp = k81, .now = NOW + 2};
  CHECK_INT(run(s, &rv, true), 0);
  CHECK_INT(rv.count, 1);
  op k = {.kind = KEYGET};
  memcpy(k.key, k81, 32);
  CHECK_INT(run(s, &k, false), 0);
  CHECK_INT(k.mkey.revoked, NOW + 2);
  /* Another member's key is not this member's to revoke. */
  uint8_t k90[32];
  fill(k90, 32, 90);
  rv = (op){.kind = REVOKE, .member = id, .keyp = k90, .now = NOW + 2};
  CHECK_INT(run(s, &rv, true), AM_ENOTFOUND);
  /* All the others (the revoked one is not counted twice). */
  rv = (op){.kind = REVOKE, .member = id, .now = NOW + 3};
  CHECK_INT(run(s, &rv, true), 0);
  CHECK_INT(rv.count, 2);
  fill(k.key, 32, 80);
  CHECK_INT(run(s, &k, false), 0);
  CHECK_INT(k.mkey.revoked, NOW + 3);
  /* A pending code is gone with a revocation too. */
  op pc = {.kind = CODE, .member = id, .now = NOW, .expires = NOW + DAY};
  CHECK_INT(run(s, &pc, true), 0);
  rv = (op){.kind = REVOKE, .member = id, .now = NOW + 4};
  CHECK_INT(run(s, &rv, true), 0);
  CHECK_INT(redeem(s, pc.secret, 5, 85, NOW + 5, &r), AM_EINVAL);
  /* Forgetting: keys and codes of that member only. */
  pc = (op){.kind = CODE, .member = id, .now = NOW, .expires = NOW + DAY};
  CHECK_INT(run(s, &pc, true), 0);
  op f = {.kind = FORGET, .member = id};
  CHECK_INT(run(s, &f, true), 0);
  n = (op){.kind = COUNT, .member = id};
  CHECK_INT(run(s, &n, false), 0);
  CHECK_INT(n.count, 0);
  op co = {.kind = CODEOF, .member = id, .now = NOW + 1};
  CHECK_INT(run(s, &co, false), AM_ENOTFOUND);
  n = (op){.kind = COUNT, .member = other};
  CHECK_INT(run(s, &n, false), 0);
  CHECK_INT(n.count, 1);
  am_store_close(s);
}

static void test_damaged(void) {
  am_store *s = fx_store_fresh(NULL, NULL);
  REQUIRE(s);
  uint8_t key[32];
  fill(key, 32, 7);
  CHECK_INT(fx_put_raw(s, AM_DB_MKEY, key, 32, "bad", 3), 0);
  op k = {.kind = KEYGET};
  fill(k.key, 32, 7);
  CHECK_INT(run(s, &k, false), AM_ECORRUPT);
  op n = {.kind = COUNT};
  CHECK_INT(run(s, &n, false), AM_ECORRUPT);
  CHECK(strstr(err.msg, "damaged") != NULL);
  am_store_close(s);
}

int main(void) {
  if (!fx_scratch("accounts")) return 1;
  RUN(test_code_once);
  RUN(test_refusals);
  RUN(test_new_code_replaces);
  RUN(test_revoke_and_forget);
  RUN(test_damaged);
  fx_scratch_remove();
  return TEST_SUMMARY();
}
