/* What two nodes say to each other once the encrypted channel is up
 * (docs/PROTOCOL.md sections 14.2 and 14.5): the session messages (hello,
 * ping, pong, goodbye, error, announce) and the payloads of the three
 * handshake messages. Pure codecs, no I/O and no crypto: node/ hands them
 * complete decrypted messages, tests and the fuzzer feed them bytes.
 *
 * Every decoder is bounded before msgpack-c allocates (proto/mpcheck.h),
 * copies what it keeps into our structs, and refuses anything that is not
 * the canonical encoding of what it decoded (one message, one encoding). */
#ifndef AMICALE_PROTO_SESSION_H
#define AMICALE_PROTO_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/csv.h" /* am_buf */
#include "proto/error.h"

#define AM_TRANSPORT_VERSION 1     /* the version this code speaks */
#define AM_TRANSPORT_MAX_VERSIONS 8
#define AM_DEFAULT_PORT_TEXT "7400"

/* Frames and messages (section 14.4). */
#define AM_FRAME_MAX 65535          /* ciphertext bytes after the length */
#define AM_FRAME_TAG 16
#define AM_CHUNK_MAX (AM_FRAME_MAX - AM_FRAME_TAG - 1) /* 65518 data bytes */
#define AM_MSG_MAX (1u << 20)       /* a whole session message */
#define AM_MSG_MAX_PREHELLO 4096    /* ... before the other side's hello */
#define AM_HS_MSG_MAX 512           /* room for any handshake message */
/* The exact sizes of the three handshake messages in version 1 (14.2). */
#define AM_HS_MSG1_MIN 34
#define AM_HS_MSG1_MAX 41
#define AM_HS_MSG2_MIN 200
#define AM_HS_MSG2_MAX 207
#define AM_HS_MSG3_MIN 166
#define AM_HS_MSG3_MAX 207

#define AM_HELLO_NAME_MAX 200
#define AM_HELLO_SOFTWARE_MAX 64
#define AM_HELLO_CAPS_MAX 32
#define AM_HELLO_CAP_LEN 32
#define AM_HELLO_ADDRESS_MAX 261   /* "[" 253 "]:" 5 digits, with margin */
#define AM_MSG_TEXT_MAX 200

/* Replication limits (section 15.6). */
#define AM_CAP_REPLICATE "replicate"
#define AM_OFFER_MAX 32768  /* short ids in one offer */
#define AM_WANT_MAX 4096    /* short ids in one want */
#define AM_WANTS_OUT 4      /* wants sent and not answered by a sent, at most */
#define AM_SYNC_BYTES_MAX (AM_MSG_MAX - 16) /* range bytes in one sync */
enum { AM_SYNC_START = 1, AM_SYNC_MORE = 2, AM_SYNC_PARTIAL = 4, AM_SYNC__FLAGS = 7 };

enum am_msg_type {
  AM_MSG_HELLO = 0,
  AM_MSG_PING = 1,
  AM_MSG_PONG = 2,
  AM_MSG_GOODBYE = 3,
  AM_MSG_ERROR = 4,
  AM_MSG_ANNOUNCE = 5,
  /* Replication (section 15), with the "replicate" capability. */
  AM_MSG_OFFER = 6, /* short ids the sender holds */
  AM_MSG_WANT = 7,  /* short ids the sender asks for */
  AM_MSG_SENT = 8,  /* a want answered: the announcements went before it */
  AM_MSG_SYNC = 9,  /* one message of a reconciliation round */
  /* A member's client (section 16): only between a client and its node. */
  AM_MSG_REQUEST = 10,  /* [10, request_id, method, params JSON text] */
  AM_MSG_RESPONSE = 11, /* [11, request_id, status, result JSON text] */
  AM_MSG__KNOWN = 12, /* types from here on are unknown to this version */
};

/* Goodbye reasons (section 14.5). */
enum am_bye {
  AM_BYE_SHUTDOWN = 0,
  AM_BYE_DUPLICATE = 1,
  AM_BYE_IDLE = 2,
  AM_BYE_PROTOCOL = 3,
  AM_BYE_UNKNOWN_PEER = 4,
  AM_BYE_BLOCKED = 5,
  AM_BYE_TOO_SLOW = 6,
  AM_BYE_INVITATION = 7,
  AM_BYE_REMOVED = 8,
  AM_BYE_OVERLOADED = 9,
  AM_BYE_SELF = 10,
  AM_BYE_REVOKED = 11, /* a member's key was revoked (section 16) */
  AM_BYE__COUNT
};

/* Error codes of the error message. */
enum { AM_MSGERR_UNKNOWN_MESSAGE = 0, AM_MSGERR_UNSUPPORTED = 1, AM_MSGERR__COUNT };

/* Members' clients (section 16). */
#define AM_CAP_CLIENT "client"   /* a client's hello: a member, not a node */
#define AM_CAP_MEMBERS "members" /* a node's hello: it answers requests */
#define AM_METHOD_MAX 64         /* bytes of a request's method */
#define AM_METHOD_WHOAMI "whoami" /* answered by the node itself (16.4) */
/* A request's params or a response's result: a JSON text that, with the
 * message around it, fits in AM_MSG_MAX (array, type, id, status or
 * method, str32 header). */
#define AM_JSON_TEXT_MAX (AM_MSG_MAX - 1 - 1 - 9 - 2 - AM_METHOD_MAX - 5)

/* Status of a response (section 16.4). */
enum am_status {
  AM_ST_OK = 0,
  AM_ST_BAD_REQUEST = 1,
  AM_ST_NOT_FOUND = 2,
  AM_ST_RATE_LIMITED = 3,
  AM_ST_FORBIDDEN = 4,
  AM_ST_INTERNAL = 5,
  AM_ST_UNKNOWN_METHOD = 6,
  AM_ST__COUNT
};
const char *am_status_name(uint64_t status); /* NULL when unknown */

typedef struct am_hello {
  char name[AM_HELLO_NAME_MAX + 1];
  uint32_t kind; /* 0..3 as the node announcement */
  char software[AM_HELLO_SOFTWARE_MAX + 1];
  char caps[AM_HELLO_CAPS_MAX][AM_HELLO_CAP_LEN + 1];
  uint32_t ncaps;
  uint64_t time;
  char address[AM_HELLO_ADDRESS_MAX + 1]; /* "" when nil */
} am_hello;

typedef struct am_msg {
  uint64_t type;  /* enum am_msg_type, or an unknown type (>= AM_MSG__KNOWN) */
  am_hello hello; /* AM_MSG_HELLO */
  uint64_t token; /* ping, pong; request, response: the request id */
  uint64_t code;  /* goodbye reason, error code, response status */
  char text[AM_MSG_TEXT_MAX + 1]; /* goodbye, error; request: the method */
  /* AM_MSG_ANNOUNCE: the envelope, pointing into the decoded buffer (valid
   * while it is). */
  const uint8_t *envelope;
  size_t envelope_len;
  /* offer, want: nids short ids of 16 bytes; sync: the range entries
   * (proto/sync.h); request, response: the JSON text (params, result,
   * UTF-8, not NUL-terminated); all pointing into the decoded buffer. */
  const uint8_t *data;
  size_t data_len, nids;
  uint64_t flags;   /* sync: AM_SYNC_* */
  uint64_t missing; /* sent: how many wanted ids the sender does not hold */
} am_msg;

/* Appends the canonical encoding of m to out. AM_EINVAL (err says which
 * field) when m breaks a limit of section 14.5, AM_ENOMEM. Unknown types
 * are refused (AM_EUSAGE). */
int am_msg_encode(const am_msg *m, am_buf *out, am_error *err);

/* Decodes one whole session message. 0 with m filled (for an unknown type
 * only m->type is); AM_EINVAL with a sentence when it is a protocol error
 * (not one canonical msgpack array starting with an unsigned type, or a
 * known type whose elements are not as specified). */
int am_msg_decode(const uint8_t *p, size_t len, am_msg *m, am_error *err);

bool am_hello_has_cap(const am_hello *h, const char *cap);

/* Stable names ("shutdown", "too-slow", ...); "reason N" style text for
 * unknown numbers is the caller's business: these return NULL then. */
const char *am_bye_name(uint64_t reason);
const char *am_msg_type_name(uint64_t type);

/* ---- handshake payloads (section 14.2) ---- */

typedef struct am_versions {
  uint8_t v[AM_TRANSPORT_MAX_VERSIONS];
  uint32_t n;
} am_versions;

/* Message 1: the initiator's versions, 1..8 distinct values 1..127 in
 * increasing order. */
int am_hs1_encode(const am_versions *vs, am_buf *out);
int am_hs1_decode(const uint8_t *p, size_t len, am_versions *vs, am_error *err);

/* The highest version in both lists, or 0. */
uint8_t am_versions_pick(const am_versions *a, const am_versions *b);

typedef struct am_hs_proof {
  uint8_t version;          /* message 2 only */
  uint8_t identity[32];
  uint8_t binding[64];
  am_versions versions;     /* message 2 only */
  bool has_invitation;      /* message 3 only */
  uint8_t invitation[40];
} am_hs_proof;

int am_hs2_encode(const am_hs_proof *p, am_buf *out);
int am_hs2_decode(const uint8_t *b, size_t len, am_hs_proof *p, am_error *err);
int am_hs3_encode(const am_hs_proof *p, am_buf *out);
int am_hs3_decode(const uint8_t *b, size_t len, am_hs_proof *p, am_error *err);

#endif
