/* What the unit tests share (linked into every test binary as
 * amicale_fixtures): scratch stores under one directory in /tmp, the trust
 * list, expiry, raw writes that damage a record, the format-4 store of an older
 * release, and announcements built field by field with the sample event
 * and job offer that test_announce and test_ics both use.
 *
 * Nothing here counts a check (tests/test.h keeps its counters per test
 * binary): every helper returns what went wrong, for the test to CHECK or
 * REQUIRE, and says why on stderr where the caller could not. */
#ifndef AMICALE_TESTS_FIXTURES_H
#define AMICALE_TESTS_FIXTURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/announce.h"
#include "store/store.h"

/* ---- a scratch directory for the stores of one test binary ---- */

/* Makes /tmp/amicale-test-<name>-XXXXXX, under which fx_store_fresh puts
 * its stores; returns its path (NULL on failure). */
const char *fx_scratch(const char *name);
/* Its path ("" before fx_scratch). */
const char *fx_scratch_dir(void);
/* Removes it and everything in it; -1, said on stderr, if that failed. */
int fx_scratch_remove(void);

/* ---- stores ---- */

/* Opens the store of dir (made when create), with signer (if not NULL) as
 * the key it signs this node's announcements with; NULL, said on stderr,
 * on failure. */
am_store *fx_store_open(const char *dir, bool create, const am_identity *signer);
/* A new store in a directory of its own under the scratch directory
 * (node1, node2...); dir_out (if not NULL, 256 bytes) gets its path. */
am_store *fx_store_fresh(const am_identity *signer, char *dir_out);

/* Trusts key under name, added at added, in a write transaction of its
 * own; *existed (if not NULL) says whether the key was trusted already.
 * Returns am_trust_add's verdict; err (if not NULL) is cleared first. */
int fx_trust(am_store *s, const uint8_t key[32], const char *name, int64_t added, bool *existed,
             am_error *err);
/* No longer trusts key; *deleted (if not NULL) gets how many of its
 * announcements went with it. */
int fx_untrust(am_store *s, const uint8_t key[32], uint64_t *deleted, am_error *err);

/* Deletes the announcements expired at now (am_ann_prune) in a write
 * transaction of its own; *pruned gets how many. */
int fx_prune(am_store *s, int64_t now, uint64_t *pruned, am_error *err);

/* Writes v as the value of k in table db (enum am_db), as damage would. */
int fx_put_raw(am_store *s, int db, const void *k, size_t klen, const void *v, size_t vlen);

/* Turns the closed store of dir back into what release 4 wrote: none of
 * the format-5 tables, format 4 in meta. more (if not NULL) runs in the
 * same transaction before the format is written, to take out more.
 * Returns 0, or -1 said on stderr. */
int fx_store_to_format4(const char *dir, int (*more)(MDB_txn *txn, void *arg), void *arg);

/* ---- announcements field by field ---- */

/* 2026-01-01T00:00:00Z: when the sample announcements were made. */
#define FX_T0 UINT64_C(1767225600)

/* A text field (a copy of s), a number, a list of the strings given
 * (NULL-terminated: none makes an empty list), a field unset again. */
void fx_ann_text(am_ann *a, uint32_t f, const char *s);
void fx_ann_uint(am_ann *a, uint32_t f, uint64_t u);
void fx_ann_list(am_ann *a, uint32_t f, ...);
void fx_ann_unset(am_ann *a, uint32_t f);

/* The sample event: every field set, postponed (object 7, version 11). */
void fx_sample_event(am_ann *a);
/* The sample job offer: every field set (object 9, version 12). */
void fx_sample_job(am_ann *a);

#endif
