/*
 * proto.h: the ipcd wire contract shared by the daemon, libipcd, ipcctl and
 * the fuzzer. Nothing wire-related lives outside proto/.
 *
 * A frame is a u32 big-endian length followed by exactly that many bytes
 * holding one msgpack value. Requests are arrays [id, op, args...]; replies
 * are arrays [id, status, result-or-message]. See PROTOCOL.md.
 *
 * Don't forget to bump IPCD_PROTOCOL_VERSION if the meaning of any frame,
 * op or error changes.
 */
#ifndef IPCD_PROTO_H
#define IPCD_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

#define IPCD_PROTOCOL_VERSION 1

/* Frame length prefix size. */
#define PROTO_HEADER_SIZE 4

/* Built-in limit defaults; each is a daemon config key of the same name. */
#define PROTO_DEFAULT_MAX_FRAME   (16u << 20)  /* max_frame: bounds one request's memory */
#define PROTO_DEFAULT_MAX_NAME    255u         /* max_name: names appear in ls pages and logs */
#define PROTO_DEFAULT_MAX_DEPTH   24u          /* max_depth: nesting of a stored value; bounds recursion. msgpack-c parses at most 32 levels per frame, the request envelope included */
#define PROTO_MAX_LEVELS          32u          /* nesting of a whole frame: what msgpack-c can parse */
#define PROTO_MAX_LEVELS_STR      "32"
#define PROTO_LS_DEFAULT_COUNT    100u         /* page size when ls/keys omit COUNT */
#define PROTO_LS_MAX_COUNT        10000u       /* largest page a client may ask for */
#define PROTO_MAX_SECONDS         1000000000u  /* longest delay or lease (about 31 years): a longer one is a mistake, and
                                                * every deadline stays far inside int64 milliseconds */
#define PROTO_MAX_SECONDS_STR     "1000000000"

/* The error codes: the same enum ipcd.h gives libipcd's users. */
#include "errors.h"

enum proto_type {
	PROTO_T_ANY, PROTO_T_QUEUE, PROTO_T_LIST, PROTO_T_DICT, PROTO_T_NS, PROTO_T_VALUE, PROTO_T_ARRAY,
	PROTO_T_LOCK, PROTO_T_SEMAPHORE, PROTO_T_EVENT, PROTO_T_CONDITION, PROTO_T_BARRIER,
	PROTO_T_COUNT
};

enum proto_op_flag {
	OPF_NAME  = 1u << 0,
	OPF_WRITE = 1u << 1,
	OPF_BLOCK = 1u << 2,
	OPF_OWNER = 1u << 3,
};

enum proto_op {
#define IPCD_OP(ident, code, wire, type, flags, sig, usage, help) IPCD_OP_##ident = code,
#include "ops.def"
#undef IPCD_OP
	PROTO_OP_MAX = 256, /* op codes are below this; tables index by code */
};

struct proto_op_info {
	unsigned code;
	const char *name;      /* wire name, e.g. "queue.put" */
	enum proto_type type;
	unsigned flags;
	const char *sig;       /* see ops.def */
	const char *usage;
	const char *help;
	unsigned min_args;     /* derived from sig */
	unsigned max_args;
};

/* Number of ops, and op i (0 <= i < count) in ops.def order. */
extern const size_t proto_ops_count;
const struct proto_op_info *proto_op_at(size_t i);

/* Op by code, or NULL. */
const struct proto_op_info *proto_op_by_code(uint64_t code);
/* Op by wire name (not NUL-terminated), or NULL. */
const struct proto_op_info *proto_op_by_name(const char *name, size_t len);

/* Type name ("queue", "list", "dict", "ns"), or "?" */
const char *proto_type_name(enum proto_type t);
/* Type by name; PROTO_T_ANY if unknown. */
enum proto_type proto_type_by_name(const char *name, size_t len);

/* Stable wire name of an error ("NOTFOUND"), its message, whether it closes. */
const char *proto_error_name(int code);
const char *proto_error_message(int code);
int proto_error_closes(int code);
/* Error code by wire name, or -1. */
int proto_error_by_name(const char *name, size_t len);

/*
 * Argument check: 0 if args[0..n) fit the op's signature, else IPCD_EBADARG
 * with a reason in *why (a static string). Name length is checked against
 * max_name; a NAME that is not a str, empty, too long or with NUL is
 * IPCD_EBADNAME.
 */
int proto_check_args(const struct proto_op_info *op, const msgpack_object *args,
                     uint32_t n, size_t max_name, const char **why);
/* True if o fits one signature letter (the 'N' length check is not done here). */
int proto_arg_fits(char letter, const msgpack_object *o);

/*
 * Timeout argument to milliseconds: -1 = forever (nil or absent),
 * else ms rounded up. o may be NULL (absent).
 */
int64_t proto_timeout_ms(const msgpack_object *o);

/*
 * A duration that is not a timeout (a put's delay, a lease, a nack's delay)
 * to milliseconds, rounded up: -1 unless o is a finite number of seconds
 * from 0 to PROTO_MAX_SECONDS (nil and +inf are not durations).
 */
int64_t proto_duration_ms(const msgpack_object *o);

/*
 * The default socket path ipcd listens on: $IPCD_SOCKET, else
 * $XDG_RUNTIME_DIR/ipcd.sock, else /run/ipcd/ipcd.sock (an empty variable
 * counts as unset). Writes into buf; returns buf, or NULL if it does not fit.
 */
char *proto_default_socket(char *buf, size_t size);

/*
 * The sockets a client tries, in order, using the first that accepts:
 * $IPCD_SOCKET alone if set, else $XDG_RUNTIME_DIR/ipcd.sock (a user's own
 * daemon) and then the system daemon's /run/ipcd/ipcd.sock. Fills paths;
 * returns how many (1 or 2), or 0 if a path does not fit.
 */
#define PROTO_SYSTEM_SOCKET "/run/ipcd/ipcd.sock"
#define PROTO_SOCKET_PATH_MAX 108   /* sizeof sockaddr_un.sun_path */
int proto_client_sockets(char paths[2][PROTO_SOCKET_PATH_MAX]);

#endif
