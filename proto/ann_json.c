/* JSON form of announcements (see ann_json.h). */
#include "proto/ann_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/identity.h"
#include "proto/member_json.h"

static json_t *hex(const uint8_t *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  char s[2 * 64 + 1];
  for (size_t i = 0; i < n; i++) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 15];
  }
  s[2 * n] = '\0';
  return json_string(s);
}

static json_t *time_json(uint64_t t) {
  char s[21];
  am_time_format((int64_t)t, s);
  return json_string(s);
}

json_t *am_ann_body_to_json(const am_ann *a) {
  const am_kind_desc *kd = &am_ann_kinds[a->kind];
  json_t *b = json_object();
  for (uint32_t f = 0; b && f < kd->nfields; f++) {
    const am_afield *fd = &kd->fields[f];
    const am_aval *v = &a->body[f];
    if (!v->set) continue;
    json_t *x = NULL;
    switch (fd->type) {
    case AM_A_TEXT: x = json_string(v->s); break;
    case AM_A_LIST:
      x = json_array();
      for (uint32_t i = 0; x && i < v->l.n; i++) json_array_append_new(x, json_string(v->l.v[i]));
      break;
    case AM_A_UINT: x = json_integer((json_int_t)v->u); break;
    case AM_A_BOOL: x = json_boolean(v->u); break;
    case AM_A_ENUM: x = json_string(fd->names[v->u]); break;
    case AM_A_TIME: x = time_json(v->u); break;
    case AM_A_DATE: {
      char d[11];
      am_date_format((uint32_t)v->u, d);
      x = json_string(d);
      break;
    }
    }
    if (!x || json_object_set_new(b, fd->name, x)) {
      json_decref(b);
      return NULL;
    }
  }
  return b;
}

json_t *am_ann_to_json(const am_ann *a) {
  char key[AM_PUBKEY_TEXT_LEN + 1];
  am_pubkey_to_text(a->origin, key);
  json_t *j = json_object();
  if (!j) return NULL;
  int rc = json_object_set_new(j, "id", hex(a->id, AM_ANN_ID_BYTES));
  rc |= json_object_set_new(j, "kind", json_string(am_ann_kinds[a->kind].name));
  rc |= json_object_set_new(j, "origin", json_string(key));
  rc |= json_object_set_new(j, "object", json_integer((json_int_t)a->object));
  rc |= json_object_set_new(j, "version", json_integer((json_int_t)a->version));
  rc |= json_object_set_new(j, "created", time_json(a->created));
  rc |= json_object_set_new(j, "expires", a->expires ? time_json(a->expires) : json_null());
  rc |= json_object_set_new(j, "body", am_ann_body_to_json(a));
  rc |= json_object_set_new(j, "signature", hex(a->sig, AM_ANN_SIG_BYTES));
  if (rc) {
    json_decref(j);
    return NULL;
  }
  return j;
}

/* A time: ISO 8601 string or Unix seconds. */
static int json_time(const json_t *x, uint64_t *out) {
  if (json_is_integer(x) && json_integer_value(x) >= 0) {
    *out = (uint64_t)json_integer_value(x);
    return 0;
  }
  return json_is_string(x) ? am_time_parse(json_string_value(x), out) : AM_EINVAL;
}

static int json_u64(const json_t *x, uint64_t *out) {
  if (!json_is_integer(x) || json_integer_value(x) < 0) return AM_EINVAL;
  *out = (uint64_t)json_integer_value(x);
  return 0;
}

static char *dup_exact(const json_t *x) {
  size_t n = json_string_length(x);
  char *s = malloc(n + 1);
  if (s) {
    memcpy(s, json_string_value(x), n);
    s[n] = '\0';
  }
  return s;
}

static int body_value(const am_afield *fd, const json_t *x, am_aval *v, am_error *err) {
  switch (fd->type) {
  case AM_A_TEXT:
    if (!json_is_string(x)) return am_fail(err, AM_EINVAL, "is not a string");
    if (!(v->s = dup_exact(x))) return AM_ENOMEM;
    break;
  case AM_A_LIST: {
    if (!json_is_array(x)) return am_fail(err, AM_EINVAL, "is not an array");
    size_t n = json_array_size(x);
    if (n > fd->max_items) return am_fail(err, AM_EINVAL, "has too many items");
    if (n && !(v->l.v = calloc(n, sizeof *v->l.v))) return AM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
      const json_t *it = json_array_get(x, i);
      if (!json_is_string(it)) return am_fail(err, AM_EINVAL, "item %zu is not a string", i + 1);
      if (!(v->l.v[i] = dup_exact(it))) return AM_ENOMEM;
      v->l.n++;
    }
    break;
  }
  case AM_A_UINT:
    if (json_u64(x, &v->u)) return am_fail(err, AM_EINVAL, "is not a non-negative integer");
    break;
  case AM_A_BOOL:
    if (!json_is_boolean(x)) return am_fail(err, AM_EINVAL, "is not true or false");
    v->u = json_is_true(x);
    break;
  case AM_A_ENUM: {
    if (!json_is_string(x)) return am_fail(err, AM_EINVAL, "is not a string");
    uint32_t k = 0;
    while (fd->names[k] && strcmp(fd->names[k], json_string_value(x))) k++;
    if (!fd->names[k]) return am_fail(err, AM_EINVAL, "'%s' is not one of its values", json_string_value(x));
    v->u = k;
    break;
  }
  case AM_A_TIME:
    if (json_time(x, &v->u)) return am_fail(err, AM_EINVAL, "is not a time");
    break;
  case AM_A_DATE: {
    uint32_t d;
    if (!json_is_string(x) || am_date_parse(json_string_value(x), json_string_length(x), &d))
      return am_fail(err, AM_EINVAL, "is not a date (YYYY-MM-DD)");
    v->u = d;
    break;
  }
  }
  v->set = true;
  return 0;
}

int am_ann_from_json(const json_t *j, am_ann *a, am_error *err) {
  if (!json_is_object(j)) return am_fail(err, AM_EINVAL, "an announcement must be a JSON object");
  const json_t *k = json_object_get(j, "kind");
  int kind = json_is_string(k) ? am_ann_kind_parse(json_string_value(k)) : -1;
  if (kind < 0) return am_fail(err, AM_EINVAL, "\"kind\" must be node, profile, event, job or retraction");
  am_ann_init(a, kind);
  int rc = 0;
  const json_t *x;
  if ((x = json_object_get(j, "object")) && json_u64(x, &a->object))
    rc = am_fail(err, AM_EINVAL, "\"object\" must be a non-negative integer");
  else if ((x = json_object_get(j, "version")) && json_u64(x, &a->version))
    rc = am_fail(err, AM_EINVAL, "\"version\" must be a non-negative integer");
  else if ((x = json_object_get(j, "created")) && json_time(x, &a->created))
    rc = am_fail(err, AM_EINVAL, "\"created\" must be a time");
  else if ((x = json_object_get(j, "expires")) && !json_is_null(x) && json_time(x, &a->expires))
    rc = am_fail(err, AM_EINVAL, "\"expires\" must be a time or null");
  if (rc) return rc;
  const json_t *body = json_object_get(j, "body");
  if (body && !json_is_object(body)) return am_fail(err, AM_EINVAL, "\"body\" must be an object");
  const am_kind_desc *kd = &am_ann_kinds[kind];
  const char *name;
  const json_t *val;
  json_object_foreach((json_t *)body, name, val) {
    uint32_t f = 0;
    while (f < kd->nfields && strcmp(kd->fields[f].name, name)) f++;
    if (f == kd->nfields) {
      rc = am_fail(err, AM_EINVAL, "a %s has no field \"%s\"", kd->name, name);
      break;
    }
    if (json_is_null(val)) continue;
    if ((rc = body_value(&kd->fields[f], val, &a->body[f], err))) {
      if (rc == AM_ENOMEM) am_fail(err, rc, "out of memory");
      else am_error_prefix(err, "body field \"%s\": ", name);
      break;
    }
  }
  if (rc) am_ann_free(a);
  return rc;
}
