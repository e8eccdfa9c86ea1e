/* The member table and its indexes. Every change keeps the record, the
 * email table and the search index consistent inside the caller's
 * transaction.
 *
 * Index keys (sub-database "index", values are member ids):
 *   'n' folded "family given"   name order, for listing and sorting
 *   'y' u16 year                graduation year (range scans)
 *   'm'                         available for mentoring
 *   'x' field folded-value      exact value of programme, employer, sector,
 *                               city, country, each skill and language
 *   'w' word                    each word of names, employer, job title, bio
 *   't' word                    each word of the job title (--job-title)
 *   'c' u64 time                created (members), first seen (directory
 *                               rows): "new since"
 *   'l'                         consents to be listed (members only)
 *   'o' origin key[32]          the institution (directory rows only)
 * Terms are capped at AM_IDX_KEY_MAX bytes (cut at a character boundary).
 * The directory of federated profiles (store/directory.h) has an index of
 * its own, "dir_index", with the same terms: the term set and the index
 * writer below serve both.
 */
#ifndef AMICALE_STORE_MEMBERS_H
#define AMICALE_STORE_MEMBERS_H

#include "proto/member.h"
#include "store/store.h"

enum { AM_IDX_NAME = 'n', AM_IDX_YEAR = 'y', AM_IDX_MENTOR = 'm',
       AM_IDX_EXACT = 'x', AM_IDX_WORD = 'w', AM_IDX_TITLE = 't',
       AM_IDX_CREATED = 'c', AM_IDX_LISTED = 'l', AM_IDX_ORIGIN = 'o' };
#define AM_IDX_KEY_MAX 480

enum { AM_PUT_CREATE = 1 }; /* create member m->id if it does not exist */

/* Adds m when m->id is 0 (assigns id, created and updated) or replaces the
 * member m->id (keeps created, sets updated). AM_EEXIST when one of its
 * addresses belongs to another member, AM_ENOTFOUND when replacing an id
 * that does not exist (unless AM_PUT_CREATE), AM_EINVAL when the record
 * breaks a rule. A refused change writes nothing. */
int am_members_put(am_txn *t, am_member *m, int flags, am_error *err);

int am_members_get(am_txn *t, uint64_t id, am_member *out, am_error *err);
int am_members_remove(am_txn *t, uint64_t id, am_error *err);

/* The member owning an address (normalised as stored); AM_ENOTFOUND. */
int am_members_by_email(am_txn *t, const char *email, uint64_t *id);

int am_members_count(am_txn *t, size_t *n);

/* Calls cb for each member in id order; stops when cb returns non-zero. */
int am_members_each(am_txn *t, int (*cb)(am_member *m, void *arg), void *arg,
                    am_error *err);

/* Index helpers shared with store/search.c: the folded key of an exact
 * field value, and of a name for ordering. */
int am_index_key_exact(int field, const char *value, am_buf *key);
int am_index_key_name(const am_member *m, am_buf *key);

/* The index terms of one record (tag byte then term), gathered, then
 * sorted and made unique by am_terms_finish. */
typedef struct am_terms {
  am_buf data;
  struct am_term { uint32_t off, len; } *v;
  size_t n, cap;
} am_terms;
int am_terms_add(am_terms *ts, char tag, const void *p, size_t len);
/* The terms every record has, members and directory rows alike: name,
 * year, mentoring, exact values, words, job title words. */
int am_terms_of_record(const am_member *m, am_terms *ts);
void am_terms_finish(am_terms *ts);
void am_terms_free(am_terms *ts);
/* Applies the difference between two finished term sets of record id to
 * the index which (AM_DB_INDEX or AM_DB_DIR_INDEX); old or neu may be NULL
 * (a new record, a removed one). Additions are written at commit, grouped
 * per term (see members.c). */
int am_index_update(am_txn *t, int which, uint64_t id, const am_terms *old,
                    const am_terms *neu, am_error *err);
/* Rebuilds the member index from the member table (store format 5 added
 * terms). */
int am_members_reindex(am_txn *t, am_error *err);
/* Registers directory references to check at commit (store/directory.c:
 * a profile deleted and not put back in the same transaction). */
int am_txn_defer_ref(am_txn *t, const uint8_t *key, size_t len);

#endif
