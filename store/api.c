/* Queries and members' self-service as JSON (see api.h). */
#include "store/api.h"

#include <string.h>

static const struct method {
  const char *name;
  bool writes, members, self;
} methods[] = {
    {"search", false, true, false},    {"mentors", false, true, false},
    {"events", false, true, false},    {"jobs", false, true, false},
    {"digest", false, true, false},    {"me.show", false, true, true},
    {"me.edit", true, true, true},     {"me.consent", true, true, true},
    {"me.visibility", true, true, true}, {"me.export", false, true, true},
    {"me.erase", true, true, true},
};

static const struct method *find(const char *name) {
  for (size_t i = 0; i < sizeof methods / sizeof *methods; i++)
    if (!strcmp(methods[i].name, name)) return &methods[i];
  return NULL;
}

bool am_api_known(const char *method) { return find(method) != NULL; }
bool am_api_writes(const char *method) {
  const struct method *m = find(method);
  return m && m->writes;
}
bool am_api_for_members(const char *method) {
  const struct method *m = find(method);
  return m && m->members;
}

int am_api_call(am_txn *t, const am_caller *c, const char *method, const json_t *params,
                int64_t now, json_t **result, am_error *err) {
  (void)t, (void)c, (void)params, (void)now;
  *result = NULL;
  if (!find(method)) return am_fail(err, AM_EUSAGE, "unknown request '%.40s'", method);
  return am_fail(err, AM_EINTERNAL, "%s: not written yet", method);
}
