/* `amicale me ...`: a member's own record, on their school's node (member
 * mode, cli/remote.h): see it, change it, choose what is shared and with
 * whom, download it, erase it. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/call.h"
#include "cli/cli.h"
#include "cli/remote.h"
#include "proto/member.h"
#include "proto/text.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: amicale me COMMAND [options]   (after amicale login CODE)\n"
          "\n"
          "  show [--json]                 your record as your school's node holds it\n"
          "  edit --FIELD VALUE ...        change fields (--city Lyon --job-title \"Data engineer\";\n"
          "                                an empty value clears the field)\n"
          "  consent [--listed yes|no] [--federation yes|no]\n"
          "                                listed: members of your school can find you;\n"
          "                                federation: your profile is shared with the other\n"
          "                                institutions of the federation\n"
          "  visibility FIELD=LEVEL ...    who sees a field: private (the alumni office only),\n"
          "                                school (members of your school) or federation\n"
          "  export [--output FILE]        everything the node holds on you, as JSON\n"
          "  erase --yes                   delete your record, withdraw your profile from\n"
          "                                every node of the federation, and log you out\n"
          "\n"
          "--node HOST:PORT talks to another address of your node.\n");
}

static const char *json_text(const json_t *v, char *buf, size_t n) {
  if (json_is_string(v)) return am_text_printable(json_string_value(v), buf, n);
  if (json_is_integer(v)) {
    snprintf(buf, n, "%lld", (long long)json_integer_value(v));
    return buf;
  }
  if (json_is_boolean(v)) return json_is_true(v) ? "yes" : "no";
  if (json_is_array(v)) {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < json_array_size(v) && used + 1 < n; i++) {
      char item[512];
      am_text_printable(json_string_value(json_array_get(v, i)) ? json_string_value(json_array_get(v, i)) : "",
                        item, sizeof item);
      int k = snprintf(buf + used, n - used, "%s%s", i ? "; " : "", item);
      if (k < 0) break;
      used += (size_t)k < n - used ? (size_t)k : n - used - 1;
    }
    return buf;
  }
  return "";
}

/* The record as `member show` prints it, from its JSON form. */
static void print_me(FILE *out, const json_t *r) {
  const json_t *m = json_object_get(r, "member"), *vis = json_object_get(m, "visibility");
  char name[256];
  fprintf(out, "You are member %lld of %s\n", (long long)json_integer_value(json_object_get(m, "id")),
          am_text_printable(json_string_value(json_object_get(json_object_get(r, "institution"), "name"))
                                ? json_string_value(json_object_get(json_object_get(r, "institution"), "name"))
                                : "",
                            name, sizeof name));
  size_t lw = 0;
  for (int f = 0; f < AM_F__COUNT; f++)
    if (strlen(am_fields[f].label) > lw) lw = strlen(am_fields[f].label);
  for (int f = 0; f < AM_F__COUNT; f++) {
    const json_t *v = json_object_get(m, am_fields[f].name);
    if (!v || json_is_null(v) || (json_is_array(v) && !json_array_size(v))) continue;
    if (json_is_false(v) && f != AM_F_MENTORING) continue;
    char buf[4096];
    fprintf(out, "  %-*s  %s", (int)lw, am_fields[f].label, json_text(v, buf, sizeof buf));
    const char *level = json_string_value(json_object_get(vis, am_fields[f].name));
    if (f < AM_F__PROFILE_COUNT && level) fprintf(out, "   [%s]", level);
    fputc('\n', out);
  }
  if (!json_object_get(m, "consent_listed") || json_is_null(json_object_get(m, "consent_listed")))
    fprintf(out, "Members of your school cannot find you (amicale me consent --listed yes).\n");
  if (!json_object_get(m, "consent_federation") || json_is_null(json_object_get(m, "consent_federation")))
    fprintf(out, "Your profile is not shared with the federation (amicale me consent --federation yes).\n");
}

static int show_result(const am_args *a, json_t *r) {
  if (a->json) return am_print_json(stdout, r);
  print_me(stdout, r);
  json_decref(r);
  return EXIT_OK;
}

static int me_show(int argc, char **argv) {
  static const am_opt spec[] = {{"json", false}, AM_CALL_OPTS, {NULL, false}};
  am_args a;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos) return am_cli_usage("me show takes no argument");
  json_t *r;
  if ((rc = am_cli_call(&a, "me.show", json_object(), &r))) return rc;
  return show_result(&a, r);
}

static int me_edit(int argc, char **argv) {
  /* One option per profile field, spelt with '-' (--job-title). */
  static am_opt spec[AM_F__PROFILE_COUNT + 3];
  static char names[AM_F__PROFILE_COUNT][32];
  int k = 0;
  for (int f = 0; f < AM_F__PROFILE_COUNT; f++) {
    snprintf(names[f], sizeof names[f], "%s", am_fields[f].name);
    for (char *p = names[f]; *p; p++)
      if (*p == '_') *p = '-';
    spec[k++] = (am_opt){names[f], true};
  }
  spec[k++] = (am_opt){"json", false};
  spec[k++] = (am_opt)AM_CALL_OPTS;
  spec[k] = (am_opt){NULL, false};
  am_args a;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (a.npos) return am_cli_usage("me edit takes options (amicale me edit --city Lyon)");
  json_t *set = json_object();
  if (!set) return am_cli_fail(AM_ENOMEM, NULL);
  for (int i = 0; i < a.nopts; i++) {
    int f = am_field_by_name(a.opts[i].name);
    if (f < 0 || f >= AM_F__PROFILE_COUNT) continue;
    if (json_object_set_new(set, am_fields[f].name, json_string(a.opts[i].value))) {
      json_decref(set);
      return am_cli_usage("--%s: not valid UTF-8 text", a.opts[i].name);
    }
  }
  if (!json_object_size(set)) {
    json_decref(set);
    return am_cli_usage("me edit: nothing to change (amicale me edit --city Lyon --employer Airbus)");
  }
  json_t *r;
  if ((rc = am_cli_call(&a, "me.edit", json_pack("{s:o}", "set", set), &r))) return rc;
  if (!a.json) printf("Your record is updated.\n");
  return show_result(&a, r);
}

static int yes_no(const char *opt, const char *v, int *out) {
  static const char *const yes[] = {"yes", "y", "oui", "true", "1"}, *const no[] = {"no", "n", "non", "false", "0"};
  for (size_t i = 0; i < 5; i++) {
    if (!strcasecmp(v, yes[i])) return *out = 1, 0;
    if (!strcasecmp(v, no[i])) return *out = 0, 0;
  }
  return am_cli_usage("--%s '%s' should be yes or no", opt, v);
}

static int me_consent(int argc, char **argv) {
  static const am_opt spec[] = {{"listed", true}, {"federation", true}, {"json", false}, AM_CALL_OPTS, {NULL, false}};
  am_args a;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  json_t *p = json_object();
  if (!p) return am_cli_fail(AM_ENOMEM, NULL);
  const char *const opts[] = {"listed", "federation"};
  for (int i = 0; i < 2; i++) {
    const char *v = am_args_get(&a, opts[i]);
    int b = 0;
    if (!v) continue;
    if ((rc = yes_no(opts[i], v, &b))) {
      json_decref(p);
      return rc;
    }
    json_object_set_new(p, opts[i], json_boolean(b));
  }
  if (!json_object_size(p)) {
    json_decref(p);
    return am_cli_usage("me consent: give --listed yes|no and/or --federation yes|no");
  }
  json_t *r;
  if ((rc = am_cli_call(&a, "me.consent", p, &r))) return rc;
  if (!a.json) printf("Your consents are updated.\n");
  return show_result(&a, r);
}

static int me_visibility(int argc, char **argv) {
  static const am_opt spec[] = {{"json", false}, AM_CALL_OPTS, {NULL, false}};
  am_args a;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (!a.npos) return am_cli_usage("me visibility: give FIELD=LEVEL pairs (amicale me visibility phone=private city=federation)");
  json_t *fields = json_object();
  if (!fields) return am_cli_fail(AM_ENOMEM, NULL);
  for (int i = 0; i < a.npos; i++) {
    const char *eq = strchr(a.pos[i], '=');
    char field[64];
    if (!eq || eq == a.pos[i] || (size_t)(eq - a.pos[i]) >= sizeof field) {
      json_decref(fields);
      return am_cli_usage("me visibility: '%s' should be FIELD=LEVEL (city=school)", a.pos[i]);
    }
    snprintf(field, sizeof field, "%.*s", (int)(eq - a.pos[i]), a.pos[i]);
    int f = am_field_by_name(field);
    if (f < 0 || f >= AM_F__PROFILE_COUNT) {
      json_decref(fields);
      return am_cli_usage("me visibility: '%s' is not a profile field", field);
    }
    json_object_set_new(fields, am_fields[f].name, json_string(eq + 1));
  }
  json_t *r;
  if ((rc = am_cli_call(&a, "me.visibility", json_pack("{s:o}", "fields", fields), &r))) return rc;
  if (!a.json) printf("Visibility updated.\n");
  return show_result(&a, r);
}

static int me_export(int argc, char **argv) {
  static const am_opt spec[] = {{"output", true}, AM_CALL_OPTS, {NULL, false}};
  am_args a;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  json_t *r;
  if ((rc = am_cli_call(&a, "me.export", json_object(), &r))) return rc;
  const char *path = am_args_get(&a, "output");
  if (!path || !strcmp(path, "-")) return am_print_json(stdout, r);
  FILE *f = am_cli_private_file(path);
  if (!f) {
    json_decref(r);
    return EXIT_INTERNAL;
  }
  int rcw = json_dumpf(r, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(r);
  if (fclose(f) || rcw) {
    fprintf(stderr, "amicale: cannot write %s\n", path);
    return EXIT_INTERNAL;
  }
  printf("Everything your node holds on you is in %s\n", path);
  return EXIT_OK;
}

static int me_erase(int argc, char **argv) {
  static const am_opt spec[] = {{"yes", false}, {"json", false}, AM_CALL_OPTS, {NULL, false}};
  am_args a;
  int rc = am_args_parse(argc, argv, spec, &a);
  if (rc) return rc;
  if (!am_args_has(&a, "yes")) {
    fprintf(stderr,
            "amicale: this deletes your record from your school's node and withdraws your profile\n"
            "from every node of the federation; it cannot be undone. Run: amicale me erase --yes\n");
    return EXIT_USAGE;
  }
  json_t *r;
  if ((rc = am_cli_call(&a, "me.erase", json_object(), &r))) return rc;
  /* The node forgot this computer's key with the record: so does it. */
  am_remote_forget();
  if (a.json) return am_print_json(stdout, r);
  printf("Your record is erased%s.\n", json_is_true(json_object_get(r, "profile_retracted"))
                                           ? "; the withdrawal of your profile is on its way to every node"
                                           : "");
  json_decref(r);
  printf("You are logged out.\n");
  return EXIT_OK;
}

int cmd_me(int argc, char **argv) {
  if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "help")) {
    usage(argc < 1 ? stderr : stdout);
    return argc < 1 ? EXIT_USAGE : EXIT_OK;
  }
  const char *sub = argv[0];
  if (!strcmp(sub, "show")) return me_show(argc - 1, argv + 1);
  if (!strcmp(sub, "edit")) return me_edit(argc - 1, argv + 1);
  if (!strcmp(sub, "consent")) return me_consent(argc - 1, argv + 1);
  if (!strcmp(sub, "visibility")) return me_visibility(argc - 1, argv + 1);
  if (!strcmp(sub, "export")) return me_export(argc - 1, argv + 1);
  if (!strcmp(sub, "erase")) return me_erase(argc - 1, argv + 1);
  return am_cli_usage("unknown command 'me %s' (see amicale me --help)", sub);
}
