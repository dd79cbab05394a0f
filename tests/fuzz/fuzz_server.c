/*
 * fuzz_server.c: bytes from a hostile client, through the daemon's whole
 * request path (frames, validation, dispatch, every handler, replies) on a
 * real Unix socket in-process. Each input is one connection: a hello, then
 * the input as it came, then end of stream. The daemon must neither crash
 * nor leak, and whatever it sends back must be well-formed reply frames.
 *
 * Built two ways: as a libFuzzer target (meson -Dfuzz=true, clang), and with
 * fuzz_replay.c as a plain test that mutates seed requests deterministically.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <event2/event.h>
#include "fuzz.h"
#include "config.h"
#include "log.h"
#include "frame.h"
#include "dispatch.h"
#include "loop.h"
#include "registry.h"
#include "server.h"
#include "value.h"

static struct event_base *base;
static struct sockaddr_un addr = { .sun_family = AF_UNIX };
static int inputs_run;

static char dir[] = "/tmp/ipcd-fuzz-XXXXXX";

/* Remove the socket and its directory at exit. */
static void fuzz_cleanup(void)
{
	unlink(addr.sun_path);
	rmdir(dir);
}

/* Start the daemon's server on a socket in a fresh temp dir, once. */
static void fuzz_init(void)
{
	if (base)
		return;
	if (!mkdtemp(dir))
		abort();
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/ipcd.sock", dir);
	config_defaults(&config);
	config.max_frame = 1 << 20;
	config.log_level = LOG_ERR; /* refusals are the point here, not news */
	value_mem_limit = 64 << 20; /* a hostile input cannot exhaust the fuzzer */
	registry_init();
	base = event_base_new();
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 16) < 0 ||
	    dispatch_start(base, lfd) < 0)
		abort();
	atexit(fuzz_cleanup);
}

/* Every reply frame in buf[0..n) is [id, status, result]; abort otherwise. */
static void check_replies(const char *data, size_t n)
{
	struct buf b = { (char *)data, 0, n, n };
	const char *body;
	size_t len, total;
	while (frame_peek(&b, SIZE_MAX, &body, &len, &total) == FRAME_OK) {
		msgpack_unpacked u;
		size_t off = 0;
		msgpack_unpacked_init(&u);
		if (msgpack_unpack_next(&u, body, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len ||
		    u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size != 3 ||
		    u.data.via.array.ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			abort();
		msgpack_unpacked_destroy(&u);
		b.off += total;
	}
	if (b.off != n)
		abort(); /* a torn frame at the end of the stream */
}

int fuzz_one(const uint8_t *data, size_t size)
{
	static const char hello[] = { 0, 0, 0, 4, (char)0x93, 0x00, 0x01, 0x01 }; /* [0, 1, 1] */
	fuzz_init();
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		abort();
	loop_once(base, EVLOOP_NONBLOCK); /* accept */
	if (write(fd, hello, sizeof(hello)) != (ssize_t)sizeof(hello))
		abort();
	/* Feed the input while reading replies, so neither side's buffer fills. */
	struct buf replies;
	buf_init(&replies);
	size_t sent = 0;
	int eof = 0, shut = 0;
	for (int rounds = 0; !eof && rounds < 100000; rounds++) {
		if (sent < size) {
			ssize_t w = send(fd, data + sent, size - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w > 0)
				sent += (size_t)w;
			else if (w < 0 && errno != EAGAIN)
				sent = size; /* the daemon closed: stop feeding */
		} else if (!shut) {
			shutdown(fd, SHUT_WR);
			shut = 1;
		}
		loop_once(base, EVLOOP_NONBLOCK);
		for (;;) {
			if (buf_reserve(&replies, 65536) < 0)
				abort();
			ssize_t r = recv(fd, replies.data + replies.len, replies.cap - replies.len, MSG_DONTWAIT);
			if (r > 0) {
				replies.len += (size_t)r;
				continue;
			}
			if (r == 0 || (r < 0 && errno != EAGAIN))
				eof = 1;
			break;
		}
	}
	if (!eof)
		abort(); /* the daemon neither answered nor closed: it is stuck */
	check_replies(replies.data, replies.len);
	buf_free(&replies);
	close(fd);
	loop_once(base, EVLOOP_NONBLOCK);
	/* Keep the registry small so that long runs stay fast. */
	if (++inputs_run % 256 == 0) {
		registry_free();
		registry_init();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_one(data, size);
}
