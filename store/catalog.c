/* Dispatch of held announcements to the directory and the listings. */
#include "store/catalog.h"

#include "store/announcements.h"
#include "store/directory.h"
#include "store/listings.h"

int am_catalog_put(am_txn *t, const am_ann *a, int64_t now, am_error *err) {
  switch (a->kind) {
  case AM_K_PROFILE: return am_directory_put(t, a, now, err);
  case AM_K_EVENT:
  case AM_K_JOB: return am_listings_put(t, a, err);
  default: return 0;
  }
}

int am_catalog_del(am_txn *t, const am_ann *a, am_error *err) {
  switch (a->kind) {
  case AM_K_PROFILE: return am_directory_del(t, a, err);
  case AM_K_EVENT:
  case AM_K_JOB: return am_listings_del(t, a, err);
  default: return 0;
  }
}

typedef struct rebuild {
  int64_t now;
  am_error *err;
  int rc;
} rebuild;

static int rebuild_one(am_txn *t, const uint8_t *id, const uint8_t *env, size_t len, void *arg) {
  (void)env, (void)len;
  rebuild *r = arg;
  am_ann a;
  if ((r->rc = am_ann_load(t, id, &a, r->err))) return 1;
  r->rc = am_catalog_put(t, &a, r->now, r->err);
  am_ann_free(&a);
  return r->rc ? 1 : 0;
}

int am_catalog_rebuild(am_txn *t, am_error *err) {
  rebuild r = {.now = 0, .err = err};
  int kinds[] = {AM_K_PROFILE, AM_K_EVENT, AM_K_JOB};
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
    int rc = am_ann_each_kind(t, kinds[i], rebuild_one, &r);
    if (r.rc) return r.rc;
    if (rc < 0) return rc;
  }
  return 0;
}
