/* A blocking Amicale transport client for tests and benchmarks: dial,
 * handshake as a given identity, hello, then send and receive session
 * messages. The same handshake and channel code as the daemon
 * (crypto/handshake.h, crypto/channel.h), with plain sockets instead of
 * libuv, so a test can misbehave at any step. */
#ifndef AMICALE_TESTS_CLIENT_H
#define AMICALE_TESTS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/channel.h"
#include "crypto/handshake.h"
#include "proto/session.h"

long long am_tc_now_ms(void);

/* When true, the hello lists "replicate" too (section 15 messages). */
extern bool am_tc_replicate;

/* TCP connection to "a.b.c.d:port", from source address bind_ip (NULL:
 * any); -1 when it fails. */
int am_tc_dial(const char *addr, const char *bind_ip);
int am_tc_send_all(int fd, const void *p, size_t n);
int am_tc_recv_all(int fd, void *p, size_t n, long long deadline_ms);

typedef struct am_tclient {
  int fd;
  am_chan chan;
  am_hello hello;      /* the server's */
  char refusal[800];   /* why it failed, when it did */
} am_tclient;

/* Opens a session as local's identity with the node whose key is
 * server_key, sending a hello named name. 0: session up (c->hello);
 * 1: refused (c->refusal: "goodbye REASON" or the handshake's reason);
 * -1: a failure (c->refusal says which). */
int am_tc_open(am_tclient *c, const char *addr, const char *bind_ip,
               const am_hs_local *local, const uint8_t server_key[static 32],
               const char *name);
int am_tc_send(am_tclient *c, const am_msg *m);
/* The next message, within the deadline: 0, or -1 (closed, timeout, bad). */
int am_tc_recv(am_tclient *c, am_msg *m, long long deadline_ms);
void am_tc_close(am_tclient *c);

#endif
