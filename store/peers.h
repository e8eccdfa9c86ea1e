/* The nodes this node exchanges with (table `peer`) and the invitations it
 * has handed out (table `invite`). Both are read by the daemon, amicaled,
 * which connects to peers, keeps their statistics up to date
 * (am_peer_stats_add, every few seconds and on disconnect, all peers in
 * one write transaction) and redeems invitations (am_invite_redeem, then
 * am_peer_put and am_trust_add, in one transaction). Every function works
 * in the caller's transaction; none commits.
 *
 *   peer    key[32] -> msgpack array, version 1:
 *             [1, address, name, added, blocked, via, last_seen,
 *              last_connected, last_error, last_error_at, bytes_in,
 *              bytes_out, ann_in, ann_out, connects]
 *           address: str, "HOST:PORT" (proto/address.h) or "" when unknown
 *           (a peer that only connects to this node); name: str, at most
 *           200 bytes, may be empty; blocked: bool; via: uint (enum
 *           am_peer_via); last_error: str, at most 200 bytes; times: uint
 *           Unix seconds, 0 for never; counters: uint. Later versions may
 *           only append elements (a reader ignores those it does not know).
 *   invite  id[8] -> msgpack array [mac_key (bin 32), created, expires,
 *             uses_left, uses_total, last_used]: the invitation's MAC key
 *           (crypto/invite.h; the secret itself is never stored), Unix
 *           seconds, and the uses it has left. A used-up or expired
 *           invitation is kept (`invite list` says so) and pruned 30 days
 *           later, when the next one is created; a revoked one is deleted.
 *
 * Decoding checks every length and type before copying: a damaged record
 * is AM_ECORRUPT with a sentence, never a crash. */
#ifndef AMICALE_STORE_PEERS_H
#define AMICALE_STORE_PEERS_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/identity.h"
#include "crypto/invite.h"
#include "proto/address.h"
#include "store/store.h"

#define AM_PEER_NAME_MAX 200
#define AM_PEER_ERROR_MAX 200

/* How a peer came to be known. */
enum am_peer_via {
  AM_PEER_VIA_HAND = 0,     /* amicale peer add (or peer block) */
  AM_PEER_VIA_INVITED = 1,  /* it redeemed one of this node's invitations */
  AM_PEER_VIA_ACCEPTED = 2, /* this node accepted its invitation code */
  AM_PEER_VIA__COUNT
};

/* What the daemon counts. In am_peer_stats_add, the counters are added
 * (saturating) and a non-zero time replaces an older one. */
typedef struct am_peer_stats {
  int64_t last_seen;        /* the last time anything came from it (0: never) */
  int64_t last_connected;   /* the last completed handshake (0: never) */
  uint64_t bytes_in, bytes_out; /* on the wire, every connection together */
  uint64_t ann_in, ann_out;     /* announcements received from it, sent to it */
  uint64_t connects;            /* completed handshakes */
} am_peer_stats;

typedef struct am_peer {
  uint8_t key[AM_PUBKEY_BYTES];
  char address[AM_ADDR_TEXT_MAX + 1]; /* "HOST:PORT", or "" when unknown */
  char name[AM_PEER_NAME_MAX + 1];    /* may be empty */
  int64_t added;
  bool blocked;                       /* the daemon neither connects to it nor
                                         accepts its connections */
  uint8_t via;                        /* enum am_peer_via */
  am_peer_stats stats;
  char last_error[AM_PEER_ERROR_MAX + 1]; /* "" when none */
  int64_t last_error_at;
} am_peer;

/* Reading. AM_ENOTFOUND when there is no such peer, AM_ECORRUPT when its
 * record does not decode. */
int am_peer_get(am_txn *t, const uint8_t key[static AM_PUBKEY_BYTES], am_peer *out);
/* Peers in key order; stops when cb returns non-zero and returns that. */
int am_peer_each(am_txn *t, int (*cb)(const am_peer *p, void *arg), void *arg,
                 am_error *err);
/* Every peer in a malloc'd array (*v NULL when there are none). */
int am_peer_list(am_txn *t, am_peer **v, size_t *n, am_error *err);
/* The peer named by its key (text form) or, when that is not a key, by its
 * name: exact, else ignoring case and accents. AM_ENOTFOUND, or AM_EINVAL
 * when several peers have that name (err lists their keys). */
int am_peer_find(am_txn *t, const char *key_or_name, am_peer *out, am_error *err);
/* True when key is a blocked peer. */
bool am_peer_is_blocked(am_txn *t, const uint8_t key[static AM_PUBKEY_BYTES]);

/* Writes the whole record (creating or replacing it; *existed, which may
 * be NULL, says which). AM_EINVAL when a field is out of bounds or the
 * address does not parse (err says which). */
int am_peer_put(am_txn *t, const am_peer *p, bool *existed, am_error *err);
/* AM_ENOTFOUND when there is no such peer. */
int am_peer_remove(am_txn *t, const uint8_t key[static AM_PUBKEY_BYTES], am_error *err);
/* Blocks or unblocks. Blocking an unknown key records it (no address, no
 * name, added now); unblocking one is AM_ENOTFOUND. *changed (may be NULL)
 * is false when it was already so. */
int am_peer_set_blocked(am_txn *t, const uint8_t key[static AM_PUBKEY_BYTES], bool blocked,
                        int64_t now, bool *changed, am_error *err);
/* Adds delta's counters and takes its newer times (delta may be NULL).
 * last_error: NULL leaves the last error as it is; "" clears it; other
 * text (cut to AM_PEER_ERROR_MAX bytes at a character boundary, control
 * characters replaced by spaces) becomes the last error, at time now.
 * AM_ENOTFOUND when the peer is not in the table (it was removed while
 * connected): nothing is written and the transaction stays usable. */
int am_peer_stats_add(am_txn *t, const uint8_t key[static AM_PUBKEY_BYTES],
                      const am_peer_stats *delta, const char *last_error, int64_t now,
                      am_error *err);

/* ---- invitations -------------------------------------------------------- */

#define AM_INVITE_USES_MAX 1000
#define AM_INVITE_TTL_MAX (INT64_C(365) * 86400) /* the longest validity */
#define AM_INVITE_KEEP (INT64_C(30) * 86400)     /* a spent one is listed this long */

enum am_invite_state { AM_INVITE_ACTIVE, AM_INVITE_EXPIRED, AM_INVITE_USED };

/* Why am_invite_redeem refused (0: it did not). */
enum am_invite_refusal {
  AM_INVITE_OK = 0,
  AM_INVITE_REFUSED_UNKNOWN,  /* no such id, or a wrong MAC: "invitation not recognised" */
  AM_INVITE_REFUSED_EXPIRED,  /* "invitation expired on ..." */
  AM_INVITE_REFUSED_USED_UP,  /* "invitation already used" */
};

typedef struct am_invite {
  uint8_t id[AM_INVITE_ID_BYTES];
  int64_t created, expires; /* valid while now < expires */
  int64_t last_used;        /* 0: never */
  uint32_t uses_left, uses_total;
} am_invite;

/* ACTIVE, EXPIRED (now >= expires) or USED (no use left; said first). */
int am_invite_state(const am_invite *inv, int64_t now);

/* Creates an invitation valid until expires_at for uses redemptions: a
 * fresh secret (secret_out: wipe it once the code is written), its id and
 * MAC key stored. Prunes invitations spent or expired AM_INVITE_KEEP ago.
 * AM_EUSAGE when uses is not 1..AM_INVITE_USES_MAX or expires_at is not
 * in (now, now + AM_INVITE_TTL_MAX]. */
int am_invite_create(am_txn *t, int64_t now, int64_t expires_at, uint32_t uses,
                     uint8_t secret_out[static AM_INVITE_SECRET_BYTES], am_invite *out,
                     am_error *err);
int am_invite_get(am_txn *t, const uint8_t id[static AM_INVITE_ID_BYTES],
                  am_invite *out); /* AM_ENOTFOUND, AM_ECORRUPT */
/* Invitations in id order; stops when cb returns non-zero and returns it. */
int am_invite_each(am_txn *t, int (*cb)(const am_invite *inv, void *arg), void *arg,
                   am_error *err);
/* The id of the invitation whose hex id starts with hex (4 to 16 hex
 * digits, any case): AM_ENOTFOUND, or AM_EINVAL when not hex or
 * ambiguous. Only ids are compared, so a damaged record can be found (and
 * revoked). */
int am_invite_find(am_txn *t, const char *hex, uint8_t id[static AM_INVITE_ID_BYTES],
                   am_error *err);
/* Deletes it: its code stops working. AM_ENOTFOUND. */
int am_invite_revoke(am_txn *t, const uint8_t id[static AM_INVITE_ID_BYTES], am_error *err);
/* Deletes invitations used up or expired at least AM_INVITE_KEEP before
 * now; *pruned (may be NULL) counts them. */
int am_invite_prune(am_txn *t, int64_t now, uint64_t *pruned, am_error *err);

/* Checks the proof an accepting node sent in the handshake whose hash is
 * h (crypto/invite.h: id || MAC) and uses the invitation once: uses_left
 * decremented, last_used set to now. *out gets the invitation as it is
 * now. Refusals write nothing, return AM_EINVAL with a message, and set
 * *refusal (may be NULL) to say which: AM_INVITE_REFUSED_UNKNOWN (no such id, or
 * a wrong MAC, compared in constant time), AM_INVITE_REFUSED_EXPIRED,
 * AM_INVITE_REFUSED_USED_UP. Other codes are store failures (*refusal is then
 * AM_INVITE_OK, as after a success). */
int am_invite_redeem(am_txn *t, const uint8_t proof[static AM_INVITE_PROOF_BYTES],
                     const uint8_t h[static AM_INVITE_HASH_BYTES], int64_t now,
                     am_invite *out, int *refusal, am_error *err);

/* "2026-01-08 12:00 UTC" (the form messages use); out needs 24 bytes. */
void am_time_short(int64_t t, char out[static 24]);

#endif
