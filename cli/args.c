/* Command-line parsing and the pieces every command shares (see cli.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int am_cli_exit_code(int rc) {
  switch (rc) {
  case AM_OK: return EXIT_OK;
  case AM_EUSAGE: return EXIT_USAGE;
  case AM_ENOTFOUND: return EXIT_NOTFOUND;
  case AM_EINVAL:
  case AM_ECORRUPT:
  case AM_ENEWER:
  case AM_ETOOBIG: return EXIT_INVALID;
  case AM_EEXIST: return EXIT_EXISTS;
  default: return EXIT_INTERNAL;
  }
}

int am_cli_fail(int rc, const am_error *err) {
  fprintf(stderr, "amicale: %s\n", am_error_text(err, rc));
  return am_cli_exit_code(rc);
}

int am_cli_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("amicale: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputs("\n", stderr);
  va_end(ap);
  return EXIT_USAGE;
}

static const am_opt *find_opt(const am_opt *spec, const char *name, size_t len) {
  for (const am_opt *o = spec; o && o->name; o++)
    if (strlen(o->name) == len && memcmp(o->name, name, len) == 0) return o;
  return NULL;
}

int am_args_parse(int argc, char **argv, const am_opt *spec, am_args *a) {
  memset(a, 0, sizeof *a);
  bool options = true;
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (!options || arg[0] != '-' || arg[1] == '\0') {
      if (a->npos >= AM_ARGS_MAX) return am_cli_usage("too many arguments");
      a->pos[a->npos++] = arg;
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      options = false;
      continue;
    }
    if (arg[1] != '-')
      return am_cli_usage("unknown option '%s' (options are spelled --name)", arg);
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const char *value = NULL;
    bool has_arg;
    if (len == 3 && memcmp(name, "dir", 3) == 0) {
      has_arg = true;
    } else if (len == 4 && memcmp(name, "json", 4) == 0 && find_opt(spec, name, len)) {
      has_arg = false;
    } else {
      const am_opt *o = find_opt(spec, name, len);
      if (!o) return am_cli_usage("unknown option '--%.*s' (see --help)", (int)len, name);
      has_arg = o->has_arg;
    }
    if (has_arg) {
      if (eq) value = eq + 1;
      else if (i + 1 < argc) value = argv[++i];
      else return am_cli_usage("option '--%.*s' needs a value", (int)len, name);
    } else if (eq) {
      return am_cli_usage("option '--%.*s' takes no value", (int)len, name);
    }
    if (len == 3 && memcmp(name, "dir", 3) == 0) {
      /* An empty --dir (an unset variable in a script) must not fall back
       * to the default node. */
      if (!*value) return am_cli_usage("--dir needs a directory");
      a->dir = value;
      continue;
    }
    if (len == 4 && memcmp(name, "json", 4) == 0) a->json = true;
    if (a->nopts >= AM_ARGS_MAX) return am_cli_usage("too many options");
    /* Names point into argv or spec, both outlive the parse. */
    a->opts[a->nopts].name = find_opt(spec, name, len)->name;
    a->opts[a->nopts].value = value;
    a->nopts++;
  }
  return 0;
}

const char *am_args_get(const am_args *a, const char *name) {
  for (int i = a->nopts - 1; i >= 0; i--)
    if (strcmp(a->opts[i].name, name) == 0) return a->opts[i].value;
  return NULL;
}

bool am_args_has(const am_args *a, const char *name) {
  for (int i = 0; i < a->nopts; i++)
    if (strcmp(a->opts[i].name, name) == 0) return true;
  return false;
}

int am_args_size(const am_args *a, const char *name, size_t def, size_t *out) {
  const char *v = am_args_get(a, name);
  *out = def;
  if (!v) return 0;
  char *end;
  errno = 0;
  unsigned long long n = strtoull(v, &end, 10);
  if (!*v || *end || errno || v[0] == '-')
    return am_cli_usage("--%s expects a whole number, not '%s'", name, v);
  *out = (size_t)n;
  return 0;
}

static char written_dir[4096];

const char *am_cli_written_dir(void) { return written_dir[0] ? written_dir : NULL; }

int am_cli_open(const am_args *a, am_node *n, int flags) {
  char dir[4096];
  am_error err = {0};
  /* A command that writes may change what the node announces (a member's
   * federated profile follows the record): it signs with the node key. */
  bool writing = (flags & AM_NODE_STORE) && !(flags & AM_NODE_READ_ONLY);
  if (writing) flags |= AM_NODE_KEY;
  int rc = am_datadir_resolve(a->dir, dir, sizeof dir, &err);
  if (!rc) rc = am_node_open(n, dir, flags, &err);
  if (rc) return am_cli_fail(rc, &err);
  if (writing) {
    am_store_set_signer(n->store, &n->id);
    snprintf(written_dir, sizeof written_dir, "%s", dir);
  }
  return 0;
}
