/* Members' own keys and their login codes (docs/PROTOCOL.md section 16,
 * docs/STORE.md "Member keys"). The alumni manager makes a one-time login
 * code for a member (`amicale member invite ID`); the member's CLI redeems
 * it inside the Noise handshake, which registers the member's Ed25519 key;
 * from then on that key opens client sessions with the node until it is
 * revoked or the member is removed.
 *
 *   member_code  id[8] -> mac_key[32] ‖ member u64 ‖ created i64 ‖
 *                expires i64 ‖ used i64 (0: not used)          64 bytes
 *   member_key   key[32] -> member u64 ‖ added i64 ‖ last_used i64 ‖
 *                revoked i64 (0: active)                       32 bytes
 *
 * Integers big-endian, times Unix seconds. Only what is derived from a
 * code's secret is stored (crypto/invite.h: am_login_derive), never the
 * secret. Plain functions on a transaction, like the rest of store/. */
#ifndef AMICALE_STORE_ACCOUNTS_H
#define AMICALE_STORE_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/invite.h"
#include "store/store.h"

#define AM_LOGIN_TTL_DEFAULT (7 * 86400)
#define AM_LOGIN_TTL_MAX (30 * 86400)
#define AM_MKEYS_MAX 16 /* active keys of one member (one per computer) */

typedef struct am_mcode {
  uint8_t id[AM_INVITE_ID_BYTES];
  uint64_t member_id;
  int64_t created, expires, used; /* used: 0 while unused */
} am_mcode;

typedef struct am_mkey {
  uint8_t key[AM_PUBKEY_BYTES];
  uint64_t member_id;
  int64_t added, last_used, revoked; /* revoked: 0 while active */
} am_mkey;

/* A new login code for member_id (which must exist: AM_ENOTFOUND), valid
 * until expires. The member's older codes are deleted (the newest code is
 * the only one that works), and so are everyone's codes that expired or
 * were used. The secret goes to secret_out (the caller wipes it). */
int am_accounts_code_create(am_txn *t, uint64_t member_id, int64_t now, int64_t expires,
                            uint8_t secret_out[static AM_INVITE_SECRET_BYTES], am_mcode *out,
                            am_error *err);

/* Why am_accounts_redeem refused. */
enum am_login_refusal {
  AM_LOGIN_OK = 0,
  AM_LOGIN_UNKNOWN,  /* no login code has this id: maybe a node invitation */
  AM_LOGIN_WRONG,    /* the id is known but the MAC is not right */
  AM_LOGIN_USED,
  AM_LOGIN_EXPIRED,
  AM_LOGIN_GONE,     /* the member was removed meanwhile */
  AM_LOGIN_TOO_MANY, /* the member has AM_MKEYS_MAX active keys */
};

/* Redeems a login proof (crypto/invite.h: id ‖ MAC over h, compared in
 * constant time) and registers key as member's key, in t. 0 with
 * *member_id; otherwise AM_EINVAL (refusal says why, err has a sentence for
 * the member), or a store error. A key already registered to another
 * member is refused (AM_EINVAL, AM_LOGIN_WRONG: never re-bound). */
int am_accounts_redeem(am_txn *t, const uint8_t proof[static AM_INVITE_PROOF_BYTES],
                       const uint8_t h[static AM_INVITE_HASH_BYTES],
                       const uint8_t key[static AM_PUBKEY_BYTES], int64_t now,
                       uint64_t *member_id, int *refusal, am_error *err);

/* Whether a login proof's id names a login code (so that the responder
 * knows which table an invitation proof belongs to). */
bool am_accounts_is_login(am_txn *t, const uint8_t proof[static AM_INVITE_PROOF_BYTES]);

/* A key's record: 0, AM_ENOTFOUND, AM_ECORRUPT. */
int am_accounts_key_get(am_txn *t, const uint8_t key[static AM_PUBKEY_BYTES], am_mkey *out);
/* Records that key was used at now (a session opened). */
int am_accounts_key_touch(am_txn *t, const uint8_t key[static AM_PUBKEY_BYTES], int64_t now,
                          am_error *err);

/* Calls cb for each key of member_id (each key of all members when
 * member_id is 0), in key order. cb's non-zero return stops and is
 * returned. */
int am_accounts_keys_each(am_txn *t, uint64_t member_id, int (*cb)(const am_mkey *k, void *arg),
                          void *arg, am_error *err);
/* The member's pending login code, if any (0 or AM_ENOTFOUND). */
int am_accounts_code_of(am_txn *t, uint64_t member_id, int64_t now, am_mcode *out);

/* Revokes key (or every active key of the member when key is NULL); a
 * revoked key is kept so that the node can tell its holder why it is
 * refused. *count: keys newly revoked. AM_ENOTFOUND when key is not one of
 * member_id's keys. The member's pending codes are deleted too. */
int am_accounts_revoke(am_txn *t, uint64_t member_id, const uint8_t *key, int64_t now,
                       size_t *count, am_error *err);

/* The member is being removed or erased: deletes all their keys and codes,
 * in the caller's transaction (call it from the same transaction as the
 * removal of the record). */
int am_accounts_forget_member(am_txn *t, uint64_t member_id, am_error *err);

#endif
