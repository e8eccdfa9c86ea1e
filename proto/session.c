/* Session messages and handshake payloads (docs/PROTOCOL.md 14.2, 14.5).
 * Decoding is in three steps, as for announcements: a bounded walk
 * (am_mp_check) so msgpack-c never allocates what a header merely
 * declares, a typed copy into our structs, and a re-encode compared with
 * the input so that only the canonical form is accepted. */
#include "proto/session.h"

#include <msgpack.h>
#include <string.h>
#include <unistr.h>

#include "proto/mpcheck.h"

static const char *const bye_names[AM_BYE__COUNT] = {
    "shutdown",  "duplicate", "idle-timeout", "protocol-error",
    "unknown-peer", "blocked", "too-slow",   "invitation-refused",
    "removed",   "overloaded", "self",         "revoked"};

static const char *const type_names[AM_MSG__KNOWN] = {
    "hello", "ping", "pong", "goodbye", "error", "announce", "offer", "want", "sent", "sync",
    "request", "response"};

static const char *const status_names[AM_ST__COUNT] = {
    "ok", "bad-request", "not-found", "rate-limited", "forbidden", "internal", "unknown-method"};

const char *am_status_name(uint64_t status) {
  return status < AM_ST__COUNT ? status_names[status] : NULL;
}

const char *am_bye_name(uint64_t reason) {
  return reason < AM_BYE__COUNT ? bye_names[reason] : NULL;
}

const char *am_msg_type_name(uint64_t type) {
  return type < AM_MSG__KNOWN ? type_names[type] : NULL;
}

bool am_hello_has_cap(const am_hello *h, const char *cap) {
  for (uint32_t i = 0; i < h->ncaps; i++)
    if (strcmp(h->caps[i], cap) == 0) return true;
  return false;
}

/* ---- encoding ---- */

static int buf_write(void *data, const char *p, size_t n) {
  return am_buf_append(data, p, n) ? -1 : 0;
}

static int pack_str(msgpack_packer *pk, const char *s) {
  size_t n = strlen(s);
  return msgpack_pack_str(pk, n) | msgpack_pack_str_body(pk, s, n);
}

static int pack_bin(msgpack_packer *pk, const uint8_t *p, size_t n) {
  return msgpack_pack_bin(pk, n) | (n ? msgpack_pack_bin_body(pk, p, n) : 0);
}

/* Text rules shared by every text of a session message (14.5): UTF-8,
 * no NUL (C strings hold it whole), within the field's bytes. */
static bool text_ok(const char *s, size_t max, bool allow_empty) {
  size_t n = strlen(s);
  return n <= max && (allow_empty || n > 0) && !u8_check((const uint8_t *)s, n);
}

/* A request's params or a response's result: checked as text here (UTF-8,
 * no NUL, bounded); whether it is valid JSON is for the receiver to say,
 * as an answer (bad-request), not a protocol error. */
static bool json_text_ok(const uint8_t *p, size_t n) {
  if (n > AM_JSON_TEXT_MAX || (n && !p)) return false;
  return n == 0 || (!memchr(p, 0, n) && !u8_check(p, n));
}

static bool versions_ok(const am_versions *vs) {
  if (vs->n < 1 || vs->n > AM_TRANSPORT_MAX_VERSIONS) return false;
  for (uint32_t i = 0; i < vs->n; i++) {
    if (vs->v[i] < 1 || vs->v[i] > 127) return false;
    if (i && vs->v[i] <= vs->v[i - 1]) return false;
  }
  return true;
}

static int hello_check(const am_hello *h, am_error *err) {
  if (!text_ok(h->name, AM_HELLO_NAME_MAX, false))
    return am_fail(err, AM_EINVAL, "hello: name must be 1 to %d bytes", AM_HELLO_NAME_MAX);
  if (h->kind > 3) return am_fail(err, AM_EINVAL, "hello: kind %u is not 0 to 3", h->kind);
  if (!text_ok(h->software, AM_HELLO_SOFTWARE_MAX, false))
    return am_fail(err, AM_EINVAL, "hello: software must be 1 to %d bytes",
                   AM_HELLO_SOFTWARE_MAX);
  if (h->ncaps > AM_HELLO_CAPS_MAX)
    return am_fail(err, AM_EINVAL, "hello: more than %d capabilities", AM_HELLO_CAPS_MAX);
  for (uint32_t i = 0; i < h->ncaps; i++) {
    if (!text_ok(h->caps[i], AM_HELLO_CAP_LEN, false))
      return am_fail(err, AM_EINVAL, "hello: capability %u must be 1 to %d bytes", i,
                     AM_HELLO_CAP_LEN);
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(h->caps[i], h->caps[j]) == 0)
        return am_fail(err, AM_EINVAL, "hello: capability \"%s\" listed twice", h->caps[i]);
  }
  if (!text_ok(h->address, AM_HELLO_ADDRESS_MAX, true))
    return am_fail(err, AM_EINVAL, "hello: address longer than %d bytes",
                   AM_HELLO_ADDRESS_MAX);
  return 0;
}

int am_msg_encode(const am_msg *m, am_buf *out, am_error *err) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, buf_write);
  int rc = 0;
  switch (m->type) {
  case AM_MSG_HELLO: {
    const am_hello *h = &m->hello;
    if ((rc = hello_check(h, err))) return rc;
    rc = msgpack_pack_array(&pk, 7) | msgpack_pack_uint64(&pk, m->type) |
         pack_str(&pk, h->name) | msgpack_pack_uint64(&pk, h->kind) |
         pack_str(&pk, h->software) | msgpack_pack_array(&pk, h->ncaps);
    for (uint32_t i = 0; i < h->ncaps; i++) rc |= pack_str(&pk, h->caps[i]);
    rc |= msgpack_pack_uint64(&pk, h->time);
    rc |= h->address[0] ? pack_str(&pk, h->address) : msgpack_pack_nil(&pk);
    break;
  }
  case AM_MSG_PING:
  case AM_MSG_PONG:
    rc = msgpack_pack_array(&pk, 2) | msgpack_pack_uint64(&pk, m->type) |
         msgpack_pack_uint64(&pk, m->token);
    break;
  case AM_MSG_GOODBYE:
  case AM_MSG_ERROR:
    if (!text_ok(m->text, AM_MSG_TEXT_MAX, true))
      return am_fail(err, AM_EINVAL, "%s text longer than %d bytes",
                     am_msg_type_name(m->type), AM_MSG_TEXT_MAX);
    rc = msgpack_pack_array(&pk, 3) | msgpack_pack_uint64(&pk, m->type) |
         msgpack_pack_uint64(&pk, m->code) | pack_str(&pk, m->text);
    break;
  case AM_MSG_ANNOUNCE:
    if (!m->envelope || m->envelope_len == 0 || m->envelope_len > 65536)
      return am_fail(err, AM_EINVAL, "announce: envelope must be 1 to 65536 bytes");
    rc = msgpack_pack_array(&pk, 2) | msgpack_pack_uint64(&pk, m->type) |
         pack_bin(&pk, m->envelope, m->envelope_len);
    break;
  case AM_MSG_OFFER:
  case AM_MSG_WANT: {
    size_t max = m->type == AM_MSG_OFFER ? AM_OFFER_MAX : AM_WANT_MAX;
    if (!m->data || m->nids == 0 || m->nids > max)
      return am_fail(err, AM_EINVAL, "%s: 1 to %zu ids", am_msg_type_name(m->type), max);
    rc = msgpack_pack_array(&pk, 2) | msgpack_pack_uint64(&pk, m->type) |
         pack_bin(&pk, m->data, m->nids * 16);
    break;
  }
  case AM_MSG_SENT:
    if (m->missing > AM_WANT_MAX)
      return am_fail(err, AM_EINVAL, "sent: missing over %d", AM_WANT_MAX);
    rc = msgpack_pack_array(&pk, 2) | msgpack_pack_uint64(&pk, m->type) |
         msgpack_pack_uint64(&pk, m->missing);
    break;
  case AM_MSG_SYNC:
    if (m->flags & ~(uint64_t)AM_SYNC__FLAGS)
      return am_fail(err, AM_EINVAL, "sync: unknown flags");
    if (m->data_len > AM_SYNC_BYTES_MAX || (m->data_len && !m->data))
      return am_fail(err, AM_EINVAL, "sync: over %u bytes of ranges", (unsigned)AM_SYNC_BYTES_MAX);
    rc = msgpack_pack_array(&pk, 3) | msgpack_pack_uint64(&pk, m->type) |
         msgpack_pack_uint64(&pk, m->flags) | pack_bin(&pk, m->data, m->data_len);
    break;
  case AM_MSG_REQUEST:
  case AM_MSG_RESPONSE: {
    bool req = m->type == AM_MSG_REQUEST;
    if (req && (!text_ok(m->text, AM_METHOD_MAX, false)))
      return am_fail(err, AM_EINVAL, "request: method must be 1 to %d bytes", AM_METHOD_MAX);
    if (!json_text_ok(m->data, m->data_len))
      return am_fail(err, AM_EINVAL, "%s: the JSON text must be UTF-8 without NUL, at most %u "
                     "bytes", am_msg_type_name(m->type), (unsigned)AM_JSON_TEXT_MAX);
    rc = msgpack_pack_array(&pk, 4) | msgpack_pack_uint64(&pk, m->type) |
         msgpack_pack_uint64(&pk, m->token) |
         (req ? pack_str(&pk, m->text) : msgpack_pack_uint64(&pk, m->code)) |
         msgpack_pack_str(&pk, m->data_len) |
         (m->data_len ? msgpack_pack_str_body(&pk, m->data, m->data_len) : 0);
    break;
  }
  default:
    return am_fail(err, AM_EUSAGE, "cannot encode a message of unknown type %llu",
                   (unsigned long long)m->type);
  }
  return rc ? am_fail(err, AM_ENOMEM, "out of memory encoding a message") : 0;
}

/* ---- decoding ---- */

typedef struct parsed {
  msgpack_zone zone;
  msgpack_object o;
} parsed;

/* Bounded walk, then unpack. The caller destroys p->zone on success. */
static int parse(const uint8_t *b, size_t len, unsigned depth, parsed *p,
                 const char *what, am_error *err) {
  size_t used;
  if (am_mp_check(b, len, depth, 0, &used) || used != len)
    return am_fail(err, AM_EINVAL,
                   "%s is not exactly one msgpack value within the limits", what);
  if (!msgpack_zone_init(&p->zone, 256)) return am_fail(err, AM_ENOMEM, "out of memory");
  size_t off = 0;
  if (msgpack_unpack((const char *)b, len, &off, &p->zone, &p->o) != MSGPACK_UNPACK_SUCCESS) {
    msgpack_zone_destroy(&p->zone);
    return am_fail(err, AM_EINVAL, "%s does not decode", what);
  }
  return 0;
}

/* The canonical check: re-encoded, the value must be the input. */
static int same_bytes(const am_buf *re, const uint8_t *b, size_t len, const char *what,
                      am_error *err) {
  if (re->len != len || memcmp(re->data, b, len) != 0)
    return am_fail(err, AM_EINVAL,
                   "%s is not in canonical form (shortest encodings, no extra bytes)", what);
  return 0;
}

static bool is_uint(const msgpack_object *o) {
  return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
}

static int copy_str(const msgpack_object *o, char *out, size_t max, bool allow_empty) {
  if (o->type != MSGPACK_OBJECT_STR) return -1;
  uint32_t n = o->via.str.size;
  if (n > max || (n == 0 && !allow_empty)) return -1;
  /* msgpack-c gives an empty str a NULL ptr: no memchr/memcpy on it (UB,
   * and UBSan aborts on "" from a peer, e.g. a goodbye without text). */
  if (n) {
    if (memchr(o->via.str.ptr, 0, n)) return -1;
    if (u8_check((const uint8_t *)o->via.str.ptr, n)) return -1; /* not UTF-8 */
    memcpy(out, o->via.str.ptr, n);
  }
  out[n] = 0;
  return 0;
}

static int decode_hello(const msgpack_object *e, uint32_t n, am_hello *h, am_error *err) {
  memset(h, 0, sizeof *h);
  if (n != 7) return am_fail(err, AM_EINVAL, "hello has %u elements, not 7", n);
  if (copy_str(&e[1], h->name, AM_HELLO_NAME_MAX, false))
    return am_fail(err, AM_EINVAL, "hello: name is not a text of 1 to %d bytes",
                   AM_HELLO_NAME_MAX);
  if (!is_uint(&e[2]) || e[2].via.u64 > 3)
    return am_fail(err, AM_EINVAL, "hello: kind is not 0 to 3");
  h->kind = (uint32_t)e[2].via.u64;
  if (copy_str(&e[3], h->software, AM_HELLO_SOFTWARE_MAX, false))
    return am_fail(err, AM_EINVAL, "hello: software is not a text of 1 to %d bytes",
                   AM_HELLO_SOFTWARE_MAX);
  if (e[4].type != MSGPACK_OBJECT_ARRAY || e[4].via.array.size > AM_HELLO_CAPS_MAX)
    return am_fail(err, AM_EINVAL, "hello: capabilities is not an array of at most %d texts",
                   AM_HELLO_CAPS_MAX);
  h->ncaps = e[4].via.array.size;
  for (uint32_t i = 0; i < h->ncaps; i++)
    if (copy_str(&e[4].via.array.ptr[i], h->caps[i], AM_HELLO_CAP_LEN, false))
      return am_fail(err, AM_EINVAL, "hello: capability %u is not a text of 1 to %d bytes",
                     i, AM_HELLO_CAP_LEN);
  if (!is_uint(&e[5])) return am_fail(err, AM_EINVAL, "hello: time is not an unsigned integer");
  h->time = e[5].via.u64;
  if (e[6].type != MSGPACK_OBJECT_NIL &&
      copy_str(&e[6], h->address, AM_HELLO_ADDRESS_MAX, false))
    return am_fail(err, AM_EINVAL, "hello: address is neither nil nor a text of 1 to %d bytes",
                   AM_HELLO_ADDRESS_MAX);
  return hello_check(h, err);
}

static int decode_fields(const msgpack_object *o, am_msg *m, am_error *err) {
  if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0 ||
      !is_uint(&o->via.array.ptr[0]))
    return am_fail(err, AM_EINVAL, "a message must be an array starting with its type");
  const msgpack_object *e = o->via.array.ptr;
  uint32_t n = o->via.array.size;
  m->type = e[0].via.u64;
  const char *name = am_msg_type_name(m->type);
  switch (m->type) {
  case AM_MSG_HELLO:
    return decode_hello(e, n, &m->hello, err);
  case AM_MSG_PING:
  case AM_MSG_PONG:
    if (n != 2 || !is_uint(&e[1]))
      return am_fail(err, AM_EINVAL, "%s must be [%d, token]", name, (int)m->type);
    m->token = e[1].via.u64;
    return 0;
  case AM_MSG_GOODBYE:
  case AM_MSG_ERROR:
    if (n != 3 || !is_uint(&e[1]) || copy_str(&e[2], m->text, AM_MSG_TEXT_MAX, true))
      return am_fail(err, AM_EINVAL, "%s must be [%d, code, text of at most %d bytes]", name,
                     (int)m->type, AM_MSG_TEXT_MAX);
    m->code = e[1].via.u64;
    return 0;
  case AM_MSG_ANNOUNCE:
    if (n != 2 || e[1].type != MSGPACK_OBJECT_BIN || e[1].via.bin.size == 0 ||
        e[1].via.bin.size > 65536)
      return am_fail(err, AM_EINVAL, "announce must be [5, bin of 1 to 65536 bytes]");
    m->envelope = (const uint8_t *)e[1].via.bin.ptr;
    m->envelope_len = e[1].via.bin.size;
    return 0;
  case AM_MSG_OFFER:
  case AM_MSG_WANT: {
    size_t max = m->type == AM_MSG_OFFER ? AM_OFFER_MAX : AM_WANT_MAX;
    if (n != 2 || e[1].type != MSGPACK_OBJECT_BIN || e[1].via.bin.size == 0 ||
        e[1].via.bin.size % 16 || e[1].via.bin.size / 16 > max)
      return am_fail(err, AM_EINVAL, "%s must be [%d, bin of 1 to %zu ids of 16 bytes]", name,
                     (int)m->type, max);
    m->data_len = e[1].via.bin.size;
    m->nids = m->data_len / 16;
    return 0;
  }
  case AM_MSG_SENT:
    if (n != 2 || !is_uint(&e[1]) || e[1].via.u64 > AM_WANT_MAX)
      return am_fail(err, AM_EINVAL, "sent must be [8, missing 0 to %d]", AM_WANT_MAX);
    m->missing = e[1].via.u64;
    return 0;
  case AM_MSG_SYNC:
    if (n != 3 || !is_uint(&e[1]) || (e[1].via.u64 & ~(uint64_t)AM_SYNC__FLAGS) ||
        e[2].type != MSGPACK_OBJECT_BIN || e[2].via.bin.size > AM_SYNC_BYTES_MAX)
      return am_fail(err, AM_EINVAL, "sync must be [9, flags 0 to 7, bin of ranges]");
    m->flags = e[1].via.u64;
    m->data_len = e[2].via.bin.size;
    return 0;
  case AM_MSG_REQUEST:
  case AM_MSG_RESPONSE: {
    bool req = m->type == AM_MSG_REQUEST;
    if (n != 4 || !is_uint(&e[1]) ||
        (req ? copy_str(&e[2], m->text, AM_METHOD_MAX, false) != 0 : !is_uint(&e[2])) ||
        e[3].type != MSGPACK_OBJECT_STR ||
        !json_text_ok((const uint8_t *)e[3].via.str.ptr, e[3].via.str.size))
      return am_fail(err, AM_EINVAL, req ? "request must be [10, id, method of 1 to 64 bytes, "
                                           "JSON text]"
                                         : "response must be [11, id, status, JSON text]");
    m->token = e[1].via.u64;
    if (!req) m->code = e[2].via.u64;
    m->data_len = e[3].via.str.size;
    return 0;
  }
  default:
    return 0; /* unknown: the caller answers unknown-message */
  }
}

int am_msg_decode(const uint8_t *p, size_t len, am_msg *m, am_error *err) {
  memset(m, 0, sizeof *m);
  parsed ps;
  /* Depth 3 at most (the message array, a hello's capabilities, and one
   * more level for messages of later versions, which are ignored). */
  int rc = parse(p, len, 3, &ps, "message", err);
  if (rc) return rc;
  rc = decode_fields(&ps.o, m, err);
  msgpack_zone_destroy(&ps.zone);
  if (rc || m->type >= AM_MSG__KNOWN) return rc;
  if (m->type == AM_MSG_ANNOUNCE) m->envelope = p + (len - m->envelope_len);
  /* The bin is the last element: its bytes end the message. */
  if (m->type == AM_MSG_OFFER || m->type == AM_MSG_WANT || m->type == AM_MSG_SYNC ||
      m->type == AM_MSG_REQUEST || m->type == AM_MSG_RESPONSE)
    m->data = p + (len - m->data_len);
  am_buf re = {0};
  if ((rc = am_msg_encode(m, &re, err)) == 0)
    rc = same_bytes(&re, p, len, am_msg_type_name(m->type), err);
  am_buf_free(&re);
  if (rc) memset(m, 0, sizeof *m);
  return rc;
}

/* ---- handshake payloads ---- */

static int pack_versions(msgpack_packer *pk, const am_versions *vs) {
  int rc = msgpack_pack_array(pk, vs->n);
  for (uint32_t i = 0; i < vs->n; i++) rc |= msgpack_pack_uint64(pk, vs->v[i]);
  return rc;
}

static int read_versions(const msgpack_object *o, am_versions *vs) {
  if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 1 ||
      o->via.array.size > AM_TRANSPORT_MAX_VERSIONS)
    return -1;
  vs->n = o->via.array.size;
  for (uint32_t i = 0; i < vs->n; i++) {
    const msgpack_object *e = &o->via.array.ptr[i];
    if (!is_uint(e) || e->via.u64 < 1 || e->via.u64 > 127) return -1;
    vs->v[i] = (uint8_t)e->via.u64;
  }
  return versions_ok(vs) ? 0 : -1;
}

int am_hs1_encode(const am_versions *vs, am_buf *out) {
  if (!versions_ok(vs)) return AM_EUSAGE;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, buf_write);
  return pack_versions(&pk, vs) ? AM_ENOMEM : 0;
}

int am_hs1_decode(const uint8_t *p, size_t len, am_versions *vs, am_error *err) {
  memset(vs, 0, sizeof *vs);
  parsed ps;
  int rc = parse(p, len, 1, &ps, "handshake message 1 payload", err);
  if (rc) return rc;
  rc = read_versions(&ps.o, vs);
  msgpack_zone_destroy(&ps.zone);
  if (rc) return am_fail(err, AM_EINVAL, "handshake message 1: versions are not 1 to 8 "
                                         "increasing integers 1..127");
  am_buf re = {0};
  if ((rc = am_hs1_encode(vs, &re)) == 0)
    rc = same_bytes(&re, p, len, "handshake message 1 payload", err);
  am_buf_free(&re);
  return rc;
}

uint8_t am_versions_pick(const am_versions *a, const am_versions *b) {
  for (uint32_t i = a->n; i-- > 0;)
    for (uint32_t j = 0; j < b->n; j++)
      if (a->v[i] == b->v[j]) return a->v[i];
  return 0;
}

int am_hs2_encode(const am_hs_proof *p, am_buf *out) {
  if (!versions_ok(&p->versions)) return AM_EUSAGE;
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, buf_write);
  int rc = msgpack_pack_array(&pk, 4) | msgpack_pack_uint64(&pk, p->version) |
           pack_bin(&pk, p->identity, 32) | pack_bin(&pk, p->binding, 64) |
           pack_versions(&pk, &p->versions);
  return rc ? AM_ENOMEM : 0;
}

int am_hs3_encode(const am_hs_proof *p, am_buf *out) {
  msgpack_packer pk;
  msgpack_packer_init(&pk, out, buf_write);
  int rc = msgpack_pack_array(&pk, 3) | pack_bin(&pk, p->identity, 32) |
           pack_bin(&pk, p->binding, 64) |
           (p->has_invitation ? pack_bin(&pk, p->invitation, 40) : msgpack_pack_nil(&pk));
  return rc ? AM_ENOMEM : 0;
}

static bool bin_of(const msgpack_object *o, uint32_t n) {
  return o->type == MSGPACK_OBJECT_BIN && o->via.bin.size == n;
}

static int decode_proof(const uint8_t *b, size_t len, am_hs_proof *p, int msg,
                        am_error *err) {
  memset(p, 0, sizeof *p);
  const char *what = msg == 2 ? "handshake message 2 payload" : "handshake message 3 payload";
  parsed ps;
  int rc = parse(b, len, 2, &ps, what, err);
  if (rc) return rc;
  const msgpack_object *o = &ps.o;
  const msgpack_object *e = o->type == MSGPACK_OBJECT_ARRAY ? o->via.array.ptr : NULL;
  uint32_t n = e ? o->via.array.size : 0;
  rc = AM_EINVAL;
  if (msg == 2) {
    if (n == 4 && is_uint(&e[0]) && e[0].via.u64 <= 127 && bin_of(&e[1], 32) &&
        bin_of(&e[2], 64) && read_versions(&e[3], &p->versions) == 0) {
      p->version = (uint8_t)e[0].via.u64;
      memcpy(p->identity, e[1].via.bin.ptr, 32);
      memcpy(p->binding, e[2].via.bin.ptr, 64);
      rc = 0;
    }
  } else if (n == 3 && bin_of(&e[0], 32) && bin_of(&e[1], 64) &&
             (e[2].type == MSGPACK_OBJECT_NIL || bin_of(&e[2], 40))) {
    memcpy(p->identity, e[0].via.bin.ptr, 32);
    memcpy(p->binding, e[1].via.bin.ptr, 64);
    if ((p->has_invitation = e[2].type == MSGPACK_OBJECT_BIN))
      memcpy(p->invitation, e[2].via.bin.ptr, 40);
    rc = 0;
  }
  msgpack_zone_destroy(&ps.zone);
  if (rc)
    return am_fail(err, AM_EINVAL, "%s is not %s", what,
                   msg == 2 ? "[version, identity, binding, versions]"
                            : "[identity, binding, invitation or nil]");
  am_buf re = {0};
  if ((rc = msg == 2 ? am_hs2_encode(p, &re) : am_hs3_encode(p, &re)) == 0)
    rc = same_bytes(&re, b, len, what, err);
  am_buf_free(&re);
  if (rc) memset(p, 0, sizeof *p);
  return rc;
}

int am_hs2_decode(const uint8_t *b, size_t len, am_hs_proof *p, am_error *err) {
  return decode_proof(b, len, p, 2, err);
}

int am_hs3_decode(const uint8_t *b, size_t len, am_hs_proof *p, am_error *err) {
  return decode_proof(b, len, p, 3, err);
}
