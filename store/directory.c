/* Federated profiles, indexed (see directory.h). */
#include "store/directory.h"

#include <stdlib.h>
#include <string.h>

int am_directory_put(am_txn *t, const am_ann *a, int64_t now, am_error *err) {
  (void)t, (void)a, (void)now, (void)err;
  return 0;
}

int am_directory_del(am_txn *t, const am_ann *a, am_error *err) {
  (void)t, (void)a, (void)err;
  return 0;
}

int am_people_search(am_txn *t, const am_people_query *q, am_people *out, am_error *err) {
  (void)t, (void)q;
  memset(out, 0, sizeof *out);
  return am_fail(err, AM_EINTERNAL, "people search: not written yet");
}

int am_people_scan(am_txn *t, const am_people_query *q, am_people *out, am_error *err) {
  return am_people_search(t, q, out, err);
}

void am_people_free(am_people *p) {
  for (size_t i = 0; i < p->n; i++) am_member_free(&p->v[i].m);
  free(p->v);
  memset(p, 0, sizeof *p);
}
