/* amicale: the command line of an Amicale node (see `amicale help`). */
#include <errno.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/control.h"
#include "cli/remote.h"

static void help(FILE *out) {
  fprintf(out,
          "amicale %s: the alumni directory of an Amicale node (the daemon is amicaled)\n"
          "\n"
          "usage: amicale [--dir D] COMMAND [options]\n"
          "\n"
          "  init --name NAME --kind school|company|association|federation\n"
          "                       create a node in the data directory\n"
          "       [--listen HOST:PORT] [--public-address HOST:PORT]\n"
          "                       where amicaled listens, and is reached by other nodes\n"
          "  id [--json]          print the node's key and name\n"
          "  member add|show|edit|remove|list|search|import|export|publish|unpublish|\n"
          "         invite|keys|revoke ...\n"
          "                       keep the member directory (amicale member --help)\n"
          "  event add|edit|cancel|remove|list|show ...\n"
          "                       this node's events and those of the federation\n"
          "  job add|edit|close|list|show ...\n"
          "                       job offers, this node's and the federation's\n"
          "  announcement list|show|verify|import|export ...\n"
          "                       the signed announcements this node holds\n"
          "  trust add|list|remove KEY\n"
          "                       the nodes whose announcements this node accepts\n"
          "  node show|edit       what this node announces about itself\n"
          "  peer add|list|remove|block|unblock ...\n"
          "                       the nodes amicaled exchanges with\n"
          "  invite create|list|revoke|accept ...\n"
          "                       invitation codes that let another node in\n"
          "  status [--json]      what the running amicaled is doing: peers, traffic\n"
          "  login CODE           on a member's own computer: log in to their school's node\n"
          "                       with the code from `amicale member invite ID`; the query\n"
          "                       and `me` commands then run on that node\n"
          "  logout               forget this computer's member key and configuration\n"
          "\n"
          "Across the federation (alumni managers here; members after amicale login):\n"
          "  search [TEXT] [--institution I] [--promo 2010-2015] [--employer E] [--city C]\n"
          "         [--sector S] [--skill K] [--mentoring] [--json|--vcard] ...\n"
          "                       people of every institution\n"
          "  mentors [--topic T] [--city C] [--sector S]\n"
          "                       people available for mentoring\n"
          "  events [--upcoming|--from D --to D] [--city C] [--online] [--tag T]\n"
          "                       events; events export --ics [--output F] for calendars\n"
          "  jobs [--type stage|alternance|cdi|...] [--skill K] [--city C] [--remote]\n"
          "                       job offers\n"
          "  digest [--since 7d] [--format text|markdown|html]\n"
          "                       what is new, for a newsletter\n"
          "  me show|edit|consent|visibility|export|erase\n"
          "                       a member's own record (amicale me --help)\n"
          "  help                 this text\n"
          "\n"
          "The data directory is --dir, else $AMICALE_DIR, else $AMICALE_HOME,\n"
          "else $XDG_DATA_HOME/amicale, else ~/.local/share/amicale.\n"
          "\n"
          "Exit status: 0 success, 1 internal failure, 2 usage error, 3 not found,\n"
          "4 invalid data, 5 already exists.\n",
          AMICALE_VERSION);
}

static int run(int argc, char **argv);

/* Commands that dispatch on a second word (and have their own --help). */
static bool has_subcommands(const char *cmd) {
  static const char *const with[] = {"member", "members", "event", "events", "job", "jobs",
                                     "announcement", "announcements", "trust", "node",
                                     "peer", "peers", "invite", "invites", "status", "me"};
  for (size_t i = 0; i < sizeof with / sizeof *with; i++)
    if (!strcmp(cmd, with[i])) return true;
  return false;
}

/* Output that could not be written (a full disk, a closed pipe) is a
 * failure, not a success with nothing printed. */
int main(int argc, char **argv) {
  int rc = run(argc, argv);
  /* The store changed: a running daemon sends the new announcements and
   * picks up peer changes at once (nothing happens when none runs). */
  if (rc == EXIT_OK && am_cli_written_dir()) am_ctl_notify(am_cli_written_dir());
  errno = 0;
  if ((fflush(stdout) || ferror(stdout)) && rc == EXIT_OK) {
    /* (A command that failed has said why already.) */
    fprintf(stderr, "amicale: cannot write the output: %s\n", strerror(errno ? errno : EIO));
    rc = EXIT_INTERNAL;
  }
  return rc;
}

static int run(int argc, char **argv) {
  setlocale(LC_CTYPE, "");
  /* A global --dir before the command applies to it. */
  const char *dir = NULL;
  int i = 1;
  while (i < argc && strncmp(argv[i], "--dir", 5) == 0) {
    if (argv[i][5] == '=') dir = argv[i] + 6, i++;
    else if (argv[i][5] == '\0' && i + 1 < argc) dir = argv[i + 1], i += 2;
    else break;
  }
  if (i >= argc) {
    help(stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[i];
  int sub_argc = argc - i - 1;
  char **sub_argv = argv + i + 1;
  if (dir) {
    /* Commands read --dir from their own options: pass it on, after the
     * subcommand word for `member` (it dispatches on that word). */
    static char *with_dir[AM_ARGS_MAX + 2];
    if (sub_argc > AM_ARGS_MAX) return am_cli_usage("too many arguments");
    int k = 0, from = 0;
    if (has_subcommands(cmd) && sub_argc > 0 && sub_argv[0][0] != '-') with_dir[k++] = sub_argv[from++];
    with_dir[k++] = "--dir";
    with_dir[k++] = (char *)dir;
    while (from < sub_argc) with_dir[k++] = sub_argv[from++];
    sub_argv = with_dir;
    sub_argc = k;
  }
  if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
    help(stdout);
    return EXIT_OK;
  }
  if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
    printf("amicale %s\n", AMICALE_VERSION);
    return EXIT_OK;
  }
  for (int k = 0; k < sub_argc; k++)
    if (!strcmp(sub_argv[k], "--help") && !has_subcommands(cmd)) {
      help(stdout);
      return EXIT_OK;
    }
  if (!strcmp(cmd, "init")) return cmd_init(sub_argc, sub_argv);
  if (!strcmp(cmd, "id")) return cmd_id(sub_argc, sub_argv);
  if (!strcmp(cmd, "member") || !strcmp(cmd, "members")) return cmd_member(sub_argc, sub_argv);
  /* `events` and `jobs` alone or with options are the federation-wide
   * queries; with a subcommand (add, list, ...) they manage this node's. */
  bool query = sub_argc == 0 || sub_argv[0][0] == '-';
  if (!strcmp(cmd, "events") && query) return cmd_events_query(sub_argc, sub_argv);
  if (!strcmp(cmd, "jobs") && query) return cmd_jobs_query(sub_argc, sub_argv);
  if ((!strcmp(cmd, "events") || !strcmp(cmd, "event")) && sub_argc && !strcmp(sub_argv[0], "export"))
    return cmd_events_export(sub_argc - 1, sub_argv + 1);
  if (!strcmp(cmd, "event") || !strcmp(cmd, "events")) return cmd_event(sub_argc, sub_argv);
  if (!strcmp(cmd, "job") || !strcmp(cmd, "jobs")) return cmd_job(sub_argc, sub_argv);
  if (!strcmp(cmd, "search")) return cmd_search(sub_argc, sub_argv);
  if (!strcmp(cmd, "mentors")) return cmd_mentors(sub_argc, sub_argv);
  if (!strcmp(cmd, "digest")) return cmd_digest(sub_argc, sub_argv);
  if (!strcmp(cmd, "me")) return cmd_me(sub_argc, sub_argv);
  if (!strcmp(cmd, "announcement") || !strcmp(cmd, "announcements")) return cmd_announcement(sub_argc, sub_argv);
  if (!strcmp(cmd, "trust")) return cmd_trust(sub_argc, sub_argv);
  if (!strcmp(cmd, "node")) return cmd_node(sub_argc, sub_argv);
  if (!strcmp(cmd, "peer") || !strcmp(cmd, "peers")) return cmd_peer(sub_argc, sub_argv);
  if (!strcmp(cmd, "invite") || !strcmp(cmd, "invites")) return cmd_invite(sub_argc, sub_argv);
  if (!strcmp(cmd, "status")) return cmd_status(sub_argc, sub_argv);
  if (!strcmp(cmd, "login")) return cmd_login(sub_argc, sub_argv);
  if (!strcmp(cmd, "logout")) return cmd_logout(sub_argc, sub_argv);
  return am_cli_usage("unknown command '%s' (see amicale help)", cmd);
}
