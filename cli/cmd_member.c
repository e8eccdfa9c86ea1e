/* `amicale member ...`: the alumni manager's directory commands. Field
 * options (--given-name, --employer, --skill, ...) come from the field
 * table, so every field can be set from the command line. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "proto/member_json.h"
#include "store/announcements.h"
#include "store/accounts.h"
#include "crypto/invite.h"

#define DEFAULT_LIMIT 50

/* ---- options ------------------------------------------------------------ */

/* --given-name, --job-title, ... built once from the field table. */
static char field_flag[AM_F__COUNT][32];
static am_opt edit_spec[AM_F__COUNT + 8];

static const am_opt *member_edit_spec(void) {
  if (edit_spec[0].name) return edit_spec;
  int k = 0;
  for (int f = 0; f < AM_F__COUNT; f++) {
    const char *s = am_fields[f].name;
    size_t i = 0;
    for (; s[i] && i < sizeof field_flag[f] - 1; i++) field_flag[f][i] = s[i] == '_' ? '-' : s[i];
    field_flag[f][i] = '\0';
    edit_spec[k++] = (am_opt){field_flag[f], true};
  }
  edit_spec[k++] = (am_opt){"email", true};
  edit_spec[k++] = (am_opt){"skill", true};
  edit_spec[k++] = (am_opt){"language", true};
  edit_spec[k++] = (am_opt){"visibility", true};
  edit_spec[k++] = (am_opt){"json", false};
  edit_spec[k] = (am_opt){NULL, false};
  return edit_spec;
}

const am_opt am_search_opts[] = {
  {"text", true}, {"promo", true}, {"programme", true}, {"employer", true},
  {"city", true}, {"country", true}, {"sector", true}, {"skill", true},
  {"language", true}, {"mentoring", false}, {"sort", true}, {"limit", true},
  {"offset", true}, {"json", false}, {"format", true}, {"output", true},
  {"separator", true}, {"excel", false}, {NULL, false},
};

/* "2010", "2010-2015", "2010-", "-2015" */
int am_promo_parse(const char *s, uint32_t *lo, uint32_t *hi) {
  const char *dash = strchr(s, '-');
  char *end;
  *lo = *hi = 0;
  if (!dash) {
    long v = strtol(s, &end, 10);
    if (*end || v < AM_YEAR_MIN || v > AM_YEAR_MAX) return -1;
    *lo = *hi = (uint32_t)v;
    return 0;
  }
  if (dash != s) {
    long v = strtol(s, &end, 10);
    if (end != dash || v < AM_YEAR_MIN || v > AM_YEAR_MAX) return -1;
    *lo = (uint32_t)v;
  }
  if (dash[1]) {
    long v = strtol(dash + 1, &end, 10);
    if (*end || v < AM_YEAR_MIN || v > AM_YEAR_MAX) return -1;
    *hi = (uint32_t)v;
  }
  if (!*lo && !*hi) return -1;
  if (*lo && *hi && *lo > *hi) return -1;
  return 0;
}

int am_query_from_args(const am_args *a, int pos_from, am_query *q, char *textbuf,
                       size_t textlen) {
  static const struct { const char *opt; int field; } exact[] = {
    {"programme", AM_F_PROGRAMME}, {"employer", AM_F_EMPLOYER}, {"city", AM_F_CITY},
    {"country", AM_F_COUNTRY}, {"sector", AM_F_SECTOR}, {"skill", AM_F_SKILLS},
    {"language", AM_F_LANGUAGES},
  };
  am_error err = {0};
  memset(q, 0, sizeof *q);
  /* Free text: --text and the remaining words on the line. */
  size_t used = 0;
  textbuf[0] = '\0';
  const char *t = am_args_get(a, "text");
  for (int i = pos_from - 1; i < a->npos; i++) {
    const char *w = i < pos_from ? t : a->pos[i];
    if (!w) continue;
    int n = snprintf(textbuf + used, textlen - used, "%s%s", used ? " " : "", w);
    if (n < 0 || (size_t)n >= textlen - used) return am_cli_usage("search text too long");
    used += (size_t)n;
  }
  q->text = used ? textbuf : NULL;
  for (int i = 0; i < a->nopts; i++)
    for (size_t k = 0; k < sizeof exact / sizeof *exact; k++)
      if (strcmp(a->opts[i].name, exact[k].opt) == 0 &&
          am_query_filter(q, exact[k].field, a->opts[i].value, &err))
        return am_cli_fail(AM_EUSAGE, &err);
  const char *promo = am_args_get(a, "promo");
  if (promo && am_promo_parse(promo, &q->promo_min, &q->promo_max))
    return am_cli_usage("--promo '%s' should be a year (2015) or a range (2010-2015, 2010-, -2015)", promo);
  q->mentoring = am_args_has(a, "mentoring");
  const char *sort = am_args_get(a, "sort");
  if (!sort || strcmp(sort, "name") == 0) q->sort = AM_SORT_NAME;
  else if (strcmp(sort, "promo") == 0) q->sort = AM_SORT_PROMO;
  else return am_cli_usage("--sort '%s' should be name or promo", sort);
  int rc = am_args_size(a, "limit", DEFAULT_LIMIT, &q->limit);
  if (!rc) rc = am_args_size(a, "offset", 0, &q->offset);
  return rc;
}

/* ---- finding a member --------------------------------------------------- */

/* "42" is an id; anything with an @ is an address. */
static int resolve(am_txn *t, const char *ref, uint64_t *id, am_error *err) {
  if (strchr(ref, '@')) {
    am_member tmp;
    am_member_init(&tmp);
    int rc = am_member_set(&tmp, AM_F_EMAILS, ref, strlen(ref), err);
    if (!rc && tmp.emails.n == 1) rc = am_members_by_email(t, tmp.emails.v[0], id);
    else if (!rc) rc = AM_EUSAGE;
    am_member_free(&tmp);
    if (rc == AM_ENOTFOUND) return am_fail(err, rc, "no member has the address %s", ref);
    if (rc == AM_EINVAL) return am_fail(err, AM_EUSAGE, "'%s' is neither a member id nor an address", ref);
    return rc;
  }
  if (am_member_id_parse(ref, id))
    return am_fail(err, AM_EUSAGE, "'%s' is neither a member id (a number) nor an email address", ref);
  return 0;
}

/* ---- add / edit ---------------------------------------------------------- */

typedef struct edit {
  const am_args *a;
  const char *ref; /* NULL: add */
  am_member m;     /* the result, for printing */
  bool have;
} edit;

/* Applies every field option of a to m. Several values of a list option
 * add up ("--skill Python --skill SQL"). */
static int apply_options(am_member *m, const am_args *a, am_error *err) {
  for (int f = 0; f < AM_F__COUNT; f++) {
    am_buf v = {0};
    bool seen = false;
    const char *typed = field_flag[f]; /* the spelling the user typed */
    for (int i = 0; i < a->nopts; i++) {
      int of = am_field_by_name(a->opts[i].name);
      if (of != f) continue;
      if (am_fields[f].type == AM_T_LIST) {
        /* Check each value alone first, so an error names the option
         * that holds the bad value ("--email x --email bad"). */
        am_member tmp;
        am_member_init(&tmp);
        int rc = am_member_set(&tmp, f, a->opts[i].value, strlen(a->opts[i].value), err);
        am_member_free(&tmp);
        if (rc) {
          am_buf_free(&v);
          am_error_prefix(err, "--%s: ", a->opts[i].name);
          return rc;
        }
      }
      if (seen && am_fields[f].type == AM_T_LIST) am_buf_append(&v, ";", 1);
      else if (seen) v.len = 0;
      am_buf_append(&v, a->opts[i].value, strlen(a->opts[i].value));
      seen = true;
      typed = a->opts[i].name;
    }
    if (!seen) continue;
    int rc = am_member_set(m, f, v.data ? v.data : "", v.len, err);
    am_buf_free(&v);
    if (rc) {
      am_error_prefix(err, "--%s: ", typed);
      return rc;
    }
  }
  const char *vis = am_args_get(a, "visibility");
  if (vis) {
    int rc = am_member_set_visibility(m, vis, strlen(vis), err);
    if (rc) {
      am_error_prefix(err, "--visibility: ");
      return rc;
    }
  }
  return 0;
}

typedef struct edit_ctx {
  edit *e;
  am_error *err;
} edit_ctx;

static int edit_fn(am_txn *t, void *arg) {
  edit_ctx *c = arg;
  edit *e = c->e;
  int rc;
  if (e->have) am_member_free(&e->m);
  e->have = false;
  am_member_init(&e->m);
  if (e->ref) {
    uint64_t id;
    if ((rc = resolve(t, e->ref, &id, c->err))) return rc;
    am_member_free(&e->m);
    if ((rc = am_members_get(t, id, &e->m, c->err))) return rc;
  }
  e->have = true;
  if ((rc = apply_options(&e->m, e->a, c->err))) return rc;
  return am_members_put(t, &e->m, 0, c->err);
}

static int member_add_or_edit(int argc, char **argv, bool add) {
  am_args a;
  am_node n;
  int rc = am_args_parse(argc, argv, member_edit_spec(), &a);
  if (rc) return rc;
  if (add && a.npos) return am_cli_usage("member add takes options only, not '%s'", a.pos[0]);
  if (!add && a.npos != 1) return am_cli_usage("usage: amicale member edit ID|EMAIL [--field value ...]");
  if (!add && a.nopts == (a.json ? 1 : 0)) return am_cli_usage("member edit: nothing to change (give --field value options)");
  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE))) return rc;
  edit e = {.a = &a, .ref = add ? NULL : a.pos[0]};
  am_error err = {0};
  edit_ctx c = {&e, &err};
  rc = am_store_write(n.store, edit_fn, &c, &err);
  if (rc) {
    rc = am_cli_fail(rc, &err);
  } else if (a.json) {
    rc = am_print_json(stdout, am_member_to_json(&e.m));
  } else {
    am_buf name = {0};
    am_member_display_name(&e.m, &name);
    am_buf_append(&name, "", 1);
    printf("%s member %llu: %s\n", add ? "Added" : "Updated", (unsigned long long)e.m.id, name.data);
    am_buf_free(&name);
  }
  if (e.have) am_member_free(&e.m);
  am_node_close(&n);
  return rc;
}

/* ---- show / remove ---------------------------------------------------------- */

typedef struct one {
  const char *ref;
  am_member m;
  bool have;
  am_error *err;
} one;

static int show_fn(am_txn *t, void *arg) {
  one *o = arg;
  uint64_t id;
  int rc = resolve(t, o->ref, &id, o->err);
  if (!rc) rc = am_members_get(t, id, &o->m, o->err);
  o->have = rc == 0;
  return rc;
}

static int remove_fn(am_txn *t, void *arg) {
  one *o = arg;
  if (o->have) am_member_free(&o->m);
  int rc = show_fn(t, arg);
  if (!rc) rc = am_members_remove(t, o->m.id, o->err);
  /* Their keys and login codes go with them (store/accounts.h). */
  if (!rc) rc = am_accounts_forget_member(t, o->m.id, o->err);
  return rc;
}

static int member_show_or_remove(int argc, char **argv, bool remove) {
  static const am_opt spec[] = {{"json", false}, {NULL, false}};
  am_args a;
  am_node n;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos != 1)
    return am_cli_usage("usage: amicale member %s ID|EMAIL", remove ? "remove" : "show");
  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE | (remove ? 0 : AM_NODE_READ_ONLY)))) return rc;
  am_error err = {0};
  one o = {.ref = a.pos[0], .err = &err};
  rc = remove ? am_store_write(n.store, remove_fn, &o, &err)
              : am_store_read(n.store, show_fn, &o, &err);
  if (rc) {
    rc = am_cli_fail(rc, &err);
  } else if (a.json) {
    rc = am_print_json(stdout, am_member_to_json(&o.m));
  } else if (remove) {
    am_buf name = {0};
    am_member_display_name(&o.m, &name);
    am_buf_append(&name, "", 1);
    printf("Removed member %llu: %s\n", (unsigned long long)o.m.id, name.data);
    am_buf_free(&name);
  } else {
    am_print_member(stdout, &o.m);
  }
  if (o.have) am_member_free(&o.m);
  am_node_close(&n);
  return rc;
}

/* ---- list / search ------------------------------------------------------------ */

typedef struct search_ctx {
  const am_query *q;
  am_results r;
  am_error *err;
} search_ctx;

static int search_fn(am_txn *t, void *arg) {
  search_ctx *s = arg;
  return am_search(t, s->q, &s->r, s->err);
}

static int member_search(int argc, char **argv, bool list) {
  am_args a;
  am_node n;
  am_query q;
  char text[4096];
  int rc = am_args_parse(argc, argv, am_search_opts, &a);
  if (rc) return rc;
  for (int i = 0; i < a.nopts; i++) {
    const char *o = a.opts[i].name;
    if (!strcmp(o, "format") || !strcmp(o, "output") || !strcmp(o, "separator") || !strcmp(o, "excel"))
      return am_cli_usage("--%s belongs to `member export`", o);
  }
  if (list && a.npos) return am_cli_usage("member list takes no argument (use member search TEXT)");
  if ((rc = am_query_from_args(&a, 0, &q, text, sizeof text))) return rc;
  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE | AM_NODE_READ_ONLY))) return rc;
  am_error err = {0};
  search_ctx s = {.q = &q, .err = &err};
  rc = am_store_read(n.store, search_fn, &s, &err);
  if (rc) {
    rc = am_cli_fail(rc, &err);
  } else if (a.json) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < s.r.n; i++) json_array_append_new(arr, am_member_to_json(&s.r.v[i]));
    rc = am_print_json(stdout, json_pack("{s:I, s:I, s:I, s:o}", "total", (json_int_t)s.r.total,
                                         "offset", (json_int_t)q.offset, "limit", (json_int_t)q.limit,
                                         "members", arr));
  } else if (s.r.total == 0) {
    printf("No member matches.\n");
  } else if (s.r.n == 0) {
    /* --offset past the end: no table, and no "next page" to offer. */
    printf("No member on this page: %zu member%s match, --offset %zu is past the end.\n",
           s.r.total, s.r.total == 1 ? "" : "s", q.offset);
  } else {
    am_print_table(stdout, s.r.v, s.r.n);
    size_t first = q.offset + 1, last = q.offset + s.r.n;
    if (last < s.r.total)
      printf("\n%zu–%zu of %zu members (use --offset %zu for the next page, --limit 0 for all)\n",
             first, last, s.r.total, last);
    else if (q.offset)
      printf("\n%zu–%zu of %zu members (the last page)\n", first, last, s.r.total);
    else
      printf("\n%zu member%s\n", s.r.total, s.r.total == 1 ? "" : "s");
  }
  am_results_free(&s.r);
  am_node_close(&n);
  return rc;
}

/* ---- dispatch -------------------------------------------------------------------- */

/* ---- members' own computers: invite, keys, revoke (store/accounts.h) ------- */

static json_t *json_time(int64_t t) {
  if (t <= 0) return json_null();
  char ts[21];
  am_time_format(t, ts);
  return json_string(ts);
}

typedef struct acct_ctx {
  const char *ref;
  uint64_t id;
  int64_t now, expires;
  am_invite_code code; /* secret, key, address: wiped at the end */
  char text[AM_LOGIN_CODE_MAX + 1];
  am_mcode mc;
  const uint8_t *key;
  size_t count;
  json_t *arr;
  bool json;
  am_error *err;
} acct_ctx;

static int acct_invite_fn(am_txn *t, void *arg) {
  acct_ctx *c = arg;
  int rc = resolve(t, c->ref, &c->id, c->err);
  if (!rc) rc = am_accounts_code_create(t, c->id, c->now, c->expires, c->code.secret, &c->mc,
                                        c->err);
  if (rc == AM_ENOTFOUND && !c->err->msg[0])
    am_fail(c->err, rc, "no member %s", c->ref);
  /* Encoded before commit: a code that cannot be written leaves none. */
  if (!rc) rc = am_login_code_encode(&c->code, c->text, c->err);
  return rc;
}


static int member_invite(int argc, char **argv) {
  static const am_opt spec[] = {{"expires", true}, {"address", true}, {"json", false},
                                {NULL, false}};
  am_args a;
  am_node n;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos != 1)
    return am_cli_usage("usage: amicale member invite ID|EMAIL [--expires 7d] [--json]");
  const char *exp = am_args_get(&a, "expires");
  int64_t ttl = exp ? am_duration_parse(exp) : AM_LOGIN_TTL_DEFAULT;
  if (ttl < 3600 || ttl > AM_LOGIN_TTL_MAX)
    return am_cli_usage("--expires '%s': a login code is valid from 1h to 30d (30m, 12h, 7d, 2w)",
                        exp ? exp : "");
  am_error err = {0};
  acct_ctx c = {.ref = a.pos[0], .now = am_now(), .err = &err};
  c.expires = c.now + ttl;
  const char *addr = am_args_get(&a, "address");
  if (addr && am_addr_parse(addr, &c.code.addr, &err)) {
    am_error_prefix(&err, "--address: ");
    return am_cli_fail(AM_EUSAGE, &err);
  }
  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE | AM_NODE_KEY))) return rc;
  if (!addr) {
    /* Where members' computers reach the node: its public address, else
     * where it listens (a node on a LAN, or a test). */
    if (n.conf.has_public_address) {
      c.code.addr = n.conf.public_address;
    } else if (n.conf.listen.host[0] && strcmp(n.conf.listen.host, "*") &&
               strcmp(n.conf.listen.host, "0.0.0.0") && strcmp(n.conf.listen.host, "::") &&
               n.conf.listen.port) {
      c.code.addr = n.conf.listen;
    } else {
      fprintf(stderr, "amicale: a login code carries the address members' computers reach this "
              "node at, and none is set: add\n    public_address = HOST:PORT\nto the [network] "
              "section of %s/amicale.conf, or give --address HOST:PORT\n", n.dir);
      am_node_close(&n);
      return EXIT_USAGE;
    }
  }
  memcpy(c.code.node_key, n.id.pk, AM_PUBKEY_BYTES);
  rc = am_store_write(n.store, acct_invite_fn, &c, &err);
  am_node_close(&n);
  am_invite_code_wipe(&c.code);
  if (rc) {
    am_wipe(c.text, sizeof c.text);
    return am_cli_fail(rc, &err);
  }
  char when[24];
  am_time_short(c.mc.expires, when);
  if (a.json) {
    char iso[21];
    am_time_format(c.mc.expires, iso);
    rc = am_print_json(stdout, json_pack("{s:s, s:I, s:s}", "code", c.text, "member",
                                         (json_int_t)c.id, "expires", iso));
  } else {
    printf("%s\n", c.text);
    if (isatty(STDOUT_FILENO))
      printf("\nGive this code to member %llu (only to them: it logs in as them). On their "
             "own computer they run:\n  amicale login CODE\nIt works once, until %s.\n",
             (unsigned long long)c.id, when);
    rc = EXIT_OK;
  }
  am_wipe(c.text, sizeof c.text);
  return rc;
}

static int acct_key_row(const am_mkey *k, void *arg) {
  acct_ctx *c = arg;
  char kt[44];
  am_pubkey_to_text(k->key, kt);
  if (c->json) {
    json_t *o = json_pack("{s:s, s:o, s:o, s:o}", "key", kt, "added", json_time(k->added),
                          "last_used", json_time(k->last_used), "revoked",
                          k->revoked ? json_time(k->revoked) : json_null());
    if (!o || json_array_append_new(c->arr, o)) return AM_ENOMEM;
  } else {
    char added[24], used[24], rev[24] = "";
    am_time_short(k->added, added);
    am_time_short(k->last_used, used);
    if (k->revoked) am_time_short(k->revoked, rev);
    if (!c->count) printf("%-43s  %-20s  %-20s  %s\n", "KEY", "ADDED", "LAST USED", "REVOKED");
    printf("%-43s  %-20s  %-20s  %s\n", kt, added, used, k->revoked ? rev : "-");
  }
  c->count++;
  return 0;
}

static int acct_keys_fn(am_txn *t, void *arg) {
  acct_ctx *c = arg;
  c->count = 0;
  if (c->arr) json_array_clear(c->arr);
  int rc = resolve(t, c->ref, &c->id, c->err);
  am_member m;
  if (!rc && !(rc = am_members_get(t, c->id, &m, c->err))) am_member_free(&m);
  if (!rc) rc = am_accounts_keys_each(t, c->id, acct_key_row, c, c->err);
  if (rc == AM_ENOMEM) am_fail(c->err, rc, "out of memory");
  if (!rc && am_accounts_code_of(t, c->id, c->now, &c->mc) == 0) c->expires = c->mc.expires;
  return rc;
}

static int member_keys(int argc, char **argv) {
  static const am_opt spec[] = {{"json", false}, {NULL, false}};
  am_args a;
  am_node n;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos != 1) return am_cli_usage("usage: amicale member keys ID|EMAIL [--json]");
  am_error err = {0};
  acct_ctx c = {.ref = a.pos[0], .now = am_now(), .json = a.json, .err = &err};
  if (a.json && !(c.arr = json_array())) return am_cli_fail(AM_ENOMEM, &err);
  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE | AM_NODE_READ_ONLY))) {
    json_decref(c.arr);
    return rc;
  }
  rc = am_store_read(n.store, acct_keys_fn, &c, &err);
  am_node_close(&n);
  if (rc) {
    json_decref(c.arr);
    return am_cli_fail(rc, &err);
  }
  if (a.json) {
    char iso[21] = "";
    if (c.expires) am_time_format(c.expires, iso);
    return am_print_json(stdout, json_pack("{s:I, s:o, s:o}", "member", (json_int_t)c.id, "keys",
                                           c.arr, "pending_code_expires",
                                           c.expires ? json_string(iso) : json_null()));
  }
  if (!c.count)
    printf("Member %llu has not logged in from any computer (amicale member invite %llu makes a "
           "login code).\n", (unsigned long long)c.id, (unsigned long long)c.id);
  if (c.expires) {
    char when[24];
    am_time_short(c.expires, when);
    printf("A login code is pending until %s.\n", when);
  }
  return EXIT_OK;
}

static int acct_revoke_fn(am_txn *t, void *arg) {
  acct_ctx *c = arg;
  int rc = resolve(t, c->ref, &c->id, c->err);
  am_member m;
  if (!rc && !(rc = am_members_get(t, c->id, &m, c->err))) am_member_free(&m);
  if (!rc) rc = am_accounts_revoke(t, c->id, c->key, c->now, &c->count, c->err);
  return rc;
}

static int member_revoke(int argc, char **argv) {
  static const am_opt spec[] = {{NULL, false}};
  am_args a;
  am_node n;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos < 1 || a.npos > 2) return am_cli_usage("usage: amicale member revoke ID|EMAIL [KEY]");
  am_error err = {0};
  uint8_t key[AM_PUBKEY_BYTES];
  acct_ctx c = {.ref = a.pos[0], .now = am_now(), .err = &err};
  if (a.npos == 2) {
    if ((rc = am_pubkey_from_text(a.pos[1], key, &err))) return am_cli_fail(AM_EUSAGE, &err);
    c.key = key;
  }
  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE))) return rc;
  rc = am_store_write(n.store, acct_revoke_fn, &c, &err);
  am_node_close(&n);
  if (rc) return am_cli_fail(rc, &err);
  /* main() then tells a running amicaled, which closes the member's
   * open sessions at once (goodbye revoked). */
  if (c.count)
    printf("Revoked %zu key%s of member %llu: %s no longer open%s sessions with this node.\n",
           c.count, c.count == 1 ? "" : "s", (unsigned long long)c.id,
           c.count == 1 ? "it can" : "they can", c.count == 1 ? "" : "");
  else
    printf("Member %llu has no active key to revoke (any pending login code is cancelled).\n",
           (unsigned long long)c.id);
  return EXIT_OK;
}

static void member_help(void) {
  printf(
      "usage: amicale member COMMAND [options]\n"
      "\n"
      "  add     --given-name G --family-name F [--email E] [field options]\n"
      "  show    ID|EMAIL [--json]\n"
      "  edit    ID|EMAIL [field options]\n"
      "  remove  ID|EMAIL\n"
      "  list    [--sort name|promo] [--limit N] [--offset N] [--json]\n"
      "  search  [TEXT] [--promo 2010-2015] [--programme P] [--employer E] [--city C]\n"
      "          [--country C] [--sector S] [--skill S]... [--language L]... [--mentoring]\n"
      "          [--sort name|promo] [--limit N] [--offset N] [--json]\n"
      "  import  FILE.csv [--encoding E] [--separator ';'] [--map 'Column=field,...']\n"
      "          [--on-duplicate update|skip|error] [--strict] [--dry-run]\n"
      "  export  [--format csv|json|vcard] [--output FILE] [--excel] [search filters]\n"
      "  publish ID|EMAIL    announce the member's federated profile now (needs consent)\n"
      "  unpublish ID|EMAIL  withdraw it: clears the federation consent, retracts the profile\n"
      "  invite  ID|EMAIL [--expires 7d] [--address HOST:PORT] [--json]\n"
      "          a one-time login code for the member's own computer (amicale login CODE);\n"
      "          a new code replaces the member's older one (valid 1h to 30d)\n"
      "  keys    ID|EMAIL [--json]   the member's computers' keys: added, last used, revoked\n"
      "  revoke  ID|EMAIL [KEY]      revoke one key, or all of the member's keys (and code)\n"
      "\n"
      "Field options (lists take several values separated by ';' or ','):\n");
  for (int f = 0; f < AM_F__COUNT; f++) {
    const char *type = "";
    switch (am_fields[f].type) {
    case AM_T_LIST: type = "LIST"; break;
    case AM_T_YEAR: type = "YEAR"; break;
    case AM_T_BOOL: type = "yes|no"; break;
    case AM_T_DATE: type = "YYYY-MM-DD"; break;
    case AM_T_CONSENT: type = "yes|no|YYYY-MM-DD"; break;
    default: type = "TEXT"; break;
    }
    char flag[40];
    snprintf(flag, sizeof flag, "--%s", am_fields[f].name);
    for (char *p = flag; *p; p++)
      if (*p == '_') *p = '-';
    printf("  %-22s %-18s %s\n", flag, type, am_fields[f].label);
  }
  printf("  %-22s %-18s %s\n", "--visibility", "FIELD=LEVEL,...",
         "private (managers), school (members), federation (peers)");
}

/* ---- publish / unpublish ------------------------------------------------------ */

typedef struct pub_ctx {
  const char *ref;
  bool publish, changed;
  uint64_t id;
  am_error *err;
} pub_ctx;

static int publish_fn(am_txn *t, void *arg) {
  pub_ctx *c = arg;
  int rc = resolve(t, c->ref, &c->id, c->err);
  if (rc) return rc;
  return am_profile_publish(t, c->id, c->publish, am_now(), &c->changed, c->err);
}

static int member_publish(int argc, char **argv, bool publish) {
  static const am_opt spec[] = {{NULL, false}};
  am_args a;
  am_node n;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos != 1) return am_cli_usage("usage: amicale member %s ID|EMAIL", publish ? "publish" : "unpublish");
  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE))) return rc;
  am_error err = {0};
  pub_ctx c = {.ref = a.pos[0], .publish = publish, .err = &err};
  rc = am_store_write(n.store, publish_fn, &c, &err);
  am_node_close(&n);
  if (rc) return am_cli_fail(rc, &err);
  if (publish)
    printf(c.changed ? "Member %llu's profile announced to the federation.\n"
                     : "Member %llu's profile is already announced and current.\n",
           (unsigned long long)c.id);
  else
    printf(c.changed ? "Member %llu withdrawn from the federation (consent cleared, profile retracted).\n"
                     : "Member %llu was not shared with the federation.\n",
           (unsigned long long)c.id);
  return EXIT_OK;
}

int cmd_member(int argc, char **argv) {
  if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "help")) {
    member_help();
    return argc < 1 ? EXIT_USAGE : EXIT_OK;
  }
  /* `amicale member --dir D list`: the subcommand comes after --dir. */
  static char *moved[AM_ARGS_MAX + 2];
  int skip = !strcmp(argv[0], "--dir") ? 2 : !strncmp(argv[0], "--dir=", 6) ? 1 : 0;
  if (skip && argc > skip && argc <= AM_ARGS_MAX) {
    moved[0] = argv[skip];
    for (int i = 0; i < skip; i++) moved[1 + i] = argv[i];
    for (int i = skip + 1; i < argc; i++) moved[i] = argv[i];
    argv = moved;
  }
  const char *sub = argv[0];
  argc--, argv++;
  for (int i = 0; i < argc; i++)
    if (!strcmp(argv[i], "--help")) {
      member_help();
      return EXIT_OK;
    }
  if (!strcmp(sub, "add")) return member_add_or_edit(argc, argv, true);
  if (!strcmp(sub, "edit")) return member_add_or_edit(argc, argv, false);
  if (!strcmp(sub, "show")) return member_show_or_remove(argc, argv, false);
  if (!strcmp(sub, "remove") || !strcmp(sub, "rm")) return member_show_or_remove(argc, argv, true);
  if (!strcmp(sub, "list") || !strcmp(sub, "ls")) return member_search(argc, argv, true);
  if (!strcmp(sub, "search")) return member_search(argc, argv, false);
  if (!strcmp(sub, "import")) return cmd_member_import(argc, argv);
  if (!strcmp(sub, "publish")) return member_publish(argc, argv, true);
  if (!strcmp(sub, "unpublish")) return member_publish(argc, argv, false);
  if (!strcmp(sub, "export")) return cmd_member_export(argc, argv);
  if (!strcmp(sub, "invite")) return member_invite(argc, argv);
  if (!strcmp(sub, "keys")) return member_keys(argc, argv);
  if (!strcmp(sub, "revoke")) return member_revoke(argc, argv);
  return am_cli_usage("unknown command 'member %s' (see amicale member --help)", sub);
}
