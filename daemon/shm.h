/*
 * shm.h: the shared-memory channel on the daemon's side (see shm.c and
 * PROTOCOL.md, "Shared-memory channel"). server.c calls these hooks for a
 * client whose c->shm is set; nothing else knows about the channel.
 */
#ifndef IPCD_SHM_H
#define IPCD_SHM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct client;

/* Free c's channel (its connection is closing). */
void shm_free(struct client *c);
/* The socket of shm client c is readable: wake-up bytes (drained and
 * dropped) or its end. With serve, its ring is read and run. Returns 1 if
 * bytes came (c may be closed now), 0 at end of stream, -1 with errno on a
 * socket error. */
int shm_on_socket(struct client *c, int serve);
/* Whether c's requests may be read now (server.c's reading rule); c's
 * ring is then polled by the loop until it goes quiet. */
void shm_want_input(struct client *c, int want);
/* Write up to n bytes at c->out's head: into the reply ring once the
 * channel carries them, a descriptor waiting at that position first over
 * the socket. Bytes taken (0: nothing now), or -1 with errno (EAGAIN: the
 * socket is full; EPROTO: the ring is corrupt, logged). */
ssize_t shm_write(struct client *c, size_t n);
/* True if c's output waits for room in its reply ring (no socket event
 * will tell: the client wakes the daemon when it has read). */
int shm_output_waits(const struct client *c);
/* The output stream position from which c's replies go into its ring;
 * UINT64_MAX without a channel. */
uint64_t shm_out_from(const struct client *c);
/* After each frame run from c's input: the frame that opened the channel
 * drops what the socket brought after it. */
void shm_opened(struct client *c);
/* Whether c's replies made so far may leave in the middle of a run of its
 * requests: it is on the channel and no reply waits for a commit. */
int shm_replies_may_go(const struct client *c);
/* Poll the rings of clients that sent recently: called once per loop
 * iteration, now_us its clock_mono_us (read once for the iteration).
 * Returns 1 if a ring brought bytes. */
int shm_poll(uint64_t now_us);
/* True if some client's ring is being polled (it sent recently). */
int shm_polling(void);
/* The loop is about to sleep: every polled ring is told the daemon
 * sleeps (the client will wake it with a byte on the socket). Returns 1 if
 * one had bytes after all: then do not sleep. Cost: the rings polled,
 * never the idle ones. */
int shm_sleep(void);

#endif
