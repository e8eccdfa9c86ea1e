/* `amicale event ...` and `amicale job ...`: the node's own signed events
 * and job offers, and those received from the federation. Both kinds are
 * driven by their field tables (proto/announce.c): every body field is an
 * option (--starts-at, --salary-min, ...).
 *
 * References: this node's events and jobs are numbered (1, 2, ...); a
 * received one is named by the first 12 hex digits of its announcement id
 * (any unique prefix of 8 or more digits works). */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proto/ann_json.h"
#include "cli/cli.h"
#include "proto/member_json.h"
#include "store/announcements.h"

#define JOB_DEFAULT_DAYS 60
#define EVENT_DEFAULT_HOURS 24 /* an event without an end expires a day after its start */

typedef struct post_kind {
  int kind;
  const char *noun;    /* "event" */
  const char *withdraw; /* "remove" / "close" */
} post_kind;

static const post_kind EVENT = {AM_K_EVENT, "event", "remove"};
static const post_kind JOB = {AM_K_JOB, "job", "close"};

/* ---- options from the field table --------------------------------------- */

static char flags_buf[2][AM_ANN_MAX_FIELDS][32];
static am_opt specs[2][AM_ANN_MAX_FIELDS + 8];

static const am_opt *post_spec(const post_kind *pk) {
  int w = pk->kind == AM_K_JOB;
  am_opt *spec = specs[w];
  if (spec[0].name) return spec;
  const am_kind_desc *kd = &am_ann_kinds[pk->kind];
  int k = 0;
  for (uint32_t f = 0; f < kd->nfields; f++) {
    const char *s = kd->fields[f].name;
    size_t i = 0;
    for (; s[i] && i < 31; i++) flags_buf[w][f][i] = s[i] == '_' ? '-' : s[i];
    flags_buf[w][f][i] = '\0';
    spec[k++] = (am_opt){flags_buf[w][f], true};
  }
  if (pk->kind == AM_K_EVENT) {
    spec[k++] = (am_opt){"start", true};
    spec[k++] = (am_opt){"end", true};
    spec[k++] = (am_opt){"tag", true};
  } else {
    spec[k++] = (am_opt){"skill", true};
  }
  spec[k++] = (am_opt){"reason", true};
  spec[k++] = (am_opt){"json", false};
  spec[k++] = (am_opt){"origin", true};
  spec[k] = (am_opt){NULL, false};
  return spec;
}

/* The field an option sets ("start" is starts_at), or -1. */
static int opt_field(const post_kind *pk, const char *opt) {
  if (pk->kind == AM_K_EVENT) {
    if (!strcmp(opt, "start")) return AM_EV_STARTS_AT;
    if (!strcmp(opt, "end")) return AM_EV_ENDS_AT;
    if (!strcmp(opt, "tag")) return AM_EV_TAGS;
  } else if (!strcmp(opt, "skill")) {
    return AM_JOB_SKILLS;
  }
  const am_kind_desc *kd = &am_ann_kinds[pk->kind];
  for (uint32_t f = 0; f < kd->nfields; f++) {
    const char *a = kd->fields[f].name, *b = opt;
    while (*a && (*a == *b || (*a == '_' && *b == '-'))) a++, b++;
    if (!*a && !*b) return (int)f;
  }
  return -1;
}

/* ---- time zones ---------------------------------------------------------- */

/* An IANA zone name that exists in the system's time zone database. */
static bool zone_known(const char *tz) {
  if (!strcmp(tz, "UTC") || !strcmp(tz, "Etc/UTC")) return true;
  if (!*tz || tz[0] == '/' || strstr(tz, "..")) return false;
  for (const char *p = tz; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
          *p == '/' || *p == '_' || *p == '-' || *p == '+'))
      return false;
  const char *dir = getenv("TZDIR");
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", tz);
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The zone events are given in when --timezone is absent: $TZ, then the
 * system's (/etc/timezone, /etc/localtime), then UTC. */
static void default_zone(char *out, size_t n) {
  const char *tz = getenv("TZ");
  if (tz && *tz == ':') tz++;
  /* Any zone name the database knows, "UTC" included (a POSIX rule such
   * as "CET-1CEST" is not an IANA name: the system's zone is used then). */
  if (tz && *tz && zone_known(tz)) { snprintf(out, n, "%s", tz); return; }
  FILE *f = fopen("/etc/timezone", "r");
  if (f) {
    char line[128];
    if (fgets(line, sizeof line, f)) {
      line[strcspn(line, "\r\n \t")] = '\0';
      fclose(f);
      if (*line) { snprintf(out, n, "%s", line); return; }
    } else {
      fclose(f);
    }
  }
  char link[256];
  ssize_t k = readlink("/etc/localtime", link, sizeof link - 1);
  if (k > 0) {
    link[k] = '\0';
    const char *z = strstr(link, "zoneinfo/");
    if (z) { snprintf(out, n, "%s", z + 9); return; }
  }
  snprintf(out, n, "UTC");
}

/* Runs localtime/mktime in zone tz, restoring the process's zone after. */
static void with_zone(const char *tz, char *saved, size_t n) {
  const char *old = getenv("TZ");
  snprintf(saved, n, "%s", old ? old : "");
  setenv("TZ", tz, 1);
  tzset();
}
static void restore_zone(const char *saved) {
  if (*saved) setenv("TZ", saved, 1);
  else unsetenv("TZ");
  tzset();
}

/* "2026-12-10 18:30" in zone tz, or anything am_time_parse takes. */
/* n decimal digits at s, as a number; -1 when they are not all digits
 * (sscanf's %d would take blanks and signs too). */
static int digits_at(const char *s, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

static int parse_local(const char *s, const char *tz, uint64_t *out) {
  if (am_time_parse(s, out) == 0) return 0;
  /* "YYYY-MM-DD", then optionally " HH:MM" or "THH:MM", then ":SS". */
  size_t n = strlen(s);
  if ((n != 10 && n != 16 && n != 19) || s[4] != '-' || s[7] != '-') return AM_EINVAL;
  int y = digits_at(s, 4), mo = digits_at(s + 5, 2), d = digits_at(s + 8, 2);
  int h = 0, mi = 0, sec = 0;
  if (n >= 16) {
    if ((s[10] != ' ' && s[10] != 'T') || s[13] != ':') return AM_EINVAL;
    h = digits_at(s + 11, 2), mi = digits_at(s + 14, 2);
  }
  if (n == 19) {
    if (s[16] != ':') return AM_EINVAL;
    sec = digits_at(s + 17, 2);
  }
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0) return AM_EINVAL;
  if (!am_date_valid((uint32_t)(y * 10000 + mo * 100 + d)) || h > 23 || mi > 59 || sec > 59)
    return AM_EINVAL;
  char saved[256];
  with_zone(tz, saved, sizeof saved);
  struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                  .tm_min = mi, .tm_sec = sec, .tm_isdst = -1};
  time_t t = mktime(&tm);
  restore_zone(saved);
  if (t == (time_t)-1 || t < 0) return AM_EINVAL;
  *out = (uint64_t)t;
  return 0;
}

/* "2026-12-10 18:30 CET" in the event's own zone. */
static void format_local(uint64_t t, const char *tz, char *out, size_t n) {
  char saved[256];
  with_zone(tz && zone_known(tz) ? tz : "UTC", saved, sizeof saved);
  time_t tt = (time_t)t;
  struct tm tm;
  if (localtime_r(&tt, &tm)) strftime(out, n, "%Y-%m-%d %H:%M %Z", &tm);
  else snprintf(out, n, "?");
  restore_zone(saved);
}

/* ---- building an announcement from options ------------------------------- */

static uint64_t day_start(uint32_t ymd) {
  struct tm tm = {.tm_year = (int)(ymd / 10000) - 1900, .tm_mon = (int)(ymd / 100 % 100) - 1,
                  .tm_mday = (int)(ymd % 100)};
  return (uint64_t)timegm(&tm);
}

static uint32_t ymd_of(uint64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  return (uint32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

/* Applies --field options to a (kind event or job), then the defaults and
 * the expiry time. */
static int apply_options(const post_kind *pk, am_ann *a, const am_args *args, bool add,
                         int64_t now, am_error *err) {
  const am_kind_desc *kd = &am_ann_kinds[pk->kind];
  int rc;
  /* The zone first: times are read in it. */
  char zone[128];
  const char *tzopt = pk->kind == AM_K_EVENT ? am_args_get(args, "timezone") : NULL;
  if (tzopt) {
    if (!zone_known(tzopt))
      return am_fail(err, AM_EINVAL, "--timezone '%s' is not a known time zone (e.g. Europe/Paris, America/Montreal, UTC)", tzopt);
    snprintf(zone, sizeof zone, "%s", tzopt);
  } else if (pk->kind == AM_K_EVENT && a->body[AM_EV_TIMEZONE].set) {
    snprintf(zone, sizeof zone, "%s", a->body[AM_EV_TIMEZONE].s);
  } else {
    default_zone(zone, sizeof zone);
    if (!zone_known(zone)) snprintf(zone, sizeof zone, "UTC");
  }
  bool list_seen[AM_ANN_MAX_FIELDS] = {0};
  for (int i = 0; i < args->nopts; i++) {
    int f = opt_field(pk, args->opts[i].name);
    if (f < 0) continue;
    const am_afield *fd = &kd->fields[f];
    const char *v = args->opts[i].value;
    char num[32];
    if (fd->type == AM_A_TIME && *v) {
      uint64_t t;
      if (parse_local(v, zone, &t))
        return am_fail(err, AM_EINVAL, "--%s: '%s' is not a date and time (2026-12-10 18:30, in %s)",
                       args->opts[i].name, v, zone);
      snprintf(num, sizeof num, "%llu", (unsigned long long)t);
      v = num;
    }
    if (fd->type == AM_A_LIST && list_seen[f] && *v) {
      /* A repeated list option adds to the list given before. */
      am_buf all = {0};
      am_ann_format(a, (uint32_t)f, &all);
      am_buf_printf(&all, "; %s", v);
      rc = am_ann_set(a, (uint32_t)f, all.data ? all.data : "", err);
      am_buf_free(&all);
    } else {
      rc = am_ann_set(a, (uint32_t)f, v, err);
    }
    if (rc) {
      /* A bad value is invalid data (exit 4), as for member fields. */
      am_error_prefix(err, "--%s: ", args->opts[i].name);
      return rc;
    }
    list_seen[f] = true;
  }
  uint64_t t_now = now > 0 ? (uint64_t)now : 0;
  /* A required field left out of add is a missing option (exit 2), said
   * before the validator would call it invalid data. The fields that get
   * a default below are not asked for. */
  for (uint32_t f = 0; add && f < kd->nfields; f++) {
    bool defaulted = pk->kind == AM_K_EVENT
                         ? f == AM_EV_TIMEZONE || f == AM_EV_STATUS || f == AM_EV_STARTS_AT
                         : f == AM_JOB_POSTED || f == AM_JOB_VALID_THROUGH || f == AM_JOB_ALUMNI_ONLY;
    if ((kd->fields[f].flags & AM_AF_REQUIRED) && !defaulted && !a->body[f].set)
      return am_fail(err, AM_EUSAGE, "%s add needs --%s", pk->noun, flags_buf[pk->kind == AM_K_JOB][f]);
  }
  if (pk->kind == AM_K_EVENT) {
    if (!a->body[AM_EV_TIMEZONE].set && (rc = am_ann_set(a, AM_EV_TIMEZONE, zone, err))) return rc;
    if (!a->body[AM_EV_STATUS].set) a->body[AM_EV_STATUS] = (am_aval){.set = true, .u = AM_EV_SCHEDULED};
    if (!a->body[AM_EV_STARTS_AT].set)
      return am_fail(err, AM_EUSAGE, "an event needs --start (e.g. --start \"2026-12-10 18:30\")");
    uint64_t end = a->body[AM_EV_ENDS_AT].set ? a->body[AM_EV_ENDS_AT].u
                                              : a->body[AM_EV_STARTS_AT].u + EVENT_DEFAULT_HOURS * 3600;
    a->expires = end;
    if (end <= t_now) {
      char when[64];
      format_local(end, zone, when, sizeof when);
      return am_fail(err, AM_EINVAL, "this event is already over (it ends %s)", when);
    }
  } else {
    if (!a->body[AM_JOB_POSTED].set) a->body[AM_JOB_POSTED] = (am_aval){.set = true, .u = ymd_of(t_now)};
    if (!a->body[AM_JOB_ALUMNI_ONLY].set) a->body[AM_JOB_ALUMNI_ONLY] = (am_aval){.set = true, .u = 0};
    if (!a->body[AM_JOB_VALID_THROUGH].set)
      a->body[AM_JOB_VALID_THROUGH] =
          (am_aval){.set = true, .u = ymd_of(day_start((uint32_t)a->body[AM_JOB_POSTED].u) +
                                             JOB_DEFAULT_DAYS * 86400ULL)};
    /* Valid through the whole of that day (UTC). */
    a->expires = day_start((uint32_t)a->body[AM_JOB_VALID_THROUGH].u) + 86400;
    if (a->expires <= t_now)
      return am_fail(err, AM_EINVAL, "this job offer's --valid-through date has passed");
  }
  return 0;
}

/* ---- naming origins and references ---------------------------------------- */

/* A person-readable name for an origin: "this node", the trust list's
 * name, the name its node announcement gives, else the key's start. */
static void origin_name(am_txn *t, const am_node *n, const uint8_t *origin, char *out, size_t len) {
  if (memcmp(origin, n->id.pk, AM_ANN_KEY_BYTES) == 0) {
    snprintf(out, len, "%s", n->conf.name);
    return;
  }
  am_trust tr;
  if (am_trust_get(t, origin, &tr) == 0 && tr.name[0]) {
    snprintf(out, len, "%s", tr.name);
    return;
  }
  am_slot s;
  am_ann a;
  if (am_ann_slot_get(t, origin, AM_K_NODE, 0, &s) == 0 && s.state == AM_SLOT_LIVE &&
      am_ann_load(t, s.id, &a, NULL) == 0) {
    snprintf(out, len, "%s", a.body[AM_NODE_NAME].s);
    am_ann_free(&a);
    return;
  }
  char key[AM_PUBKEY_TEXT_LEN + 1];
  am_pubkey_to_text(origin, key);
  snprintf(out, len, "%.10s…", key);
}

static bool mine(const am_node *n, const am_ann *a) {
  return memcmp(a->origin, n->id.pk, AM_ANN_KEY_BYTES) == 0;
}

static void ref_of(const am_node *n, const am_ann *a, char *out, size_t len) {
  if (mine(n, a)) {
    snprintf(out, len, "%llu", (unsigned long long)a->object);
  } else {
    char hex[65];
    am_ann_id_hex(a->id, hex);
    snprintf(out, len, "%.12s", hex);
  }
}

/* Digits: this node's object; otherwise an id prefix. */
static int resolve(am_txn *t, const am_node *n, const post_kind *pk, const char *ref,
                   am_ann *a, bool own_only, am_error *err) {
  size_t len = strlen(ref);
  bool digits = len > 0 && len <= 15 && strspn(ref, "0123456789") == len;
  uint8_t id[AM_ANN_ID_BYTES];
  int rc;
  if (digits) {
    am_slot s;
    uint64_t obj = strtoull(ref, NULL, 10);
    rc = am_ann_slot_get(t, n->id.pk, pk->kind, obj, &s);
    /* A received one's id prefix can be all decimal digits too (one listed
     * ref in 280): a number this node never gave is then such a prefix. */
    if (rc == AM_ENOTFOUND && len >= 8) digits = false;
    else if (rc == AM_ENOTFOUND || (rc == 0 && s.state != AM_SLOT_LIVE))
      return am_fail(err, AM_ENOTFOUND, "this node has no current %s %s%s", pk->noun, ref,
                     rc == 0 ? (s.state == AM_SLOT_RETRACTED ? " (it was withdrawn)" : " (it has expired)") : "");
    else if (rc) return am_fail(err, rc, "the store is damaged");
    else memcpy(id, s.id, sizeof id);
  }
  if (!digits && (rc = am_ann_find(t, ref, id, err))) {
    if (rc == AM_EINVAL) rc = AM_EUSAGE;
    return rc;
  }
  if ((rc = am_ann_load(t, id, a, err))) return rc;
  if (a->kind != pk->kind) {
    int kind = a->kind;
    am_ann_free(a);
    return am_fail(err, AM_ENOTFOUND, "%s is a%s %s, not a%s %s", ref, kind == AM_K_EVENT ? "n" : "",
                   am_ann_kinds[kind].name, pk->kind == AM_K_EVENT ? "n" : "", pk->noun);
  }
  if (own_only && !mine(n, a)) {
    am_ann_free(a);
    return am_fail(err, AM_EUSAGE, "%s %s was published by another node: only its origin can change it",
                   pk->noun, ref);
  }
  return 0;
}

/* ---- printing --------------------------------------------------------------- */

static json_t *post_json(am_txn *t, const am_node *n, const am_ann *a) {
  json_t *j = am_ann_to_json(a);
  char ref[32], name[256];
  ref_of(n, a, ref, sizeof ref);
  origin_name(t, n, a->origin, name, sizeof name);
  if (j) {
    json_object_set_new(j, "ref", json_string(ref));
    json_object_set_new(j, "origin_name", json_string(name));
    json_object_set_new(j, "local", json_boolean(mine(n, a)));
  }
  return j;
}

static void print_post(FILE *out, am_txn *t, const am_node *n, const am_ann *a) {
  const am_kind_desc *kd = &am_ann_kinds[a->kind];
  char ref[32], name[256], hex[65];
  ref_of(n, a, ref, sizeof ref);
  origin_name(t, n, a->origin, name, sizeof name);
  am_ann_id_hex(a->id, hex);
  const char *zone = a->kind == AM_K_EVENT ? a->body[AM_EV_TIMEZONE].s : NULL;
  fprintf(out, "%s %s — %s\n", a->kind == AM_K_EVENT ? "Event" : "Job", ref,
          a->body[0].s);
  for (uint32_t f = 1; f < kd->nfields; f++) {
    if (!a->body[f].set) continue;
    am_buf v = {0};
    if (kd->fields[f].type == AM_A_TIME) {
      char when[64];
      format_local(a->body[f].u, zone, when, sizeof when);
      am_buf_printf(&v, "%s", when);
    } else {
      am_ann_format(a, f, &v);
    }
    const char *text = v.data ? v.data : "";
    /* Multi-line text is indented under its label. */
    fprintf(out, "  %-20s ", kd->fields[f].label);
    for (const char *p = text; *p; p++) {
      fputc(*p, out);
      if (*p == '\n') fprintf(out, "  %-20s ", "");
    }
    fputc('\n', out);
    am_buf_free(&v);
  }
  char when[21];
  am_time_format((int64_t)a->created, when);
  fprintf(out, "  %-20s %s (version %llu, %s)\n", "Published by", name,
          (unsigned long long)a->version, when);
  fprintf(out, "  %-20s %s\n", "Announcement", hex);
}

/* ---- commands ----------------------------------------------------------------- */

typedef struct post_ctx {
  const post_kind *pk;
  const am_node *n;
  const am_args *args;
  const char *ref;
  int op; /* 'a' add, 'e' edit, 'c' cancel, 'r' withdraw, 's' show */
  int64_t now;
  am_ann a;
  bool have;
  bool unchanged; /* edit: the options changed nothing */
  am_ann ret; /* withdraw: the retraction published, for --json */
  bool have_ret;
  json_t *json;
  am_error *err;
} post_ctx;

static int post_fn(am_txn *t, void *arg) {
  post_ctx *c = arg;
  int rc;
  if (c->have) am_ann_free(&c->a);
  if (c->have_ret) am_ann_free(&c->ret);
  c->have = c->have_ret = c->unchanged = false;
  if ((rc = am_ann_prune(t, c->now, NULL, c->err))) return rc;
  if (c->op == 'a') {
    am_ann_init(&c->a, c->pk->kind);
    c->have = true;
    if ((rc = apply_options(c->pk, &c->a, c->args, true, c->now, c->err))) return rc;
    if ((rc = am_ann_next_object(t, c->pk->kind, &c->a.object, c->err))) return rc;
    return am_ann_publish(t, &c->a, c->now, NULL, c->err);
  }
  if ((rc = resolve(t, c->n, c->pk, c->ref, &c->a, true, c->err))) return rc;
  c->have = true;
  if (c->op == 'e') {
    /* A version is news to every node: none when nothing changed. The
     * signed part (body and expiry; version and time are not set yet)
     * before and after the options tells. */
    am_buf before = {0}, after = {0};
    rc = am_ann_encode_signed(&c->a, &before);
    if (!rc) rc = apply_options(c->pk, &c->a, c->args, false, c->now, c->err);
    if (!rc) rc = am_ann_encode_signed(&c->a, &after);
    bool same = !rc && before.len == after.len && memcmp(before.data, after.data, before.len) == 0;
    am_buf_free(&before);
    am_buf_free(&after);
    if (rc) return rc;
    if (same) {
      c->unchanged = true;
      return 0;
    }
    return am_ann_publish(t, &c->a, c->now, NULL, c->err);
  }
  if (c->op == 'c') {
    if (c->a.body[AM_EV_STATUS].u == AM_EV_CANCELLED)
      return am_fail(c->err, AM_EEXIST, "event %s is already cancelled", c->ref);
    c->a.body[AM_EV_STATUS].u = AM_EV_CANCELLED;
    return am_ann_publish(t, &c->a, c->now, NULL, c->err);
  }
  /* Withdraw: a retraction; the content is deleted everywhere. */
  if ((rc = am_ann_retract(t, c->pk->kind, c->a.object, am_args_get(c->args, "reason"), c->now, c->err)))
    return rc;
  /* The object's slot now names the retraction. */
  am_slot s;
  if ((rc = am_ann_slot_get(t, c->n->id.pk, c->pk->kind, c->a.object, &s)))
    return am_fail(c->err, rc, "the store is damaged");
  if ((rc = am_ann_load(t, s.id, &c->ret, c->err))) return rc;
  c->have_ret = true;
  return 0;
}

static int show_fn(am_txn *t, void *arg) {
  post_ctx *c = arg;
  int rc = resolve(t, c->n, c->pk, c->ref, &c->a, false, c->err);
  if (rc) return rc;
  c->have = true;
  /* Expired but not yet pruned (only writes prune): gone, as for list. */
  if (c->a.expires && c->a.expires <= (uint64_t)(c->now > 0 ? c->now : 0))
    return am_fail(c->err, AM_ENOTFOUND, "%s %s has expired", c->pk->noun, c->ref);
  if (c->args->json) c->json = post_json(t, c->n, &c->a);
  else print_post(stdout, t, c->n, &c->a);
  return 0;
}

static int post_change(const post_kind *pk, int argc, char **argv, int op) {
  am_args a;
  am_node n;
  int rc = am_args_parse(argc, argv, post_spec(pk), &a);
  if (rc) return rc;
  if (op == 'a' && a.npos) return am_cli_usage("%s add takes options only, not '%s'", pk->noun, a.pos[0]);
  if (op != 'a' && a.npos != 1) return am_cli_usage("usage: amicale %s %s REF", pk->noun,
                                                     op == 'e' ? "edit" : op == 'c' ? "cancel" : pk->withdraw);
  int fields = 0;
  for (int i = 0; i < a.nopts; i++) fields += opt_field(pk, a.opts[i].name) >= 0;
  if (op == 'e' && !fields)
    return am_cli_usage("%s edit: nothing to change (give --field value options)", pk->noun);
  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE))) return rc;
  am_error err = {0};
  post_ctx c = {.pk = pk, .n = &n, .args = &a, .ref = a.npos ? a.pos[0] : NULL, .op = op,
                .now = am_now(), .err = &err};
  rc = am_store_write(n.store, post_fn, &c, &err);
  if (rc) {
    rc = am_cli_fail(rc, &err);
  } else if (a.json) {
    /* What was published (for a withdrawal, the retraction); the origin
     * name of our own post is the node's name. */
    json_t *j = am_ann_to_json(op == 'r' ? &c.ret : &c.a);
    if (j) {
      char ref[32];
      ref_of(&n, &c.a, ref, sizeof ref);
      json_object_set_new(j, "ref", json_string(ref));
      json_object_set_new(j, "origin_name", json_string(n.conf.name));
      json_object_set_new(j, "local", json_true());
    }
    rc = am_print_json(stdout, j);
  } else {
    char hex[65];
    am_ann_id_hex(c.a.id, hex);
    const char *noun = pk->kind == AM_K_EVENT ? "Event" : "Job offer";
    switch (op) {
    case 'a': printf("%s %llu published: %s\n", noun, (unsigned long long)c.a.object, c.a.body[0].s); break;
    case 'e':
      if (c.unchanged) {
        printf("%s %llu unchanged (still version %llu): nothing to announce\n", noun,
               (unsigned long long)c.a.object, (unsigned long long)c.a.version);
        break;
      }
      printf("%s %llu updated (version %llu): %s\n", noun, (unsigned long long)c.a.object,
                     (unsigned long long)c.a.version, c.a.body[0].s); break;
    case 'c': printf("Event %llu cancelled: %s\n", (unsigned long long)c.a.object, c.a.body[0].s); break;
    default: printf("%s %llu withdrawn from the federation: %s\n", noun,
                    (unsigned long long)c.a.object, c.a.body[0].s); break;
    }
    rc = EXIT_OK;
  }
  if (c.have) am_ann_free(&c.a);
  if (c.have_ret) am_ann_free(&c.ret);
  am_node_close(&n);
  return rc;
}

static int post_show(const post_kind *pk, int argc, char **argv) {
  am_args a;
  am_node n;
  int rc = am_args_parse(argc, argv, post_spec(pk), &a);
  if (rc) return rc;
  if (a.npos != 1) return am_cli_usage("usage: amicale %s show REF [--json]", pk->noun);
  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE | AM_NODE_READ_ONLY | AM_NODE_KEY))) return rc;
  am_error err = {0};
  post_ctx c = {.pk = pk, .n = &n, .args = &a, .ref = a.pos[0], .now = am_now(), .err = &err};
  rc = am_store_read(n.store, show_fn, &c, &err);
  if (rc) rc = am_cli_fail(rc, &err);
  else if (a.json) rc = am_print_json(stdout, c.json);
  else rc = EXIT_OK;
  if (c.have) am_ann_free(&c.a);
  am_node_close(&n);
  return rc;
}

/* ---- list ----------------------------------------------------------------------- */

typedef struct list_ctx {
  const post_kind *pk;
  const am_node *n;
  const am_args *args;
  bool has_origin;
  uint8_t origin[AM_ANN_KEY_BYTES];
  int64_t now;
  am_ann *v;
  size_t len, cap;
  am_error *err;
} list_ctx;

static int collect(am_txn *t, const uint8_t *id, const uint8_t *env, size_t len, void *arg) {
  list_ctx *c = arg;
  (void)t, (void)id;
  am_ann a;
  int reason;
  if (am_ann_decode(env, len, &a, &reason, c->err)) {
    am_error_prefix(c->err, "stored announcement damaged: ");
    return AM_ECORRUPT;
  }
  memcpy(a.id, id, AM_ANN_ID_BYTES);
  bool keep = (!a.expires || a.expires > (uint64_t)(c->now > 0 ? c->now : 0)) &&
              (!c->has_origin || memcmp(a.origin, c->origin, AM_ANN_KEY_BYTES) == 0);
  if (!keep) { am_ann_free(&a); return 0; }
  if (c->len == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 64;
    am_ann *v = realloc(c->v, cap * sizeof *v);
    if (!v) { am_ann_free(&a); return AM_ENOMEM; }
    c->v = v, c->cap = cap;
  }
  c->v[c->len++] = a;
  return 0;
}

/* Ties are broken by id, so that a list is the same from run to run
 * (qsort is not stable). */
static int by_start(const void *x, const void *y) {
  const am_ann *a = x, *b = y;
  uint64_t p = a->body[AM_EV_STARTS_AT].u, q = b->body[AM_EV_STARTS_AT].u;
  if (p != q) return p < q ? -1 : 1;
  return memcmp(a->id, b->id, AM_ANN_ID_BYTES);
}

static int newest_first(const void *x, const void *y) {
  const am_ann *a = x, *b = y;
  uint64_t p = a->body[AM_JOB_POSTED].u, q = b->body[AM_JOB_POSTED].u;
  if (p != q) return p > q ? -1 : 1;
  if (a->created != b->created) return a->created > b->created ? -1 : 1;
  return memcmp(a->id, b->id, AM_ANN_ID_BYTES);
}

static int list_fn(am_txn *t, void *arg) {
  list_ctx *c = arg;
  int rc = am_ann_each_kind(t, c->pk->kind, collect, c);
  if (rc) return rc;
  /* c->v is NULL when nothing matched: qsort must not see it. */
  if (c->len > 1) qsort(c->v, c->len, sizeof *c->v, c->pk->kind == AM_K_EVENT ? by_start : newest_first);
  if (c->args->json) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < c->len; i++) json_array_append_new(arr, post_json(t, c->n, &c->v[i]));
    return am_print_json(stdout, arr) == EXIT_OK ? 0 : AM_EIO;
  }
  if (!c->len) {
    printf("No %s%s.\n", c->pk->kind == AM_K_EVENT ? "upcoming events" : "job offers",
           c->has_origin ? " from that origin" : "");
    return 0;
  }
  for (size_t i = 0; i < c->len; i++) {
    const am_ann *a = &c->v[i];
    char ref[32], name[256], col2[96];
    ref_of(c->n, a, ref, sizeof ref);
    origin_name(t, c->n, a->origin, name, sizeof name);
    const char *place;
    if (a->kind == AM_K_EVENT) {
      format_local(a->body[AM_EV_STARTS_AT].u, a->body[AM_EV_TIMEZONE].s, col2, sizeof col2);
      place = a->body[AM_EV_CITY].set ? a->body[AM_EV_CITY].s : a->body[AM_EV_ONLINE].set ? "online" : "";
      const char *status = a->body[AM_EV_STATUS].u == AM_EV_SCHEDULED
                               ? "" : am_ann_kinds[AM_K_EVENT].fields[AM_EV_STATUS].names[a->body[AM_EV_STATUS].u];
      printf("%-12s  %-22s  %s%s%s  [%s]%s%s\n", ref, col2, a->body[AM_EV_TITLE].s,
             *place ? " — " : "", place, name, *status ? "  " : "", status);
    } else {
      snprintf(col2, sizeof col2, "%s", am_ann_kinds[AM_K_JOB].fields[AM_JOB_CONTRACT].names[a->body[AM_JOB_CONTRACT].u]);
      place = a->body[AM_JOB_CITY].set ? a->body[AM_JOB_CITY].s : "";
      printf("%-12s  %-10s  %s, %s%s%s  [%s]%s\n", ref, col2, a->body[AM_JOB_TITLE].s,
             a->body[AM_JOB_EMPLOYER].s, *place ? " — " : "", place, name,
             a->body[AM_JOB_ALUMNI_ONLY].u ? "  alumni only" : "");
    }
  }
  return 0;
}

static int post_list(const post_kind *pk, int argc, char **argv) {
  am_args a;
  am_node n;
  int rc = am_args_parse(argc, argv, post_spec(pk), &a);
  if (rc) return rc;
  if (a.npos) return am_cli_usage("%s list takes options only, not '%s'", pk->noun, a.pos[0]);
  am_error err = {0};
  list_ctx c = {.pk = pk, .n = &n, .args = &a, .now = am_now(), .err = &err};
  const char *origin = am_args_get(&a, "origin");
  if (origin) {
    if ((rc = am_pubkey_from_text(origin, c.origin, &err))) return am_cli_fail(AM_EUSAGE, &err);
    c.has_origin = true;
  }
  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE | AM_NODE_READ_ONLY | AM_NODE_KEY))) return rc;
  rc = am_store_read(n.store, list_fn, &c, &err);
  if (rc) rc = am_cli_fail(rc, &err);
  for (size_t i = 0; i < c.len; i++) am_ann_free(&c.v[i]);
  free(c.v);
  am_node_close(&n);
  return rc;
}

/* ---- dispatch ----------------------------------------------------------------------- */

static void post_help(const post_kind *pk) {
  const am_kind_desc *kd = &am_ann_kinds[pk->kind];
  printf("usage: amicale %s COMMAND [options]\n\n", pk->noun);
  if (pk->kind == AM_K_EVENT) {
    printf("  add --title T --start \"2026-12-10 18:30\" [--end ...] [--timezone Europe/Paris] [...]\n"
           "                       publish an event (signed, announced to the federation)\n"
           "  edit REF [--field value ...]   publish a new version\n"
           "  cancel REF           mark it cancelled (it stays listed until it ends)\n"
           "  remove REF [--reason R]   withdraw it: deleted from every node\n");
  } else {
    printf("  add --title T --employer E --contract cdi --apply \"jobs@example.org\" [...]\n"
           "                       publish a job offer (valid 60 days unless --valid-through)\n"
           "  edit REF [--field value ...]   publish a new version\n"
           "  close REF [--reason R]    withdraw it: deleted from every node\n");
  }
  printf("  list [--origin KEY] [--json]   current ones, this node's and received\n"
         "  show REF [--json]\n\nREF: this node's number (3), or a received one's id (12 hex digits).\n"
         "\nFields:\n");
  for (uint32_t f = 0; f < kd->nfields; f++) {
    const am_afield *fd = &kd->fields[f];
    printf("  --%-18s %s", flags_buf[pk->kind == AM_K_JOB][f], fd->label);
    if (fd->type == AM_A_ENUM) {
      printf(": ");
      for (int i = 0; fd->names[i]; i++) printf("%s%s", i ? ", " : "", fd->names[i]);
    } else if (fd->type == AM_A_TIME) {
      printf(" (YYYY-MM-DD HH:MM in the time zone)");
    } else if (fd->type == AM_A_DATE) {
      printf(" (YYYY-MM-DD)");
    } else if (fd->type == AM_A_LIST) {
      printf(" (list: a; b; c)");
    }
    printf("%s\n", (fd->flags & AM_AF_REQUIRED) ? " [required]" : "");
  }
}

static int cmd_post(const post_kind *pk, int argc, char **argv) {
  post_spec(pk);
  if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "help")) {
    post_help(pk);
    return argc < 1 ? EXIT_USAGE : EXIT_OK;
  }
  const char *sub = argv[0];
  argc--, argv++;
  for (int i = 0; i < argc; i++)
    if (!strcmp(argv[i], "--help")) {
      post_help(pk);
      return EXIT_OK;
    }
  if (!strcmp(sub, "add")) return post_change(pk, argc, argv, 'a');
  if (!strcmp(sub, "edit")) return post_change(pk, argc, argv, 'e');
  if (!strcmp(sub, pk->withdraw) || (pk->kind == AM_K_JOB && !strcmp(sub, "remove")))
    return post_change(pk, argc, argv, 'r');
  if (pk->kind == AM_K_EVENT && !strcmp(sub, "cancel")) return post_change(pk, argc, argv, 'c');
  if (!strcmp(sub, "list") || !strcmp(sub, "ls")) return post_list(pk, argc, argv);
  if (!strcmp(sub, "show")) return post_show(pk, argc, argv);
  return am_cli_usage("unknown command '%s %s' (see amicale %s --help)", pk->noun, sub, pk->noun);
}

int cmd_event(int argc, char **argv) { return cmd_post(&EVENT, argc, argv); }
int cmd_job(int argc, char **argv) { return cmd_post(&JOB, argc, argv); }
