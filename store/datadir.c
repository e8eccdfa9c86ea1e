/* The data directory: where a node lives, its config and creation (see
 * datadir.h). The config file is parsed by inih (Debian's libinih). */
#include "store/datadir.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/text.h"

static const char *const kinds[] = {"school", "company", "association", "federation"};

const char *am_kind_name(int kind) {
  return kind >= 0 && kind < 4 ? kinds[kind] : "?";
}

int am_kind_parse(const char *s) {
  /* French spellings too: alumni managers type what they say. */
  static const struct { const char *w; int k; } words[] = {
    {"school", AM_KIND_SCHOOL}, {"ecole", AM_KIND_SCHOOL},
    {"university", AM_KIND_SCHOOL}, {"universite", AM_KIND_SCHOOL},
    {"company", AM_KIND_COMPANY}, {"entreprise", AM_KIND_COMPANY},
    {"association", AM_KIND_ASSOCIATION},
    {"federation", AM_KIND_FEDERATION},
  };
  char *c = NULL;
  int k = -1;
  if (!s || am_text_compact(s, strlen(s), &c)) return -1;
  for (size_t i = 0; i < sizeof words / sizeof *words; i++)
    if (strcmp(c, words[i].w) == 0) k = words[i].k;
  free(c);
  return k;
}

int am_size_parse(const char *s, size_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (end == s || errno || *s == '-') return AM_EINVAL;
  unsigned long long mul = 1;
  switch (*end) {
  case '\0': break;
  case 'k': case 'K': mul = 1ULL << 10; end++; break;
  case 'm': case 'M': mul = 1ULL << 20; end++; break;
  case 'g': case 'G': mul = 1ULL << 30; end++; break;
  case 't': case 'T': mul = 1ULL << 40; end++; break;
  default: return AM_EINVAL;
  }
  if (*end == 'i' || *end == 'B') end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
  if (*end) return AM_EINVAL;
  if (v > (unsigned long long)SIZE_MAX / mul) return AM_EINVAL;
  *out = (size_t)(v * mul);
  return 0;
}

int am_datadir_resolve(const char *explicit_dir, char *out, size_t outlen,
                       am_error *err) {
  const char *d = explicit_dir;
  const char *tail = "";
  if (!d || !*d) d = getenv("AMICALE_DIR");
  if (!d || !*d) d = getenv("AMICALE_HOME");
  if (!d || !*d) {
    d = getenv("XDG_DATA_HOME");
    tail = "/amicale";
    if (!d || !*d) {
      d = getenv("HOME");
      tail = "/.local/share/amicale";
    }
    if (!d || !*d)
      return am_fail(err, AM_EUSAGE, "no data directory: set AMICALE_HOME or use --dir");
  }
  if ((size_t)snprintf(out, outlen, "%s%s", d, tail) >= outlen)
    return am_fail(err, AM_EUSAGE, "data directory path too long");
  return 0;
}

/* ---- config ------------------------------------------------------------ */

typedef struct parse {
  am_config *conf;
  am_error *err;
  int rc;
  bool have_name, have_kind;
} parse;

/* inih (Debian's build) reports the line of the first setting the handler
 * refuses as its return value; messages get "line N: " from the caller. */
static int on_setting(void *user, const char *section, const char *name,
                      const char *value) {
  parse *p = user;
  if (p->rc) return 0;
  if (strcmp(section, "node") == 0 && strcmp(name, "name") == 0) {
    if (strlen(value) > AM_NAME_MAX || !am_utf8_valid(value, strlen(value)) || !*value) {
      p->rc = am_fail(p->err, AM_EINVAL, "the node name must be 1 to %d bytes of UTF-8", AM_NAME_MAX);
      return 0;
    }
    strcpy(p->conf->name, value);
    p->have_name = true;
  } else if (strcmp(section, "node") == 0 && strcmp(name, "kind") == 0) {
    if ((p->conf->kind = am_kind_parse(value)) < 0) {
      p->rc = am_fail(p->err, AM_EINVAL,
                      "kind '%s' is not one of school, company, association, federation", value);
      return 0;
    }
    p->have_kind = true;
  } else if (strcmp(section, "store") == 0 && strcmp(name, "map_size") == 0) {
    if (am_size_parse(value, &p->conf->map_size) || p->conf->map_size < (1 << 20)) {
      p->rc = am_fail(p->err, AM_EINVAL, "map_size '%s' is not a size of at least 1M (e.g. 64M, 1G)", value);
      return 0;
    }
  } else if (strcmp(section, "network") == 0 && strcmp(name, "listen") == 0) {
    if ((p->rc = am_addr_parse_listen(value, &p->conf->listen, p->err))) {
      am_error_prefix(p->err, "listen: ");
      return 0;
    }
  } else if (strcmp(section, "network") == 0 && strcmp(name, "public_address") == 0) {
    /* Empty: not set (the line kept as a reminder). */
    p->conf->has_public_address = false;
    if (*value && (p->rc = am_addr_parse(value, &p->conf->public_address, p->err))) {
      am_error_prefix(p->err, "public_address: ");
      return 0;
    }
    p->conf->has_public_address = *value != '\0';
  } else if (strcmp(section, "network") == 0 && strcmp(name, "max_connections") == 0) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(value, &end, 10);
    if (!*value || *end || errno || *value == '-' || *value == '+' || v < 1 ||
        v > AM_MAX_CONNECTIONS_LIMIT) {
      p->rc = am_fail(p->err, AM_EINVAL, "max_connections '%s' is not a number from 1 to %d", value,
                      AM_MAX_CONNECTIONS_LIMIT);
      return 0;
    }
    p->conf->max_connections = (unsigned)v;
  } else {
    p->rc = am_fail(p->err, AM_EINVAL, "unknown setting '%s' in section [%s]", name, section);
    return 0;
  }
  return 1;
}

/* What a config without a [network] section means. */
static void network_defaults(am_config *conf) {
  am_addr_parse_listen(AM_DEFAULT_LISTEN, &conf->listen, NULL);
  conf->has_public_address = false;
  memset(&conf->public_address, 0, sizeof conf->public_address);
  conf->max_connections = AM_DEFAULT_MAX_CONNECTIONS;
}

int am_config_read(const char *dir, am_config *conf, am_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/amicale.conf", dir);
  memset(conf, 0, sizeof *conf);
  FILE *f = fopen(path, "r");
  if (!f) {
    if (errno == ENOENT)
      return am_fail(err, AM_ENOTFOUND,
                     "%s is not an Amicale data directory (no amicale.conf); create a node with "
                     "`amicale init --name NAME --kind school` or point to one with --dir",
                     dir);
    return am_fail(err, AM_EIO, "cannot read %s: %s", path, strerror(errno));
  }
  network_defaults(conf);
  parse p = {.conf = conf, .err = err};
  int line = ini_parse_file(f, on_setting, &p);
  fclose(f);
  if (p.rc) {
    am_error_prefix(err, "%s, line %d: ", path, line);
    return p.rc;
  }
  if (line != 0)
    return am_fail(err, AM_EINVAL, "%s, line %d: not a valid setting line (expected name = value)",
                   path, line);
  if (!p.have_name || !p.have_kind)
    return am_fail(err, AM_EINVAL, "%s: [node] needs both name and kind", path);
  return 0;
}

/* c's [network] values are written when set (listen_set, and
 * has_public_address), else as commented examples. */
static int config_write(const char *dir, const am_config *c, bool listen_set, am_error *err) {
  char path[4200], tmp[4200];
  snprintf(path, sizeof path, "%s/amicale.conf", dir);
  snprintf(tmp, sizeof tmp, "%s/amicale.conf.tmp", dir);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return am_fail(err, AM_EIO, "cannot write %s: %s", tmp, strerror(errno));
  FILE *f = fdopen(fd, "w");
  if (!f) {
    close(fd);
    return am_fail(err, AM_EIO, "cannot write %s: %s", tmp, strerror(errno));
  }
  fprintf(f,
          "# Amicale node configuration. Lines starting with # are comments.\n"
          "\n"
          "[node]\n"
          "# The institution's name, as other nodes and members will see it.\n"
          "name = %s\n"
          "# school, company, association or federation\n"
          "kind = %s\n"
          "\n"
          "[store]\n"
          "# Starting size of the database map (it grows by itself when full).\n"
          "map_size = %zuM\n",
          c->name, am_kind_name(c->kind), c->map_size >> 20);
  char listen[AM_ADDR_TEXT_MAX + 1], pub[AM_ADDR_TEXT_MAX + 1];
  am_addr_format(&c->listen, listen);
  if (c->has_public_address) am_addr_format(&c->public_address, pub);
  fprintf(f,
          "\n"
          "[network]\n"
          "# Where amicaled accepts connections from other nodes: HOST:PORT, or\n"
          "# *:PORT for every address of this machine (default %s).\n"
          "%slisten = %s\n"
          "# The HOST:PORT other nodes use to reach this one, written into the\n"
          "# invitations it makes (amicale invite create).\n"
          "%spublic_address = %s\n"
          "# The most connections amicaled keeps open at once (default %d).\n"
          "# max_connections = %d\n",
          AM_DEFAULT_LISTEN, listen_set ? "" : "# ", listen_set ? listen : AM_DEFAULT_LISTEN,
          c->has_public_address ? "" : "# ", c->has_public_address ? pub : "alumni.example.org:7400",
          AM_DEFAULT_MAX_CONNECTIONS, AM_DEFAULT_MAX_CONNECTIONS);
  int rc = 0;
  if (fflush(f) || fsync(fileno(f))) rc = errno;
  if (fclose(f) && !rc) rc = errno;
  if (!rc && rename(tmp, path)) rc = errno;
  if (rc) {
    unlink(tmp);
    return am_fail(err, AM_EIO, "cannot write %s: %s", path, strerror(rc));
  }
  return 0;
}

/* ---- create / open ------------------------------------------------------ */

static int mkdir_p(const char *dir, am_error *err) {
  char buf[4096];
  if (strlen(dir) >= sizeof buf) return am_fail(err, AM_EUSAGE, "path too long: %s", dir);
  strcpy(buf, dir);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0755) && errno != EEXIST)
      return am_fail(err, AM_EIO, "cannot create %s: %s", buf, strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, 0700) && errno != EEXIST)
    return am_fail(err, AM_EIO, "cannot create %s: %s", buf, strerror(errno));
  struct stat st;
  if (stat(buf, &st) || !S_ISDIR(st.st_mode))
    return am_fail(err, AM_EUSAGE, "%s exists and is not a directory", buf);
  return 0;
}

int am_node_create(const char *dir, const char *name, int kind, size_t map_size,
                   am_error *err) {
  am_node_opts o = {.name = name, .kind = kind, .map_size = map_size};
  return am_node_create_opts(dir, &o, err);
}

int am_node_create_opts(const char *dir, const am_node_opts *o, am_error *err) {
  const char *name = o->name ? o->name : "";
  int kind = o->kind;
  size_t map_size = o->map_size;
  char conf_path[4200], key_path[4200], store_path[4200];
  am_identity id = {0};
  am_store *st = NULL;
  bool made_key = false, made_store = false;
  int rc;
  snprintf(conf_path, sizeof conf_path, "%s/amicale.conf", dir);
  snprintf(key_path, sizeof key_path, "%s/node.key", dir);
  snprintf(store_path, sizeof store_path, "%s/store", dir);

  am_config c = {.kind = kind, .map_size = map_size ? map_size : AM_STORE_DEFAULT_MAP};
  size_t nl = strlen(name);
  if (!nl || nl > AM_NAME_MAX || !am_utf8_valid(name, nl))
    return am_fail(err, AM_EUSAGE, "the node name must be 1 to %d bytes of UTF-8", AM_NAME_MAX);
  for (const char *p = name; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == ';' || *p == '#')
      return am_fail(err, AM_EUSAGE, "the node name cannot contain line breaks, ';' or '#'");
  if (name[0] == ' ' || name[nl - 1] == ' ')
    return am_fail(err, AM_EUSAGE, "the node name cannot start or end with a space");
  strcpy(c.name, name);
  network_defaults(&c);
  /* A bad address is the caller's mistake (usage), found before anything
   * is created. */
  if (o->listen && am_addr_parse_listen(o->listen, &c.listen, err)) {
    am_error_prefix(err, "listen: ");
    if (err) err->code = AM_EUSAGE;
    return AM_EUSAGE;
  }
  if (o->public_address && *o->public_address) {
    if (am_addr_parse(o->public_address, &c.public_address, err)) {
      am_error_prefix(err, "public address: ");
      if (err) err->code = AM_EUSAGE;
      return AM_EUSAGE;
    }
    c.has_public_address = true;
  }

  struct stat sb;
  if (stat(conf_path, &sb) == 0 || stat(key_path, &sb) == 0 || stat(store_path, &sb) == 0)
    return am_fail(err, AM_EEXIST,
                   "%s already holds an Amicale node; refusing to overwrite it (use another --dir)", dir);
  if ((rc = mkdir_p(dir, err))) return rc;
  if ((rc = am_identity_generate(&id, err))) goto fail;
  if ((rc = am_identity_save(&id, key_path, err))) goto fail;
  made_key = true;
  am_store_opts so = {.map_size = c.map_size, .create = true};
  made_store = true;
  if ((rc = am_store_open(&st, dir, &so, err))) goto fail;
  am_store_close(st);
  st = NULL;
  if ((rc = config_write(dir, &c, o->listen != NULL, err))) goto fail;
  am_identity_wipe(&id);
  return 0;
fail:
  am_identity_wipe(&id);
  if (made_key) unlink(key_path);
  if (made_store) {
    char p[4300];
    snprintf(p, sizeof p, "%s/data.mdb", store_path);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", store_path);
    unlink(p);
    rmdir(store_path);
  }
  return rc;
}

int am_node_open(am_node *n, const char *dir, int flags, am_error *err) {
  memset(n, 0, sizeof *n);
  if (strlen(dir) >= sizeof n->dir) return am_fail(err, AM_EUSAGE, "path too long: %s", dir);
  strcpy(n->dir, dir);
  int rc = am_config_read(dir, &n->conf, err);
  if (rc) return rc;
  if (flags & AM_NODE_KEY) {
    char key_path[4200];
    snprintf(key_path, sizeof key_path, "%s/node.key", dir);
    if ((rc = am_identity_load(&n->id, key_path, err))) return rc;
  }
  if (flags & AM_NODE_STORE) {
    am_store_opts so = {.map_size = n->conf.map_size, .read_only = (flags & AM_NODE_READ_ONLY) != 0};
    if ((rc = am_store_open(&n->store, dir, &so, err))) {
      am_identity_wipe(&n->id);
      return rc;
    }
  }
  return 0;
}

void am_node_close(am_node *n) {
  am_store_close(n->store);
  n->store = NULL;
  am_identity_wipe(&n->id);
}
