/* The catalog: what this node holds from the federation, indexed for
 * queries at ingest time so that no query scans the store. Profiles go to
 * the directory (store/directory.h: federated people, searchable like
 * members), events and jobs to the listings (store/listings.h). Every
 * change to the announcement tables (store/announcements.c) calls
 * am_catalog_put / am_catalog_del in the same transaction, so the catalog
 * is never out of step with what is held. */
#ifndef AMICALE_STORE_CATALOG_H
#define AMICALE_STORE_CATALOG_H

#include "proto/announce.h"
#include "store/store.h"

/* a was just stored (a->id set). Kinds without a catalog are ignored. */
int am_catalog_put(am_txn *t, const am_ann *a, int64_t now, am_error *err);
/* a (as held until now) is being deleted: replaced, retracted, expired or
 * forgotten. */
int am_catalog_del(am_txn *t, const am_ann *a, am_error *err);
/* Builds the catalog from the announcements already held (store format 5
 * upgrade). */
int am_catalog_rebuild(am_txn *t, am_error *err);

#endif
