/* A blocking client of the Amicale transport (docs/PROTOCOL.md 14): dial,
 * the Noise handshake as initiator, hello, then session messages, every
 * step under a deadline (poll), with plain sockets instead of libuv. The
 * handshake and the channel are the daemon's own code (crypto/handshake.h,
 * crypto/channel.h); this module only moves their bytes.
 *
 * Used by member mode (cli/remote.c: one request per connection) and by the
 * test and benchmark tools (tests/tools/client.c), which misbehave on
 * purpose at any step. */
#ifndef AMICALE_CLI_CLIENT_H
#define AMICALE_CLI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/channel.h"
#include "crypto/handshake.h"
#include "proto/session.h"

long long am_client_now_ms(void);

/* TCP connection to "HOST:PORT" ("[v6]:PORT" too; a name is resolved and
 * each address tried in turn), from source address bind_ip (NULL: any).
 * The fd, or -1 with a sentence in why. */
int am_client_dial(const char *addr, const char *bind_ip, long long deadline_ms, char *why,
                   size_t why_len);
int am_client_send_all(int fd, const void *p, size_t n);
int am_client_recv_all(int fd, void *p, size_t n, long long deadline_ms);

typedef struct am_client {
  int fd;
  am_chan chan;
  bool chan_open;
  uint8_t *frame;    /* AM_FRAME_MAX bytes, the frame being read */
  am_hello hello;    /* the node's, once am_client_hello succeeded */
  int bye;           /* the goodbye reason the node sent, -1 none */
  char why[800];     /* why the last call failed */
} am_client;

/* The handshake with the node whose identity is server_key, over an open
 * fd (taken over: closed by am_client_close), proof_fn (may be NULL)
 * supplying the invitation field of message 3. 0, or AM_EIO (c->why). */
int am_client_handshake(am_client *c, int fd, const am_hs_local *local,
                        const uint8_t server_key[static 32], am_hs_proof_fn proof_fn,
                        void *proof_arg, long long deadline_ms);
/* Sends hello (name, capabilities) and reads the node's first message:
 * 0 with c->hello; 1 when it said goodbye (c->bye, c->why: the node's
 * words); AM_EIO otherwise. */
int am_client_hello(am_client *c, const char *name, const char *const *caps, size_t ncaps,
                    long long deadline_ms);
int am_client_send(am_client *c, const am_msg *m);
/* The next message within the deadline: 0 (m's pointers valid until the
 * next call), or AM_EIO (closed, timeout, a frame or message that is not
 * valid: c->why). */
int am_client_recv(am_client *c, am_msg *m, long long deadline_ms);
/* Sends goodbye shutdown (best effort) and closes. */
void am_client_bye(am_client *c);
void am_client_close(am_client *c);

#endif
