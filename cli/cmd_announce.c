/* `amicale announcement ...`: the signed announcements a node holds, and
 * exchanging them by file. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/ann_json.h"
#include "cli/cli.h"
#include "crypto/sign.h"
#include "proto/member_json.h"
#include "store/announcements.h"
#include "store/ingest.h"


/* ---- files ---------------------------------------------------------------- */

typedef struct mapped {
  const uint8_t *p;
  size_t len;
} mapped;

static int map_file(const char *path, mapped *m, am_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return am_fail(err, errno == ENOENT ? AM_ENOTFOUND : AM_EIO, "cannot open %s: %s", path,
                   strerror(errno));
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    close(fd);
    return am_fail(err, AM_EINVAL, "%s is not a regular file", path);
  }
  m->len = (size_t)st.st_size;
  m->p = NULL;
  if (m->len) {
    void *p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      close(fd);
      return am_fail(err, AM_EIO, "cannot read %s: %s", path, strerror(errno));
    }
    m->p = p;
  }
  close(fd);
  return 0;
}

static void unmap_file(mapped *m) {
  if (m->p) munmap((void *)m->p, m->len);
  m->p = NULL;
}

/* ---- names -------------------------------------------------------------------- */

static void key_text(const uint8_t *k, char out[AM_PUBKEY_TEXT_LEN + 1]) { am_pubkey_to_text(k, out); }

static void origin_label(am_txn *t, const am_node *n, const uint8_t *origin, char *out, size_t len) {
  if (memcmp(origin, n->id.pk, AM_ANN_KEY_BYTES) == 0) {
    snprintf(out, len, "%s (this node)", n->conf.name);
    return;
  }
  am_trust tr;
  if (am_trust_get(t, origin, &tr) == 0) {
    snprintf(out, len, "%s", tr.name[0] ? tr.name : "(trusted, no name)");
    return;
  }
  snprintf(out, len, "(not trusted)");
}

/* ---- announcement show ----------------------------------------------------------- */

typedef struct show_ctx {
  const am_node *n;
  const am_args *a;
  am_error *err;
  int status;
} show_ctx;

static void print_hex_lines(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i += 32) {
    printf("    %06zx ", i);
    for (size_t k = i; k < n && k < i + 32; k++) printf("%02x", p[k]);
    putchar('\n');
  }
}

static int ann_show_fn(am_txn *t, void *arg) {
  show_ctx *c = arg;
  uint8_t id[AM_ANN_ID_BYTES];
  int rc = am_ann_find(t, c->a->pos[0], id, c->err);
  if (rc) return rc == AM_EINVAL ? AM_EUSAGE : rc;
  const uint8_t *p;
  size_t len;
  if ((rc = am_ann_get(t, id, &p, &len))) return am_fail(c->err, rc, "cannot read the announcement");
  /* Verified when it came in; checked again here, from the stored bytes. */
  am_ann a;
  int reason;
  am_error verr = {0};
  bool valid = am_ann_open(p, len, &a, &reason, &verr) == 0;
  if (!valid && am_ann_decode(p, len, &a, &reason, c->err)) {
    am_error_prefix(c->err, "stored announcement damaged: ");
    return AM_ECORRUPT;
  }
  memcpy(a.id, id, sizeof id);
  /* This node's own key is always trusted (am_trusted knows it only when
   * the store has a signer, and show opens the store read-only). */
  bool trusted = memcmp(a.origin, c->n->id.pk, AM_ANN_KEY_BYTES) == 0 || am_trusted(t, a.origin);
  char label[256], key[AM_PUBKEY_TEXT_LEN + 1], hex[65], when[21];
  origin_label(t, c->n, a.origin, label, sizeof label);
  key_text(a.origin, key);
  if (c->a->json) {
    json_t *j = am_ann_to_json(&a);
    if (j) {
      json_object_set_new(j, "size", json_integer((json_int_t)len));
      json_object_set_new(j, "signature_valid", json_boolean(valid));
      json_object_set_new(j, "origin_trusted", json_boolean(trusted));
      if (am_args_has(c->a, "raw")) {
        char *h = malloc(2 * len + 1);
        if (h) {
          for (size_t i = 0; i < len; i++) snprintf(h + 2 * i, 3, "%02x", p[i]);
          json_object_set_new(j, "envelope_hex", json_string(h));
          free(h);
        }
      }
    }
    c->status = am_print_json(stdout, j);
    am_ann_free(&a);
    return 0;
  }
  am_ann_id_hex(id, hex);
  printf("Announcement %s\n", hex);
  printf("  %-12s %s\n", "kind", am_ann_kinds[a.kind].name);
  printf("  %-12s %s  %s\n", "origin", key, label);
  printf("  %-12s %llu\n", "object", (unsigned long long)a.object);
  printf("  %-12s %llu\n", "version", (unsigned long long)a.version);
  am_time_format((int64_t)a.created, when);
  printf("  %-12s %s\n", "created", when);
  if (a.expires) am_time_format((int64_t)a.expires, when);
  printf("  %-12s %s\n", "expires", a.expires ? when : "never");
  printf("  %-12s %zu bytes\n", "size", len);
  printf("  body:\n");
  const am_kind_desc *kd = &am_ann_kinds[a.kind];
  for (uint32_t f = 0; f < kd->nfields; f++) {
    am_buf v = {0};
    am_ann_format(&a, f, &v);
    printf("    [%2u] %-18s %s\n", (unsigned)f, kd->fields[f].name, a.body[f].set ? (v.data ? v.data : "") : "nil");
    am_buf_free(&v);
  }
  printf("  %-12s ", "signature");
  for (int i = 0; i < AM_ANN_SIG_BYTES; i++) printf("%02x", a.sig[i]);
  printf("\n  %-12s %s\n", "verified", valid ? "yes: signed by the origin's key" : verr.msg);
  printf("  %-12s %s\n", "trusted", trusted ? "yes" : "no");
  if (am_args_has(c->a, "raw")) {
    printf("  envelope bytes:\n");
    print_hex_lines(p, len);
  }
  am_ann_free(&a);
  c->status = EXIT_OK;
  return 0;
}

static int ann_show(int argc, char **argv) {
  static const am_opt spec[] = {{"raw", false}, {"json", false}, {NULL, false}};
  am_args a;
  am_node n;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos != 1) return am_cli_usage("usage: amicale announcement show ID [--raw] [--json]");
  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE | AM_NODE_READ_ONLY | AM_NODE_KEY))) return rc;
  am_error err = {0};
  show_ctx c = {&n, &a, &err, EXIT_OK};
  rc = am_store_read(n.store, ann_show_fn, &c, &err);
  am_node_close(&n);
  return rc ? am_cli_fail(rc, &err) : c.status;
}

/* ---- announcement verify ----------------------------------------------------------- */

static int ann_verify(int argc, char **argv) {
  static const am_opt spec[] = {{"json", false}, {NULL, false}};
  am_args a;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos != 1) return am_cli_usage("usage: amicale announcement verify FILE [--json]");
  am_error err = {0};
  mapped m;
  if ((rc = map_file(a.pos[0], &m, &err))) return am_cli_fail(rc, &err);
  am_ann ann;
  int reason = AM_REJ_NONE;
  rc = am_ann_open(m.p ? m.p : (const uint8_t *)"", m.len, &ann, &reason, &err);
  size_t used;
  int r2;
  if (rc == AM_EINVAL && reason == AM_REJ_MALFORMED && m.len &&
      am_ann_frame(m.p, m.len, &used, &r2) == 0 && used < m.len)
    am_fail(&err, AM_EINVAL, "the file holds more than one announcement (the first is %zu of its %zu "
            "bytes): use `amicale announcement import` for files of several", used, m.len);
  unmap_file(&m);
  if (rc == AM_ENOMEM) return am_cli_fail(rc, &err);
  char key[AM_PUBKEY_TEXT_LEN + 1], hex[65];
  if (a.json) {
    json_t *j = rc ? json_pack("{s:b, s:s, s:s}", "valid", 0, "reason", am_reject_name(reason),
                               "message", err.msg)
                   : json_pack("{s:b, s:o}", "valid", 1, "announcement", am_ann_to_json(&ann));
    if (!rc) am_ann_free(&ann);
    int st = am_print_json(stdout, j);
    return rc ? EXIT_INVALID : st;
  }
  if (rc) {
    printf("%s: INVALID (%s): %s\n", a.pos[0], am_reject_name(reason), err.msg);
    return EXIT_INVALID;
  }
  key_text(ann.origin, key);
  am_ann_id_hex(ann.id, hex);
  printf("%s: valid %s announcement, object %llu version %llu\n  id     %s\n  origin %s\n",
         a.pos[0], am_ann_kinds[ann.kind].name, (unsigned long long)ann.object,
         (unsigned long long)ann.version, hex, key);
  am_ann_free(&ann);
  return EXIT_OK;
}

/* ---- announcement import ----------------------------------------------------------- */

typedef struct import_ctx {
  const char *path;
  int bad_reason; /* of the last refusal (the unreadable end, if any) */
} import_ctx;

/* Verdicts arrive in file order, each batch after it committed. */
static int import_report(size_t offset, size_t len, const am_ingest *r, const char *msg,
                         void *arg) {
  import_ctx *c = arg;
  (void)len;
  if (r->reason == AM_REJ_NONE) return 0;
  fprintf(stderr, "%s: byte %zu: rejected (%s): %s\n", c->path, offset, am_reject_name(r->reason), msg);
  c->bad_reason = r->reason;
  return 0;
}

static int prune_fn(am_txn *t, void *arg) {
  return am_ann_prune(t, *(int64_t *)arg, NULL, NULL);
}

static int ann_import(int argc, char **argv) {
  static const am_opt spec[] = {{"json", false}, {NULL, false}};
  am_args a;
  am_node n;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos != 1) return am_cli_usage("usage: amicale announcement import FILE");
  am_error err = {0};
  mapped m;
  if ((rc = map_file(a.pos[0], &m, &err))) return am_cli_fail(rc, &err);
  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE))) { unmap_file(&m); return rc; }
  int64_t now = am_now();
  /* Signatures are checked on a second core while the store applies. */
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  am_ingest_opts o = {.now = now, .threads = cores >= 2 ? 2 : 1};
  am_ingest_totals tot = {0};
  import_ctx c = {.path = a.pos[0]};
  rc = am_store_write(n.store, prune_fn, &now, &err);
  if (!rc && m.len)
    rc = am_ann_ingest_buffer(n.store, m.p, m.len, &o, import_report, &c, &tot, &err);
  unmap_file(&m);
  am_node_close(&n);
  if (rc) return am_cli_fail(rc, &err);
  size_t total = tot.seen - (tot.unread ? 1 : 0);
  size_t refused = tot.refused - (tot.unread ? 1 : 0);
  if (a.json) {
    json_t *by = json_object();
    for (int i = 1; i < AM_REJ__COUNT; i++) {
      size_t k = tot.by_reason[i] - (tot.unread && i == c.bad_reason ? 1 : 0);
      if (k) json_object_set_new(by, am_reject_name(i), json_integer((json_int_t)k));
    }
    rc = am_print_json(stdout, json_pack("{s:I, s:I, s:I, s:I, s:o, s:b}", "announcements", (json_int_t)total,
                                         "accepted", (json_int_t)tot.applied, "already_held",
                                         (json_int_t)tot.duplicate, "rejected", (json_int_t)refused,
                                         "rejected_by_reason", by, "complete", tot.unread == 0));
  } else {
    printf("%zu announcement%s: %zu accepted, %zu already held, %zu rejected\n", total,
           total == 1 ? "" : "s", tot.applied, tot.duplicate, refused);
    rc = EXIT_OK;
  }
  /* The report said where the file stops being announcements. */
  if (tot.unread) return EXIT_INVALID;
  return rc;
}

/* ---- announcement export / list ------------------------------------------------------- */

typedef struct each_ctx {
  const am_node *n;
  const am_args *a;
  int kind;
  bool has_origin;
  uint8_t origin[AM_ANN_KEY_BYTES];
  uint64_t since;
  int64_t now; /* what has expired is left out */
  am_ann_cb each; /* export_one or list_one */
  FILE *out;
  size_t count;
  json_t *arr;
  am_error *err;
} each_ctx;

/* Whether a held announcement is one the --kind/--origin options ask
 * for. What has expired is left out even before a write prunes it: it is
 * no longer offered (and a receiver would refuse it). */
static bool selected(const each_ctx *c, const am_ann *a) {
  return (c->kind < 0 || a->kind == c->kind) &&
         (!c->has_origin || memcmp(a->origin, c->origin, AM_ANN_KEY_BYTES) == 0) &&
         (!a->expires || c->now < 0 || a->expires > (uint64_t)c->now);
}

/* --kind, --origin and --since into c (shared by list and export). */
static int parse_selection(const am_args *a, each_ctx *c, am_error *err) {
  const char *k = am_args_get(a, "kind");
  c->kind = -1;
  if (k && (c->kind = am_ann_kind_parse(k)) < 0)
    return am_cli_usage("--kind '%s' is not one of node, profile, event, job, retraction", k);
  const char *origin = am_args_get(a, "origin");
  if (origin) {
    if (am_pubkey_from_text(origin, c->origin, err)) return am_cli_fail(AM_EUSAGE, err);
    c->has_origin = true;
  }
  size_t since = 0;
  int rc = am_args_size(a, "since", 0, &since);
  if (rc) return rc;
  if (since && !origin) return am_cli_usage("--since needs --origin (versions are counted per origin)");
  c->since = since;
  c->now = am_now();
  return 0;
}

static int export_one(am_txn *t, const uint8_t *id, const uint8_t *env, size_t len, void *arg) {
  each_ctx *c = arg;
  (void)t, (void)id;
  am_ann a;
  int reason;
  if (am_ann_decode(env, len, &a, &reason, c->err)) return AM_ECORRUPT;
  bool keep = selected(c, &a);
  am_ann_free(&a);
  if (!keep) return 0;
  if (fwrite(env, 1, len, c->out) != len) return am_fail(c->err, AM_EIO, "cannot write: %s", strerror(errno));
  c->count++;
  return 0;
}

/* The walk that serves the selection: by origin and version when an
 * origin is given, else by kind. */
static int walk_fn(am_txn *t, void *arg) {
  each_ctx *c = arg;
  if (c->has_origin) return am_ann_each_since(t, c->origin, c->since, c->each, c);
  return am_ann_each_kind(t, c->kind, c->each, c);
}

static int ann_export(int argc, char **argv) {
  static const am_opt spec[] = {{"output", true}, {"origin", true}, {"since", true},
                                {"kind", true}, {NULL, false}};
  am_args a;
  am_node n;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos) return am_cli_usage("usage: amicale announcement export [--output FILE] [--origin KEY [--since VERSION]] [--kind K]");
  am_error err = {0};
  each_ctx c = {.a = &a, .err = &err};
  if ((rc = parse_selection(&a, &c, &err))) return rc;
  const char *path = am_args_get(&a, "output");
  if (!path && isatty(STDOUT_FILENO))
    return am_cli_usage("announcements are binary: give --output FILE or redirect the output");
  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE | AM_NODE_READ_ONLY | AM_NODE_KEY))) return rc;
  c.n = &n;
  char tmp[4200] = "";
  if (path) {
    /* Written beside the target and renamed: no half file on failure. */
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0 || !(c.out = fdopen(fd, "wb"))) {
      int e = errno;
      if (fd >= 0) {
        close(fd);
        unlink(tmp);
      }
      am_node_close(&n);
      return am_cli_fail(am_fail(&err, AM_EIO, "cannot create %s: %s", path, strerror(e)), &err);
    }
  } else {
    c.out = stdout;
  }
  c.each = export_one;
  rc = am_store_read(n.store, walk_fn, &c, &err);
  if (path) {
    if (!rc && (fflush(c.out) || fsync(fileno(c.out))))
      rc = am_fail(&err, AM_EIO, "cannot write %s: %s", path, strerror(errno));
    if (fclose(c.out) && !rc) rc = am_fail(&err, AM_EIO, "cannot write %s: %s", path, strerror(errno));
    if (!rc && rename(tmp, path)) rc = am_fail(&err, AM_EIO, "cannot write %s: %s", path, strerror(errno));
    if (rc) unlink(tmp);
  }
  am_node_close(&n);
  if (rc) return am_cli_fail(rc, &err);
  if (path) fprintf(stderr, "%zu announcement%s written to %s\n", c.count, c.count == 1 ? "" : "s", path);
  return EXIT_OK;
}

static int list_one(am_txn *t, const uint8_t *id, const uint8_t *env, size_t len, void *arg) {
  each_ctx *c = arg;
  am_ann a;
  int reason;
  if (am_ann_decode(env, len, &a, &reason, c->err)) return AM_ECORRUPT;
  memcpy(a.id, id, AM_ANN_ID_BYTES);
  if (!selected(c, &a)) {
    am_ann_free(&a);
    return 0;
  }
  char label[256], key[AM_PUBKEY_TEXT_LEN + 1], hex[65], when[21];
  origin_label(t, c->n, a.origin, label, sizeof label);
  if (c->arr) {
    json_t *j = am_ann_to_json(&a);
    if (j) json_object_set_new(j, "origin_name", json_string(label));
    json_array_append_new(c->arr, j);
  } else {
    key_text(a.origin, key);
    am_ann_id_hex(id, hex);
    am_time_format((int64_t)a.created, when);
    const char *what = a.kind == AM_K_RETRACTION
                           ? am_ann_kinds[a.body[AM_RET_KIND].u].name
                           : (a.body[0].set && a.body[0].s ? a.body[0].s : "");
    printf("%.12s  %-10s  %-6llu v%-5llu  %s  %.10s…  %s%s%s\n", hex, am_ann_kinds[a.kind].name,
           (unsigned long long)a.object, (unsigned long long)a.version, when, key, label,
           *what ? "  " : "", what);
  }
  c->count++;
  am_ann_free(&a);
  return 0;
}


static int ann_list(int argc, char **argv) {
  static const am_opt spec[] = {{"origin", true}, {"since", true}, {"kind", true}, {"json", false}, {NULL, false}};
  am_args a;
  am_node n;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos) return am_cli_usage("usage: amicale announcement list [--origin KEY [--since V]] [--kind K] [--json]");
  am_error err = {0};
  each_ctx c = {.a = &a, .err = &err};
  if ((rc = parse_selection(&a, &c, &err))) return rc;
  if ((rc = am_cli_open(&a, &n, AM_NODE_STORE | AM_NODE_READ_ONLY | AM_NODE_KEY))) return rc;
  c.n = &n;
  if (a.json) c.arr = json_array();
  c.each = list_one;
  rc = am_store_read(n.store, walk_fn, &c, &err);
  am_node_close(&n);
  if (rc) {
    json_decref(c.arr);
    if (rc == AM_ECORRUPT && !err.msg[0]) am_fail(&err, rc, "a stored announcement is damaged");
    return am_cli_fail(rc, &err);
  }
  if (a.json) return am_print_json(stdout, c.arr);
  if (!c.count) printf("No announcements.\n");
  return EXIT_OK;
}

int cmd_announcement(int argc, char **argv) {
  if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "help")) {
    printf("usage: amicale announcement COMMAND\n\n"
           "  list [--kind K] [--origin KEY [--since V]] [--json]\n"
           "                       the announcements this node holds\n"
           "  show ID [--raw] [--json]   one of them, decoded, with its verification\n"
           "  verify FILE          check a file holding one announcement\n"
           "  import FILE          ingest a file of announcements (from another node)\n"
           "  export [--output FILE] [--origin KEY [--since V]] [--kind K]\n"
           "                       write announcements for another node to import\n");
    return argc < 1 ? EXIT_USAGE : EXIT_OK;
  }
  const char *sub = argv[0];
  argc--, argv++;
  if (!strcmp(sub, "show")) return ann_show(argc, argv);
  if (!strcmp(sub, "verify")) return ann_verify(argc, argv);
  if (!strcmp(sub, "import")) return ann_import(argc, argv);
  if (!strcmp(sub, "export")) return ann_export(argc, argv);
  if (!strcmp(sub, "list") || !strcmp(sub, "ls")) return ann_list(argc, argv);
  return am_cli_usage("unknown command 'announcement %s' (see amicale announcement --help)", sub);
}
