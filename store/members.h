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
 */
#ifndef AMICALE_STORE_MEMBERS_H
#define AMICALE_STORE_MEMBERS_H

#include "proto/member.h"
#include "store/store.h"

enum { AM_IDX_NAME = 'n', AM_IDX_YEAR = 'y', AM_IDX_MENTOR = 'm',
       AM_IDX_EXACT = 'x', AM_IDX_WORD = 'w' };
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

#endif
