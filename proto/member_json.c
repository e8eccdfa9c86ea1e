/* JSON form of a member record (see member_json.h). */
#include "proto/member_json.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Times outside years 0000-9999 (only a damaged record holds them) are
 * clamped, so the output always has this exact shape. */
#define TIME_MIN INT64_C(-62167219200) /* 0000-01-01T00:00:00Z */
#define TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

void am_time_format(int64_t t, char out[static 21]) {
  time_t tt = (time_t)(t < TIME_MIN ? TIME_MIN : t > TIME_MAX ? TIME_MAX : t);
  struct tm tm;
  if (!gmtime_r(&tt, &tm)) {
    memcpy(out, "1970-01-01T00:00:00Z", 21);
    return;
  }
  /* The modulos only tell the compiler what the clamp already ensures. */
  snprintf(out, 21, "%04u-%02u-%02uT%02u:%02u:%02uZ",
           (unsigned)(tm.tm_year + 1900) % 10000, (unsigned)(tm.tm_mon + 1) % 100,
           (unsigned)tm.tm_mday % 100, (unsigned)tm.tm_hour % 100,
           (unsigned)tm.tm_min % 100, (unsigned)tm.tm_sec % 100);
}

static json_t *field_json(const am_member *m, int f) {
  const am_field *fd = &am_fields[f];
  const char *base = (const char *)m + fd->offset;
  switch (fd->type) {
  case AM_T_TEXT: {
    const char *s = *(char *const *)base;
    return s ? json_string(s) : json_null();
  }
  case AM_T_LIST: {
    const am_strlist *l = (const am_strlist *)base;
    json_t *a = json_array();
    for (uint32_t i = 0; a && i < l->n; i++)
      if (json_array_append_new(a, json_string(l->v[i]))) {
        json_decref(a);
        return NULL;
      }
    return a;
  }
  case AM_T_YEAR: {
    uint32_t y = *(const uint32_t *)base;
    return y ? json_integer(y) : json_null();
  }
  case AM_T_BOOL:
    return json_boolean(*(const bool *)base);
  default: {
    uint32_t d = *(const uint32_t *)base;
    char s[11];
    am_date_format(d, s);
    return d ? json_string(s) : json_null();
  }
  }
}

json_t *am_member_to_json(const am_member *m) {
  char ts[21];
  json_t *o = json_object(), *vis = json_object();
  if (!o || !vis) goto fail;
  if (json_object_set_new(o, "id", json_integer((json_int_t)m->id))) goto fail;
  for (int f = 0; f < AM_F__COUNT; f++) {
    json_t *v = field_json(m, f);
    if (!v || json_object_set_new(o, am_fields[f].name, v)) goto fail;
  }
  for (int f = 0; f < AM_F__PROFILE_COUNT; f++)
    if (json_object_set_new(vis, am_fields[f].name, json_string(am_vis_name(m->vis[f]))))
      goto fail;
  if (json_object_set_new(o, "visibility", vis)) { vis = NULL; goto fail; }
  vis = NULL;
  am_time_format(m->created, ts);
  if (json_object_set_new(o, "created", json_string(ts))) goto fail;
  am_time_format(m->updated, ts);
  if (json_object_set_new(o, "updated", json_string(ts))) goto fail;
  return o;
fail:
  json_decref(vis);
  json_decref(o);
  return NULL;
}
