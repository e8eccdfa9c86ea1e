/* Member mode (see remote.h): `amicale login`, `amicale logout`, and the
 * client that runs one request on the member's node per command (connect,
 * handshake, hello, request, answer, goodbye: cli/client.h).
 *
 * Files, in the member directory (0700):
 *   member.key   the member's Ed25519 secret key (crypto/identity.h, 0600)
 *   member.conf  INI, written by login once the node has accepted the key:
 *                  [member]
 *                  node = HOST:PORT        (the node's address)
 *                  node_key = KEY          (its identity, checked in the handshake)
 *                  member = ID             (the member's id on that node)
 *                  institution = NAME      (for messages)
 * The key is written before the node is contacted (the handshake proves
 * it), the configuration only after the node answered: an interrupted
 * login leaves no configuration, and the next login replaces the key. */
#include "cli/remote.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/client.h"
#include "crypto/handshake.h"
#include "crypto/invite.h"

#define T_CONNECT 10000 /* ms: connect, handshake and hello */
#define T_ANSWER 60000  /* ms: the answer to a request */

typedef struct member_conf {
  char node[AM_ADDR_TEXT_MAX + 1];
  uint8_t node_key[32];
  bool has_key;
  uint64_t member;
  char institution[AM_HELLO_NAME_MAX + 1];
} member_conf;

/* ---- files ---- */

static int member_dir(char *out, size_t n, am_error *err) {
  const char *d = getenv("AMICALE_MEMBER_DIR");
  int w;
  if (d && *d) {
    w = snprintf(out, n, "%s", d);
  } else if ((d = getenv("XDG_CONFIG_HOME")) && *d) {
    w = snprintf(out, n, "%s/amicale", d);
  } else if ((d = getenv("HOME")) && *d) {
    w = snprintf(out, n, "%s/.config/amicale", d);
  } else {
    return am_fail(err, AM_EUSAGE, "no place for the member configuration: set "
                                   "$AMICALE_MEMBER_DIR or $HOME");
  }
  if (w < 0 || (size_t)w >= n) return am_fail(err, AM_EUSAGE, "the member directory's path is too long");
  return 0;
}

static int member_path(char *out, size_t n, const char *file, am_error *err) {
  char dir[4000];
  int rc = member_dir(dir, sizeof dir, err);
  if (rc) return rc;
  if ((size_t)snprintf(out, n, "%s/%s", dir, file) >= n)
    return am_fail(err, AM_EUSAGE, "the member directory's path is too long");
  return 0;
}

/* mkdir -p, the last component 0700. */
static int make_dir(const char *path, am_error *err) {
  char p[4096];
  snprintf(p, sizeof p, "%s", path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    if (mkdir(p, 0755) && errno != EEXIST)
      return am_fail(err, AM_EIO, "cannot create %s: %s", p, strerror(errno));
    *s = '/';
  }
  if (mkdir(p, 0700) && errno != EEXIST)
    return am_fail(err, AM_EIO, "cannot create %s: %s", p, strerror(errno));
  return 0;
}

static int on_setting(void *user, const char *section, const char *name, const char *value) {
  member_conf *c = user;
  if (strcmp(section, "member")) return 1;
  if (!strcmp(name, "node")) snprintf(c->node, sizeof c->node, "%s", value);
  else if (!strcmp(name, "node_key")) c->has_key = am_pubkey_from_text(value, c->node_key, NULL) == 0;
  else if (!strcmp(name, "member")) c->member = strtoull(value, NULL, 10);
  else if (!strcmp(name, "institution")) snprintf(c->institution, sizeof c->institution, "%s", value);
  return 1;
}

static int conf_load(member_conf *c, am_error *err) {
  memset(c, 0, sizeof *c);
  char path[4096];
  int rc = member_path(path, sizeof path, "member.conf", err);
  if (rc) return rc;
  FILE *f = fopen(path, "r");
  if (!f) {
    if (errno == ENOENT)
      return am_fail(err, AM_ENOTFOUND, "this computer is not logged in to an Amicale node: ask "
                                        "your alumni manager for a login code, then run "
                                        "amicale login CODE");
    return am_fail(err, AM_EIO, "cannot read %s: %s", path, strerror(errno));
  }
  int line = ini_parse_file(f, on_setting, c);
  fclose(f);
  if (line || !c->node[0] || !c->has_key || !c->member)
    return am_fail(err, AM_EINVAL, "%s is damaged (no node, node_key or member): run amicale "
                                   "logout, then log in again", path);
  return 0;
}

static bool conf_exists(void) {
  char path[4096];
  am_error err = {0};
  if (member_path(path, sizeof path, "member.conf", &err)) return false;
  return access(path, F_OK) == 0;
}

/* Written whole to a temporary file, then renamed: never half a file. */
static int conf_save(const member_conf *c, am_error *err) {
  char path[4096], tmp[4200];
  int rc = member_path(path, sizeof path, "member.conf", err);
  if (rc) return rc;
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return am_fail(err, AM_EIO, "cannot write %s: %s", tmp, strerror(errno));
  FILE *f = fdopen(fd, "w");
  if (!f) {
    close(fd);
    return am_fail(err, AM_EIO, "cannot write %s", tmp);
  }
  char kt[44];
  am_pubkey_to_text(c->node_key, kt);
  fprintf(f, "# Amicale member configuration, written by `amicale login`.\n"
             "# `amicale logout` removes it (and the key beside it).\n"
             "[member]\nnode = %s\nnode_key = %s\nmember = %llu\ninstitution = %s\n",
          c->node, kt, (unsigned long long)c->member, c->institution);
  bool bad = fflush(f) != 0 || fsync(fd) != 0;
  if (fclose(f)) bad = true;
  if (bad || rename(tmp, path)) {
    unlink(tmp);
    return am_fail(err, AM_EIO, "cannot write %s: %s", path, strerror(errno));
  }
  return 0;
}

/* Overwrites a key file with zeros before unlinking it (best effort: a
 * copy-on-write file system may keep the old blocks). */
static void wipe_file(const char *path) {
  int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      char zero[512] = {0};
      for (off_t done = 0; done < st.st_size; done += (off_t)sizeof zero)
        if (write(fd, zero, sizeof zero) < 0) break;
      fsync(fd);
    }
    close(fd);
  }
  unlink(path);
}

/* ---- mode ---- */

bool am_remote_mode(const am_args *a) {
  if (am_args_has(a, "node")) return true;
  if (a->dir) return false;
  const char *e;
  if (((e = getenv("AMICALE_DIR")) && *e) || ((e = getenv("AMICALE_HOME")) && *e)) return false;
  return conf_exists();
}

/* ---- a session ---- */

typedef struct session {
  am_client cl;
  am_identity id;
  am_hs_local local;
  bool have_local;
  uint8_t secret[AM_INVITE_SECRET_BYTES]; /* login only */
} session;

static int login_proof(void *arg, const uint8_t h[static 64], uint8_t proof[static 40]) {
  session *s = arg;
  am_login_proof(s->secret, h, proof);
  return 0;
}

/* Why the node refused the key, in words for the member. */
static int refused(const session *s, am_error *err) {
  switch (s->cl.bye) {
  case AM_BYE_REVOKED:
    return am_fail(err, AM_EIO, "the node refused this computer's key: %s", s->cl.why);
  case AM_BYE_UNKNOWN_PEER:
    return am_fail(err, AM_EIO, "the node does not know this computer's key (was it reset?): ask "
                                "your alumni manager for a new login code, then run amicale "
                                "logout and amicale login CODE");
  case AM_BYE_INVITATION:
    return am_fail(err, AM_EIO, "the node refused the login code: %s", s->cl.why);
  default:
    return am_fail(err, AM_EIO, "the node refused the connection: %s", s->cl.why);
  }
}

static int open_session(session *s, const char *address, const uint8_t node_key[static 32],
                        bool login, am_error *err) {
  long long deadline = am_client_now_ms() + T_CONNECT;
  int rc = am_hs_local_init(&s->local, &s->id);
  if (rc) return am_fail(err, rc, "cannot make this session's keys");
  s->have_local = true;
  char why[600];
  int fd = am_client_dial(address, NULL, deadline, why, sizeof why);
  if (fd < 0) return am_fail(err, AM_EIO, "%s (is the node's amicaled running?)", why);
  if ((rc = am_client_handshake(&s->cl, fd, &s->local, node_key, login ? login_proof : NULL, s,
                                deadline)))
    return am_fail(err, AM_EIO, "%s: %s", address, s->cl.why);
  static const char *const caps[] = {AM_CAP_CLIENT};
  rc = am_client_hello(&s->cl, "member", caps, 1, deadline);
  if (rc == 1) return refused(s, err);
  if (rc) return am_fail(err, AM_EIO, "%s: %s", address, s->cl.why);
  if (!am_hello_has_cap(&s->cl.hello, AM_CAP_MEMBERS))
    return am_fail(err, AM_EIO, "%s does not serve members (its hello lacks \"%s\")", address,
                   AM_CAP_MEMBERS);
  return 0;
}

static void close_session(session *s) {
  if (s->cl.fd >= 0 || s->cl.chan_open) am_client_bye(&s->cl);
  if (s->have_local) am_hs_local_wipe(&s->local);
  am_identity_wipe(&s->id);
  am_wipe(s->secret, sizeof s->secret);
}

/* One request, its answer. */
static int request(session *s, const char *method, const json_t *params, json_t **result,
                   am_error *err) {
  *result = NULL;
  char *text = json_dumps(params, JSON_COMPACT);
  if (!text) return am_fail(err, AM_ENOMEM, "out of memory");
  size_t len = strlen(text);
  if (len > AM_JSON_TEXT_MAX || strlen(method) > AM_METHOD_MAX) {
    free(text);
    return am_fail(err, AM_EUSAGE, "the request is too large");
  }
  am_msg m = {.type = AM_MSG_REQUEST, .token = 1, .data = (const uint8_t *)text, .data_len = len};
  snprintf(m.text, sizeof m.text, "%s", method);
  int rc = am_client_send(&s->cl, &m);
  free(text);
  if (rc) return am_fail(err, AM_EIO, "%s", s->cl.why);
  long long deadline = am_client_now_ms() + T_ANSWER;
  for (;;) {
    if (am_client_recv(&s->cl, &m, deadline)) return am_fail(err, AM_EIO, "%s", s->cl.why);
    if (m.type == AM_MSG_PING) {
      am_msg pong = {.type = AM_MSG_PONG, .token = m.token};
      am_client_send(&s->cl, &pong);
      continue;
    }
    if (m.type == AM_MSG_GOODBYE) {
      const char *r = am_bye_name(m.code);
      s->cl.bye = (int)(m.code > 1000 ? 1000 : m.code);
      snprintf(s->cl.why, sizeof s->cl.why, "%s%s%s", r ? r : "closed", m.text[0] ? ": " : "",
               m.text);
      return refused(s, err);
    }
    if (m.type == AM_MSG_RESPONSE && m.token == 1) break;
  }
  json_error_t je;
  json_t *r = json_loadb((const char *)m.data, m.data_len, JSON_DECODE_ANY, &je);
  if (!r) return am_fail(err, AM_EIO, "the node's answer is not JSON: %s", je.text);
  if (m.code == AM_ST_OK) {
    *result = r;
    return 0;
  }
  const char *why = json_string_value(json_object_get(r, "error"));
  const char *st = am_status_name(m.code);
  char text2[400];
  snprintf(text2, sizeof text2, "%s", why ? why : st ? st : "refused");
  json_decref(r);
  switch (m.code) {
  case AM_ST_NOT_FOUND: return am_fail(err, AM_ENOTFOUND, "%s", text2);
  case AM_ST_RATE_LIMITED:
  case AM_ST_INTERNAL: return am_fail(err, AM_EIO, "%s", text2);
  default: return am_fail(err, AM_EUSAGE, "%s", text2);
  }
}

static int load_key(session *s, am_error *err) {
  char path[4096];
  int rc = member_path(path, sizeof path, "member.key", err);
  if (rc) return rc;
  if ((rc = am_identity_load(&s->id, path, err)) == AM_ENOTFOUND)
    return am_fail(err, AM_ENOTFOUND, "this computer's member key (%s) is missing: run amicale "
                                      "logout, then amicale login CODE with a new code", path);
  return rc;
}

int am_remote_call(const am_args *a, const char *method, const json_t *params, json_t **result,
                   am_error *err) {
  *result = NULL;
  member_conf c;
  int rc = conf_load(&c, err);
  if (rc) return rc;
  const char *address = am_args_get(a, "node");
  if (!address) address = c.node;
  session s;
  memset(&s, 0, sizeof s);
  s.cl.fd = -1;
  if (!(rc = load_key(&s, err)) && !(rc = open_session(&s, address, c.node_key, false, err)))
    rc = request(&s, method, params, result, err);
  close_session(&s);
  return rc;
}

/* ---- login, logout ---- */

int cmd_login(int argc, char **argv) {
  static const am_opt spec[] = {{"json", false}, {"node", true}, {NULL, false}};
  am_args a;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos != 1) return am_cli_usage("usage: amicale login CODE  (the code your alumni "
                                       "manager gave you)");
  am_error err = {0};
  am_invite_code code;
  if ((rc = am_login_code_decode(a.pos[0], &code, &err))) return am_cli_fail(rc, &err);
  member_conf c = {0};
  memcpy(c.node_key, code.node_key, 32);
  c.has_key = true;
  am_addr_format(&code.addr, c.node);
  if (am_args_get(&a, "node")) snprintf(c.node, sizeof c.node, "%s", am_args_get(&a, "node"));
  session s;
  memset(&s, 0, sizeof s);
  s.cl.fd = -1;
  memcpy(s.secret, code.secret, sizeof s.secret);
  am_invite_code_wipe(&code);
  char dir[4000] = "", keypath[4096];
  json_t *who = NULL;
  if ((rc = member_dir(dir, sizeof dir, &err))) goto out;
  if (conf_exists()) {
    member_conf old;
    if (conf_load(&old, &err) == 0)
      rc = am_fail(&err, AM_EEXIST, "this computer is already logged in (member %llu of %s at "
                   "%s): run amicale logout first", (unsigned long long)old.member,
                   old.institution, old.node);
    else
      rc = am_fail(&err, AM_EEXIST, "a member configuration exists already: run amicale logout "
                                    "first");
    goto out;
  }
  if ((rc = make_dir(dir, &err))) goto out;
  snprintf(keypath, sizeof keypath, "%s/member.key", dir);
  wipe_file(keypath); /* left by an interrupted login: this login replaces it */
  if ((rc = am_identity_generate(&s.id, &err)) || (rc = am_identity_save(&s.id, keypath, &err)))
    goto out;
  if ((rc = open_session(&s, c.node, c.node_key, true, &err))) goto out;
  json_t *params = json_object();
  rc = params ? request(&s, AM_METHOD_WHOAMI, params, &who, &err)
              : am_fail(&err, AM_ENOMEM, "out of memory");
  json_decref(params);
  if (rc) goto out;
  json_int_t member = json_integer_value(json_object_get(who, "member"));
  const char *inst = json_string_value(json_object_get(json_object_get(who, "institution"), "name"));
  if (member <= 0) {
    rc = am_fail(&err, AM_EIO, "the node's answer does not say who you are");
    goto out;
  }
  c.member = (uint64_t)member;
  snprintf(c.institution, sizeof c.institution, "%s", inst ? inst : "");
  /* One line: a name with a line break would end the INI value. */
  for (char *p = c.institution; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  if ((rc = conf_save(&c, &err))) goto out;
out:
  close_session(&s);
  if (rc) {
    json_decref(who);
    /* A refused login leaves nothing behind. */
    if (rc != AM_EEXIST && dir[0]) {
      snprintf(keypath, sizeof keypath, "%s/member.key", dir);
      wipe_file(keypath);
    }
    return am_cli_fail(rc, &err);
  }
  if (a.json) return am_print_json(stdout, who);
  const char *name = json_string_value(json_object_get(who, "name"));
  printf("Logged in to %s as %s (member %llu).\n"
         "This computer's key is in %s/member.key (keep it private).\n"
         "Now `amicale search`, `events`, `jobs`, `mentors` and `me` ask %s.\n",
         c.institution[0] ? c.institution : c.node, name && *name ? name : "you",
         (unsigned long long)c.member, dir, c.institution[0] ? c.institution : c.node);
  json_decref(who);
  return EXIT_OK;
}

void am_remote_forget(void) {
  char dir[4000], path[4096];
  am_error err = {0};
  if (member_dir(dir, sizeof dir, &err)) return;
  snprintf(path, sizeof path, "%s/member.conf", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/member.key", dir);
  wipe_file(path);
}

int cmd_logout(int argc, char **argv) {
  static const am_opt spec[] = {{NULL, false}};
  am_args a;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos) return am_cli_usage("usage: amicale logout");
  am_error err = {0};
  char dir[4000], path[4096];
  if ((rc = member_dir(dir, sizeof dir, &err))) return am_cli_fail(rc, &err);
  member_conf c;
  bool had = conf_load(&c, &err) == 0;
  snprintf(path, sizeof path, "%s/member.conf", dir);
  bool any = access(path, F_OK) == 0;
  snprintf(path, sizeof path, "%s/member.key", dir);
  any |= access(path, F_OK) == 0;
  am_remote_forget();
  if (!any) {
    printf("This computer was not logged in.\n");
    return EXIT_OK;
  }
  if (had)
    printf("Logged out of %s (member %llu): this computer's key is erased.\n"
           "Your alumni manager can also revoke it: amicale member revoke %llu\n",
           c.institution[0] ? c.institution : c.node, (unsigned long long)c.member,
           (unsigned long long)c.member);
  else
    printf("Logged out: this computer's key is erased.\n");
  return EXIT_OK;
}
