/* The newsletter digest: what `amicale digest --format` prints from the
 * digest JSON of store/api.h ({"since", "until", "events": [event],
 * "jobs": [job], "institutions": [{"institution", "new_members",
 * "people": [person]}]}), ready to paste into a newsletter or an e-mail.
 * No I/O; the answer may come from the local store or the member's node.
 *
 * Layout (English labels, ISO dates, times in UTC — announcements carry
 * UTC instants, and this layer does not read the tz database):
 *   a title with the period ("Amicale digest: 2026-01-01 to 2026-01-08"),
 *   Events: title; when; where (venue, city, country, or online);
 *     institution; status when not scheduled; registration; online link,
 *   Job offers: title and employer; contract, remote policy, "alumni
 *     only"; where; institution; how to apply; valid through,
 *   New members: per institution the count, and the people the viewer may
 *     see (name, class of, job), "and N more" for the others.
 * An empty section says so ("No new events.").
 *
 * Text is plain UTF-8 (control characters shown as '?'). Markdown
 * backslash-escapes every character Markdown gives a meaning to, in all
 * texts that came from announcements or records. HTML is one complete,
 * self-contained HTML5 document (a small style sheet inline, nothing
 * fetched); every text is escaped, attribute values too. Only http(s)
 * URLs (proto/contentline.h, am_cl_is_web_url) become links, in both
 * Markdown and HTML: an e-mail address or "call Marie" stays text. */
#ifndef AMICALE_PROTO_DIGEST_H
#define AMICALE_PROTO_DIGEST_H

#include <jansson.h>

#include "proto/csv.h" /* am_buf */
#include "proto/error.h"

enum am_digest_format {
  AM_DIGEST_TEXT = 0,
  AM_DIGEST_MARKDOWN = 1,
  AM_DIGEST_HTML = 2,
};

/* "text", "markdown" (or "md"), "html"; -1 when none of those. */
int am_digest_format_parse(const char *name);

/* Appends the digest in format to out. AM_EUSAGE for an unknown format;
 * AM_EINVAL (err says which member) when digest is not an object or
 * events, jobs or institutions is there but not an array; AM_ENOMEM. Out
 * is unchanged on failure. Items of the wrong shape are rendered with what
 * they have ("(untitled)"), not refused: one odd announcement from a peer
 * must not cost a manager the whole newsletter. */
int am_digest_render(const json_t *digest, int format, am_buf *out, am_error *err);

#endif
