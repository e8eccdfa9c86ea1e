/* Events and jobs, indexed (see listings.h). */
#include "store/listings.h"

#include <stdlib.h>
#include <string.h>

int am_listings_put(am_txn *t, const am_ann *a, am_error *err) {
  (void)t, (void)a, (void)err;
  return 0;
}

int am_listings_del(am_txn *t, const am_ann *a, am_error *err) {
  (void)t, (void)a, (void)err;
  return 0;
}

int am_listings_search(am_txn *t, const am_listing_query *q, am_listings *out, am_error *err) {
  (void)t, (void)q;
  memset(out, 0, sizeof *out);
  return am_fail(err, AM_EINTERNAL, "listings search: not written yet");
}

int am_listings_scan(am_txn *t, const am_listing_query *q, am_listings *out, am_error *err) {
  return am_listings_search(t, q, out, err);
}

void am_listings_free(am_listings *l) {
  for (size_t i = 0; i < l->n; i++) am_ann_free(&l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}
