/*
 * fuzz.h: the server fuzz target, shared by the libFuzzer build and the
 * replay test.
 *
 * An input is a script of commands for FUZZ_CONNS client connections and a
 * clock. Each command is one byte, b, then its operands: it is command
 * (b / FUZZ_CONNS) % FUZZ_CMDS on connection k = b % FUZZ_CONNS. A
 * connection opens (with a hello) when a command first needs it, and again
 * after it closed. What is left of the input when an operand runs short is
 * taken as it is.
 */
#ifndef IPCD_FUZZ_H
#define IPCD_FUZZ_H
#include <stddef.h>
#include <stdint.h>

#define FUZZ_CONNS 4

enum fuzz_cmd {
	FUZZ_FRAME,    /* u16 length, body: one frame (length prefix added) to k */
	FUZZ_RAW,      /* u16 length, bytes: sent to k as they are */
	FUZZ_ADVANCE,  /* u16 ms: the clock moves on, the timers due run in order */
	FUZZ_CLOSE,    /* k hangs up */
	FUZZ_SHUT,     /* k shuts down its sending side (and still reads) */
	FUZZ_PAUSE,    /* k stops reading its replies, or starts again */
	FUZZ_KILL,     /* u8 t: k sends kill_client for connection t % FUZZ_CONNS
	                * (t & FUZZ_CONNS: by pid, which is every connection) */
	FUZZ_CONNECT,  /* k reconnects without a hello */
	FUZZ_CMDS
};

/* Run one script; aborts on a malformed reply or a stuck daemon. */
int fuzz_one(const uint8_t *data, size_t size);
/* Start the daemon's state anew now; with persistence on (IPCD_FUZZ_STATE),
 * the log is replayed first, and must replay. */
void fuzz_restart(void);
#endif
