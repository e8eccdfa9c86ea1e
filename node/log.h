/* The daemon's log: one line per event on stderr, with a level. Under
 * systemd (JOURNAL_STREAM set) each line starts with the syslog priority
 * prefix journald understands ("<3>" error ... "<7>" debug) and carries no
 * timestamp, since the journal adds its own; elsewhere it starts with an
 * ISO 8601 UTC timestamp and the level's name. */
#ifndef AMICALE_NODE_LOG_H
#define AMICALE_NODE_LOG_H

enum am_log_level { AM_LOG_ERROR = 0, AM_LOG_WARN = 1, AM_LOG_INFO = 2, AM_LOG_DEBUG = 3 };

void am_log_init(int level);
void am_log_set_level(int level);
int am_log_level_parse(const char *s); /* -1 when unknown */
const char *am_log_level_name(int level);
int am_log_enabled(int level);

void am_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define am_error_log(...) am_log(AM_LOG_ERROR, __VA_ARGS__)
#define am_warn(...) am_log(AM_LOG_WARN, __VA_ARGS__)
#define am_info(...) am_log(AM_LOG_INFO, __VA_ARGS__)
#define am_debug(...) am_log(AM_LOG_DEBUG, __VA_ARGS__)

#endif
