/* A reader for CSV files as spreadsheets really export them (RFC 4180 and
 * its common departures): ',' ';' or TAB separator detected from the header
 * line, UTF-8 with or without BOM, Windows-1252/Latin-1 detected (input that
 * is not valid UTF-8) or chosen by name and converted with iconv, CRLF, LF or
 * CR line ends, quoted fields containing separators, doubled quotes and line
 * breaks. Every record carries the line number where it starts; errors say
 * line, column and reason, and the reader then skips to the next line so the
 * caller can report the row and carry on. */
#ifndef AMICALE_PROTO_CSV_H
#define AMICALE_PROTO_CSV_H

#include <stddef.h>

#include "proto/error.h"

/* Hard limits: the reader never allocates beyond them. */
#define AM_CSV_MAX_FILE   (1024UL * 1024 * 1024) /* 1 GiB of input */
#define AM_CSV_MAX_FIELD  (64 * 1024)            /* bytes in one field */
#define AM_CSV_MAX_FIELDS 1024                   /* fields in one record */

typedef struct am_csv_opts {
  char separator;       /* 0: detect from the first non-blank record: the
                           most frequent of ',' ';' TAB outside quotes, ','
                           on a tie or when there is none. Else any ASCII
                           character but '"', CR, LF. */
  const char *encoding; /* NULL or "auto": detect; else an iconv name
                           ("UTF-8", "WINDOWS-1252", "ISO-8859-1", ...) */
} am_csv_opts;

typedef struct am_csv_record {
  size_t n;              /* number of fields */
  char **fields;         /* NUL-terminated UTF-8, valid until the next call */
  size_t *lens;          /* byte lengths */
  unsigned long line;    /* physical line (1-based) where the record starts */
} am_csv_record;

typedef struct am_csv am_csv;

/* Opens a reader over a copy of data[0..len) (converted to UTF-8). opts may
 * be NULL (detect both). Auto encoding: a UTF-8 BOM is stripped and means
 * UTF-8; else valid UTF-8 is UTF-8; else Windows-1252, or ISO-8859-1 when a
 * byte undefined in Windows-1252 (0x81 0x8D 0x8F 0x90 0x9D) occurs. A named
 * encoding is converted with iconv and a leading BOM (U+FEFF) is dropped.
 * Errors: AM_EUSAGE ("unknown encoding 'X'", bad separator), AM_EINVAL
 * (bytes invalid in the named encoding, or after a UTF-8 BOM: the message
 * gives the byte offset and line), AM_ETOOBIG (len > AM_CSV_MAX_FILE),
 * AM_ENOMEM. */
int am_csv_open_buffer(am_csv **out, const char *data, size_t len,
                       const am_csv_opts *opts, am_error *err);

/* Reads the whole file (at most AM_CSV_MAX_FILE bytes) and opens a reader.
 * Errors name the file: AM_ENOTFOUND when it does not exist, AM_EIO for
 * other system errors (with the system's reason), AM_ETOOBIG, and those of
 * am_csv_open_buffer. */
int am_csv_open_file(am_csv **out, const char *path, const am_csv_opts *opts,
                     am_error *err);

/* Next record: returns 1 and fills rec, 0 at end of input, or a negative code
 * with err saying "line L, column C: reason" (e.g. "unexpected character 'x'
 * after closing quote", "field longer than 65536 bytes", "more than 1024
 * fields", "NUL character ..."), or "quoted field opened at line L, column C
 * is never closed". Columns count characters, not bytes. Row errors are
 * AM_EINVAL (limits included); AM_ENOMEM can also occur. After any error
 * the next call resumes at the physical line following the one where the
 * error was detected (an unclosed quote consumes the rest of the input), and
 * rec->line is the line where the failed record started (rec->n is 0).
 * Blank lines (nothing before the line end) are skipped; whitespace in
 * fields is kept; a quote inside an unquoted field is kept as a character.
 * Line breaks inside quoted fields are kept as written and counted in line
 * numbers. */
int am_csv_next(am_csv *csv, am_csv_record *rec, am_error *err);

/* The separator in use and the encoding the input was read as
 * ("UTF-8", "UTF-8 (BOM)", "WINDOWS-1252", "ISO-8859-1", or the name
 * given). */
char am_csv_separator(const am_csv *csv);
const char *am_csv_encoding(const am_csv *csv);

/* Progress: bytes consumed so far and total bytes (of the UTF-8 text). */
size_t am_csv_position(const am_csv *csv);
size_t am_csv_size(const am_csv *csv);

/* A place in the input, to read again from there (the importer re-runs a
 * batch when its transaction must be retried). */
typedef struct am_csv_mark {
  size_t pos, line_start;
  unsigned long line;
} am_csv_mark;
void am_csv_tell(const am_csv *csv, am_csv_mark *mark);
void am_csv_seek(am_csv *csv, const am_csv_mark *mark);

void am_csv_close(am_csv *csv);

/* Writing: appends field to a growable buffer, quoted when it contains the
 * separator, a quote, CR or LF, or starts/ends with a space or tab; quotes
 * inside are doubled. Two limits of the format, left to the caller: a record
 * made of one empty field is an empty line, which readers skip (write ""
 * for it), and a first field of a file starting with U+FEFF reads back as a
 * BOM. am_buf starts zeroed; after a successful call data is NUL-terminated;
 * on failure the buffer is unchanged. sep as for am_csv_opts (else
 * AM_EUSAGE). */
typedef struct am_buf {
  char *data;
  size_t len, cap;
} am_buf;
int am_buf_append(am_buf *b, const void *p, size_t n);
/* Room for n more bytes (and the NUL) after len: write at data + len. */
int am_buf_reserve(am_buf *b, size_t n);
int am_buf_printf(am_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void am_buf_free(am_buf *b);
int am_csv_write_field(am_buf *b, const char *s, size_t len, char sep);

#endif
