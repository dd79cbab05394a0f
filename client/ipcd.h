/*
 * ipcd.h: libipcd, the C client of ipcd.
 *
 * ipcd hosts named queues, lists, dicts and namespaces for the processes of
 * one host. A process opens a connection (ipcd_connect), then calls ops on
 * named objects; every op of the protocol is reachable through one generic
 * call driven by the op's signature in ops.def (ipcd_call), and the common
 * ones have typed helpers (ipcd_queue_put_int, ipcd_dict_incr, ...).
 *
 * Contract
 * - Every call returns an int: IPCD_OK (0) on success, else an error code
 *   from errors.def. Codes 1..63 are the server's answer to the request
 *   (IPCD_ENOTFOUND, IPCD_EEMPTY, ...; ipcd_errmsg() has the server's
 *   message); codes 100 and up are failures on the client side (IPCD_EIO,
 *   IPCD_EINVAL, ...). The library never aborts and never prints.
 * - Values cross the API as msgpack: raw encoded bytes in (struct ipcd_val),
 *   msgpack_object views out (struct ipcd_result). A result and everything
 *   it points to stay valid until the next call on the same connection
 *   (any call except the accessors ipcd_fd, ipcd_errmsg, ipcd_pending and
 *   the ipcd_obj_* decoders) or until ipcd_close.
 * - A connection is used by one thread at a time. After fork() the child
 *   must not use the parent's connection: it calls ipcd_close on it (which
 *   sends nothing) and connects anew.
 * - SIGPIPE is never raised by the library (writes use MSG_NOSIGNAL).
 *
 * Errors every call on a connection can return, on top of those listed with
 * each function: IPCD_EIO (the connection failed or was lost; for a request
 * already sent, the outcome is unknown), IPCD_ECLOSED (the connection is
 * closed and reconnecting is off), IPCD_EREPLY (the server sent something
 * that is not a valid reply; the connection is dropped), IPCD_ENOMEMCLI,
 * IPCD_ESHUTDOWN (the server is stopping), IPCD_EINTERNAL, IPCD_ENOMEM (the
 * server ran out of memory).
 *
 * Reconnecting
 * A lost connection (daemon restarted, socket closed, I/O timeout) is noticed
 * either while waiting for a reply or, for an idle connection, when the next
 * request is written: the write fails before any of it went out, and the
 * library reconnects once (with hello) and sends it on the new connection.
 * Otherwise the next call reconnects before sending, retrying for up to the
 * reconnect timeout (ipcd_set_reconnect_timeout) while the daemon restarts.
 * If reconnecting fails the call returns IPCD_EIO and the call after tries
 * again. A call answered IPCD_ESHUTDOWN (the daemon stopped before running
 * it: it waited, or it came after the daemon's last read) had no effect:
 * ipcd_call, ipcd_call_raw and the typed helpers send it again once the
 * daemon is back, a waiting op with what is left of its timeout, so a
 * blocked get rides through a restart. A request whose reply was lost is never resent silently, except by
 * ipcd_call (and the typed helpers) for the ops that are safe to repeat:
 * those without OPF_WRITE in ops.def and other than delete, that is hello,
 * ping, info, ls, create (idempotent), exists, type, stat, dump, and the
 * reads (queue.qsize, list.index/count/get/range/len/contains,
 * dict.get/keys/values/items/len/contains, ns.get/all). Every other op
 * (all blocking ops included) whose reply was lost returns IPCD_EIO: it may
 * or may not have taken effect. Requests queued with ipcd_send are never
 * resent: each one outstanding when the connection was lost gets IPCD_EIO
 * from ipcd_recv.
 *
 * Timeouts
 * An op's own timeout (argument letter 't': queue.get, queue.put, ...) is in
 * seconds as a double: negative = wait forever, 0 = don't wait, > 0 = wait
 * up to that long; when it expires the server answers IPCD_ETIMEOUT (or
 * IPCD_EEMPTY/IPCD_EFULL for 0). ipcd_set_timeout() adds an I/O timeout: how
 * long to wait for a reply beyond the op's own timeout (default: forever).
 * When it expires the connection is dropped and the call returns IPCD_EIO.
 *
 * In-tree code that includes both proto/proto.h and ipcd.h must include
 * proto.h first (both declare the IPCD_OP_* constants from ops.def; the
 * error codes come from errors.h in both).
 */
#ifndef IPCD_H
#define IPCD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(IPCD_BUILDING) && defined(__GNUC__)
#define IPCD_EXPORT __attribute__((visibility("default")))
#else
#define IPCD_EXPORT
#endif

/* Error codes: IPCD_OK = 0 and IPCD_E<NAME> for every other line of
 * errors.def (IPCD_ENOTFOUND, IPCD_EEMPTY, IPCD_EIO, ...); the daemon uses
 * the same names. */
#include "errors.h"

/* Op codes: IPCD_OP_<IDENT> for every line of ops.def (IPCD_OP_QUEUE_PUT,
 * IPCD_OP_DICT_INCR, ...). proto.h declares the same names with the same
 * values for code inside the ipcd tree. */
#ifndef IPCD_PROTO_H
enum ipcd_op {
#define IPCD_OP(ident, code, wire, type, flags, sig, usage, help) IPCD_OP_##ident = code,
#include "ops.def"
#undef IPCD_OP
};
#endif

/* A connection. Opaque. */
typedef struct ipcd ipcd;

/*
 * One msgpack value as encoded bytes, not owned: mp[0..len) must hold exactly
 * one valid msgpack value. {NULL, 0} is nil. mp == NULL with len != 0 is an
 * invalid value (what the ipcd_val_* encoders return when the buffer is too
 * small): a call given it fails with IPCD_EINVAL.
 */
struct ipcd_val {
	const void *mp;
	size_t len;
};
#ifdef __cplusplus
#define IPCD_VAL(p, n) (ipcd_val{ (p), (n) })
#define IPCD_NIL       (ipcd_val{ NULL, 0 })
#else
#define IPCD_VAL(p, n) ((struct ipcd_val){ (p), (n) })
#define IPCD_NIL       ((struct ipcd_val){ NULL, 0 })
#endif

/*
 * A reply. value and mp/len point into the connection: valid until the next
 * call on it (see the contract above).
 */
struct ipcd_result {
	uint64_t id;            /* the request's id */
	unsigned op;            /* the request's op code */
	int status;             /* IPCD_OK, or the error code (server or client side) */
	msgpack_object value;   /* the result; nil on client-side errors, the message string on server errors */
	const char *mp;         /* value's msgpack encoding, to pass it on as-is; NULL on client-side errors */
	size_t len;
};

/* Nil for an optional 'I' argument (list.index START/STOP, list.range):
 * INT64_MIN itself cannot be sent as an 'I' argument. */
#define IPCD_NIL_INT INT64_MIN

/* ---- connection ---------------------------------------------------------- */

/*
 * Connect to the daemon at socket_path and say hello. socket_path NULL: the
 * default rule ($IPCD_SOCKET alone, else $XDG_RUNTIME_DIR/ipcd.sock and then
 * /run/ipcd/ipcd.sock, the first that accepts). On success *out is a new connection, to be freed with
 * ipcd_close. On failure *out is NULL and ipcd_errmsg(NULL) tells why.
 * Errors: IPCD_EIO (cannot connect, or the hello got no reply), IPCD_EINVAL
 * (out is NULL, path too long), IPCD_EVERSION, IPCD_EMAXCLIENTS,
 * IPCD_ESHUTDOWN, IPCD_EREPLY, IPCD_ENOMEMCLI.
 */
IPCD_EXPORT int ipcd_connect(ipcd **out, const char *socket_path);

/* ipcd_connect with a client name shown by the server (NULL or "" = none;
 * the server keeps the first 31 bytes). Same errors. */
IPCD_EXPORT int ipcd_connect_as(ipcd **out, const char *socket_path, const char *name);

/* Close the connection and free it. Requests not yet answered are abandoned
 * (the server cancels their waits; queued ones not yet written are never
 * sent). c may be NULL. */
IPCD_EXPORT void ipcd_close(ipcd *c);

/*
 * The socket's fd (close-on-exec), for poll() in the caller's loop; -1
 * while disconnected. It changes when the library reconnects. Do not read,
 * write, close it or change its flags: it is in blocking mode, and the
 * library passes MSG_DONTWAIT wherever it must not wait. On the
 * shared-memory channel (ipcd_shm_active) replies come through shared
 * memory and the socket is signalled only when the library said it
 * sleeps: call ipcd_read_available() before each poll, and poll only while
 * it reports fewer replies ready than ipcd_pending(); it says so and then
 * looks once more, so no reply is left unsignalled. ipcd_fd() says so too
 * but cannot look again: a reply that came just before it is not
 * signalled. ipcd_recv() takes the request back (it reads the ring
 * instead), so a caller asks again before its next poll.
 */
IPCD_EXPORT int ipcd_fd(const ipcd *c);

/*
 * 1 if c's frames travel through the shared-memory channel (the server
 * offered it and IPCD_SHM=0 is not in the environment: no system call per
 * request while busy), 0 on the socket or while disconnected. A reconnect
 * opens the channel again. No errors.
 */
IPCD_EXPORT int ipcd_shm_active(const ipcd *c);

/*
 * The message for the last failed call on c: the server's message for a
 * server error, the library's for a client-side one; "" after a success.
 * ipcd_errmsg(NULL): the message of the last failed ipcd_connect in this
 * thread. Valid until the next call on c (or connect in this thread).
 */
IPCD_EXPORT const char *ipcd_errmsg(const ipcd *c);

/* The fixed message of an error code ("no such object"); never NULL. */
IPCD_EXPORT const char *ipcd_strerror(int code);

/* The stable name of an error code ("NOTFOUND"); "UNKNOWN" if unknown. */
IPCD_EXPORT const char *ipcd_errname(int code);

/*
 * I/O timeout: how long to wait for a reply beyond the op's own timeout
 * (and for a write to the socket). seconds <= 0 = none (the default).
 * Errors: IPCD_EINVAL (c NULL, seconds NaN).
 */
IPCD_EXPORT int ipcd_set_timeout(ipcd *c, double seconds);

/* Reconnect automatically (on = 1, the default) or not (0: once the
 * connection is lost, calls return IPCD_ECLOSED). Errors: IPCD_EINVAL. */
IPCD_EXPORT int ipcd_set_reconnect(ipcd *c, int on);

/* How long a reconnect keeps trying (with backoff, from 5 ms to 200 ms
 * between tries) while the daemon is being restarted: default 5 seconds, 0
 * = one try. Errors: IPCD_EINVAL (c NULL, seconds NaN or negative). */
IPCD_EXPORT int ipcd_set_reconnect_timeout(ipcd *c, double seconds);

/* ---- ops table (from ops.def) ------------------------------------------ */

/* The code of the op with wire name name ("queue.put") into *code.
 * Errors: IPCD_EBADOP (no such op), IPCD_EINVAL (NULL arguments). */
IPCD_EXPORT int ipcd_op_code(const char *name, unsigned *code);
/* Wire name of op code, or NULL if unknown. */
IPCD_EXPORT const char *ipcd_op_name(unsigned code);
/* Signature of op code (letters as in ops.def), or NULL if unknown. */
IPCD_EXPORT const char *ipcd_op_signature(unsigned code);

/* ---- generic call -------------------------------------------------------- */

/*
 * Call op with nargs arguments and wait for its reply. nargs is the number of
 * arguments passed after it, between the op's required and total count in
 * its signature: trailing optional arguments are omitted by passing fewer.
 * Each argument's C type follows its signature letter in ops.def, and must be
 * passed with exactly that type (cast integer literals: (int64_t)5):
 *   N S      const char *  (NUL-terminated, not NULL)
 *   s        const char *  or NULL for nil
 *   v k m a o n
 *            struct ipcd_val (raw msgpack; IPCD_NIL for nil; m/o must be a
 *            map, a an array, n an int or finite float: use ipcd_val_int /
 *            ipcd_val_double)
 *   i        int64_t
 *   I        int64_t, IPCD_NIL_INT for nil
 *   u        uint64_t
 *   t        double seconds: negative = forever, 0 = don't wait
 * res may be NULL when the result is not needed. Returns res->status.
 * Lost replies are retried once for the ops listed under "Reconnecting".
 * Errors: the server's error codes for op (see PROTOCOL.md; BADARG,
 * NOTFOUND, WRONGTYPE, EMPTY, FULL, TIMEOUT, ...), IPCD_EBADOP (op unknown
 * to this library), IPCD_EBADARG (nargs out of range, a value of the wrong
 * type: checked before sending), IPCD_ETOOBIG (request larger than the
 * server's max_frame: not sent, the connection stays), IPCD_EINVAL (c NULL,
 * a NULL string, malformed msgpack in a value, replies from ipcd_send still
 * to be received), and the connection errors above.
 */
IPCD_EXPORT int ipcd_call(ipcd *c, unsigned op, struct ipcd_result *res, unsigned nargs, ...);
IPCD_EXPORT int ipcd_callv(ipcd *c, unsigned op, struct ipcd_result *res, unsigned nargs, va_list ap);

/*
 * Call op with its arguments given as one msgpack array (args, len bytes;
 * NULL/0 = no arguments). The arguments are checked against the op's
 * signature before sending. Same errors as ipcd_call; IPCD_EINVAL if args is
 * not one well-formed msgpack array.
 */
IPCD_EXPORT int ipcd_call_raw(ipcd *c, unsigned op, const void *args, size_t len,
                              struct ipcd_result *res);

/* ---- pipelining ---------------------------------------------------------- */

/*
 * Queue a request without waiting for its reply; its id goes to *id (id may
 * be NULL). Arguments as for ipcd_call. The request is written by
 * ipcd_flush, by ipcd_recv, or here once the buffer holds 256 KiB.
 * Replies come back in request order through ipcd_recv. Requests are never
 * resent: if the connection is lost, each outstanding one gets IPCD_EIO.
 * Errors: as ipcd_call, before sending (nothing is queued on error).
 */
IPCD_EXPORT int ipcd_send(ipcd *c, uint64_t *id, unsigned op, unsigned nargs, ...);
IPCD_EXPORT int ipcd_sendv(ipcd *c, uint64_t *id, unsigned op, unsigned nargs, va_list ap);
IPCD_EXPORT int ipcd_send_raw(ipcd *c, uint64_t *id, unsigned op, const void *args, size_t len);

/* Write every queued request (reading replies meanwhile so that neither side
 * stalls). Errors: IPCD_EIO, IPCD_ECLOSED, IPCD_EINVAL (c NULL). */
IPCD_EXPORT int ipcd_flush(ipcd *c);

/*
 * The reply to the oldest request sent with ipcd_send, waiting for it (up to
 * the op's own timeout plus the I/O timeout). Flushes first. res is required.
 * Returns res->status: IPCD_OK or the request's error; IPCD_EIO if the
 * connection was lost before its reply; IPCD_EINVAL if nothing is pending.
 */
IPCD_EXPORT int ipcd_recv(ipcd *c, struct ipcd_result *res);

/*
 * Streams. A streaming op (monitor) answers its request with a first reply,
 * then with more frames of the same id for as long as the connection stays
 * open; the connection serves nothing else meanwhile (close it to end the
 * stream). After ipcd_call (or ipcd_recv) returned the first reply with
 * IPCD_OK, each ipcd_next returns the next frame into res: IPCD_OK with
 * res->value the event, or the stream's error (which ends it). It waits up
 * to timeout seconds (negative: forever; the I/O timeout does not apply, a
 * stream may be quiet for long): IPCD_ETIMEOUT if nothing came, and the
 * stream goes on. A signal does not interrupt the wait: use a timeout to
 * look at a flag. res is valid like a result, until the next call on c.
 * Errors: IPCD_ETIMEOUT, IPCD_EIO (the connection was lost: the stream is
 * over; no reconnect), IPCD_EREPLY, IPCD_EINVAL (c or res NULL, timeout
 * NaN, the last reply received was an error or requests are pending), the
 * server's error codes.
 */
IPCD_EXPORT int ipcd_next(ipcd *c, double timeout, struct ipcd_result *res);

/* Number of requests sent and not yet received with ipcd_recv. */
IPCD_EXPORT size_t ipcd_pending(const ipcd *c);

/*
 * For callers' event loops: read what the socket holds now, without
 * blocking, and tell in *ready how many replies ipcd_recv can return without
 * waiting. Call it when ipcd_fd() polls readable. Errors: IPCD_EIO (the
 * connection is lost: ipcd_recv returns what was received, then IPCD_EIO),
 * IPCD_EINVAL.
 */
IPCD_EXPORT int ipcd_read_available(ipcd *c, size_t *ready);

/*
 * ipcd_read_available without a wake-up: on the shared-memory channel it
 * only looks at the reply ring (and at the socket about once a
 * millisecond, for its end) and does not have the socket signalled, so a
 * caller can spin over many connections with no system call per look.
 * Before it polls ipcd_fd(), it calls ipcd_read_available(). On the socket
 * it is ipcd_read_available.
 */
IPCD_EXPORT int ipcd_ready(ipcd *c, size_t *ready);

/* ---- values in: encoders ------------------------------------------------- */

/* Room for any scalar's encoding. */
#define IPCD_SCALAR_SIZE 9
/* Room for a string or bytes value of n bytes. */
#define IPCD_STR_SIZE(n) ((size_t)(n) + 5)

/* Encode into buf and return the value (pointing into buf). */
IPCD_EXPORT struct ipcd_val ipcd_val_int(unsigned char buf[IPCD_SCALAR_SIZE], int64_t v);
IPCD_EXPORT struct ipcd_val ipcd_val_uint(unsigned char buf[IPCD_SCALAR_SIZE], uint64_t v);
IPCD_EXPORT struct ipcd_val ipcd_val_double(unsigned char buf[IPCD_SCALAR_SIZE], double v);
IPCD_EXPORT struct ipcd_val ipcd_val_bool(unsigned char buf[IPCD_SCALAR_SIZE], int v);
/* String (msgpack str, s[0..n)) or bytes (msgpack bin) into buf of size
 * bytes; the invalid value {NULL, 1} if size < IPCD_STR_SIZE(n) or s NULL. */
IPCD_EXPORT struct ipcd_val ipcd_val_str(void *buf, size_t size, const char *s, size_t n);
IPCD_EXPORT struct ipcd_val ipcd_val_bytes(void *buf, size_t size, const void *p, size_t n);

/* ---- values out: decoders ------------------------------------------------ */

/* An integer result. Errors: IPCD_EINVAL (o NULL or not an integer),
 * IPCD_EOVERFLOW (does not fit). */
IPCD_EXPORT int ipcd_obj_int(const msgpack_object *o, int64_t *out);
IPCD_EXPORT int ipcd_obj_uint(const msgpack_object *o, uint64_t *out);
/* An int or float as a double. Errors: IPCD_EINVAL. */
IPCD_EXPORT int ipcd_obj_double(const msgpack_object *o, double *out);
/* A str or bin: pointer (not NUL-terminated) and length. Errors: IPCD_EINVAL. */
IPCD_EXPORT int ipcd_obj_str(const msgpack_object *o, const char **p, size_t *n);
/* A bool. Errors: IPCD_EINVAL. */
IPCD_EXPORT int ipcd_obj_bool(const msgpack_object *o, int *out);

/* ---- typed helpers ------------------------------------------------------- */
/*
 * Shorthands for ipcd_call on the common ops; each returns what ipcd_call
 * returns for its op, plus IPCD_EREPLY if the result is not of the expected
 * type. Output pointers may be NULL. Keys of the dict helpers are strings.
 */

/* ping -> IPCD_OK. */
IPCD_EXPORT int ipcd_ping(ipcd *c);
/* create NAME TYPE [{"maxsize": maxsize}]: type is "queue", "list", "dict"
 * or "ns"; maxsize bounds a queue (0 = unbounded, no options sent).
 * IPCD_EEXISTS if NAME exists with another type or options. */
IPCD_EXPORT int ipcd_create(ipcd *c, const char *name, const char *type, uint64_t maxsize);
/* delete NAME. IPCD_ENOTFOUND if missing. Not retried after a lost reply. */
IPCD_EXPORT int ipcd_delete(ipcd *c, const char *name);
/* exists NAME -> *exists 0 or 1. */
IPCD_EXPORT int ipcd_exists(ipcd *c, const char *name, int *exists);

/* queue.put NAME VALUE TIMEOUT. IPCD_EFULL (timeout 0), IPCD_ETIMEOUT,
 * IPCD_EWRONGTYPE, IPCD_EDELETED, IPCD_EBADVALUE. mp NULL, len 0 = nil. */
IPCD_EXPORT int ipcd_queue_put(ipcd *c, const char *name, const void *mp, size_t len, double timeout);
IPCD_EXPORT int ipcd_queue_put_int(ipcd *c, const char *name, int64_t v, double timeout);
IPCD_EXPORT int ipcd_queue_put_double(ipcd *c, const char *name, double v, double timeout);
/* s NUL-terminated, sent as a msgpack str. */
IPCD_EXPORT int ipcd_queue_put_str(ipcd *c, const char *name, const char *s, double timeout);
/* p[0..n) sent as msgpack bin. */
IPCD_EXPORT int ipcd_queue_put_bytes(ipcd *c, const char *name, const void *p, size_t n, double timeout);
/* queue.put_many NAME [vals...] TIMEOUT: all or none. */
IPCD_EXPORT int ipcd_queue_put_many(ipcd *c, const char *name, const struct ipcd_val *vals, size_t n,
                                    double timeout);
/* queue.get NAME TIMEOUT -> out->value is the item. IPCD_EEMPTY (timeout 0),
 * IPCD_ETIMEOUT, IPCD_EWRONGTYPE, IPCD_EDELETED. */
IPCD_EXPORT int ipcd_queue_get(ipcd *c, const char *name, double timeout, struct ipcd_result *out);
/* queue.get_many NAME MAX TIMEOUT -> out->value is an array of 1..max items. */
IPCD_EXPORT int ipcd_queue_get_many(ipcd *c, const char *name, uint64_t max, double timeout,
                                    struct ipcd_result *out);
/* queue.qsize NAME -> *size (0 for a missing queue). */
IPCD_EXPORT int ipcd_queue_qsize(ipcd *c, const char *name, uint64_t *size);

/*
 * Acknowledged delivery (see PROTOCOL.md, "Delivery guarantees"): a
 * delivered item stays pending, invisible to other getters, until it is
 * acked, nacked, its lease ends, or (without an explicit lease) the
 * connection that got it closes; then it goes back to the head of the queue.
 */
struct ipcd_delivery {
	uint64_t id;            /* delivery id, for ack/nack/touch from any connection */
	uint32_t deliveries;    /* 1 on the first delivery, more on redeliveries */
	msgpack_object value;   /* the item; valid like a result (until the next call on c) */
};
/* queue.get_ack NAME TIMEOUT [LEASE] -> *out. lease > 0: an explicit lease of
 * that many seconds, which outlives this connection; lease <= 0: the queue's
 * default lease, and the item goes back if the connection closes first.
 * IPCD_EEMPTY (timeout 0), IPCD_ETIMEOUT, IPCD_EDELETED. */
IPCD_EXPORT int ipcd_queue_get_ack(ipcd *c, const char *name, double timeout, double lease,
                                   struct ipcd_delivery *out);
/* Take up to n deliveries ahead (n > 1; 0 or 1 = off, the default): each
 * ipcd_queue_get_ack then hands out one of those taken by a single
 * queue.get_ack_many, and asks again only when none is left, as AMQP's
 * prefetch does. A delivery taken ahead is pending on this connection from
 * the start (its lease, if any, runs while it waits here; it returns to the
 * queue if the connection closes). Asking for another queue or lease, or
 * turning prefetch off, nacks what is left; after a reconnect it is
 * forgotten (the daemon gave it back). Errors: IPCD_EINVAL (c NULL). */
IPCD_EXPORT int ipcd_set_prefetch(ipcd *c, unsigned n);
/* queue.ack NAME ID: done (its task too). IPCD_ENOTPENDING if id is not
 * pending (acked already, or returned after its lease or consumer ended).
 * Not retried after a lost reply. */
IPCD_EXPORT int ipcd_queue_ack(ipcd *c, const char *name, uint64_t id);
/* queue.nack NAME ID [DELAY]: back at the head, after delay seconds if > 0.
 * IPCD_ENOTPENDING. */
IPCD_EXPORT int ipcd_queue_nack(ipcd *c, const char *name, uint64_t id, double delay);
/* queue.touch NAME ID [LEASE]: renew the lease (to lease seconds if > 0,
 * else its length so far) -> *left seconds (0: the delivery has no lease).
 * IPCD_ENOTPENDING. */
IPCD_EXPORT int ipcd_queue_touch(ipcd *c, const char *name, uint64_t id, double lease, double *left);
/* queue.task_done NAME COUNT -> *left unfinished tasks. IPCD_ENOTASK if
 * COUNT is more than the unfinished tasks (nothing changes). */
IPCD_EXPORT int ipcd_queue_task_done(ipcd *c, const char *name, uint64_t count, uint64_t *left);
/* queue.join NAME TIMEOUT: wait until every task put is done (task_done or
 * ack). IPCD_ETIMEOUT (also for timeout 0 with tasks unfinished), IPCD_EDELETED. */
IPCD_EXPORT int ipcd_queue_join(ipcd *c, const char *name, double timeout);

/* list.append NAME VALUE -> *len, the new length. */
IPCD_EXPORT int ipcd_list_append(ipcd *c, const char *name, struct ipcd_val v, uint64_t *len);
/* list.pop NAME -> out->value is the last item. IPCD_EINDEX if empty. */
IPCD_EXPORT int ipcd_list_pop(ipcd *c, const char *name, struct ipcd_result *out);
/* list.len NAME -> *len. */
IPCD_EXPORT int ipcd_list_len(ipcd *c, const char *name, uint64_t *len);

/* dict.set NAME KEY VALUE. */
IPCD_EXPORT int ipcd_dict_set(ipcd *c, const char *name, const char *key, struct ipcd_val v);
/* dict.get NAME KEY -> out->value. IPCD_ENOKEY if missing. */
IPCD_EXPORT int ipcd_dict_get(ipcd *c, const char *name, const char *key, struct ipcd_result *out);
/* dict.incr NAME KEY DELTA -> *out, the new value (a missing key counts as 0).
 * IPCD_ENOTNUMBER, IPCD_EOVERFLOW; IPCD_EREPLY if the key holds a float (the
 * increment was done: read it back with ipcd_dict_get). */
IPCD_EXPORT int ipcd_dict_incr(ipcd *c, const char *name, const char *key, int64_t delta, int64_t *out);
/* dict.cas NAME KEY EXPECTED NEW -> *swapped 1 if KEY equaled EXPECTED (nil
 * = missing) and now holds NEW, else 0. */
IPCD_EXPORT int ipcd_dict_cas(ipcd *c, const char *name, const char *key, struct ipcd_val expected,
                              struct ipcd_val v, int *swapped);

/* ns.set NAME ATTR VALUE. */
IPCD_EXPORT int ipcd_ns_set(ipcd *c, const char *name, const char *attr, struct ipcd_val v);
/* ns.get NAME ATTR -> out->value. IPCD_ENOKEY if unset. */
IPCD_EXPORT int ipcd_ns_get(ipcd *c, const char *name, const char *attr, struct ipcd_result *out);

/* ---- values and arrays in shared memory ------------------------------------ */

/*
 * A value or array mapped into this process (ipcd_array_map). The elements
 * are at data + i * itemsize, native byte order, of the C type of typecode
 * (PROTOCOL.md 8.7: b B h H i I l L q Q f d c; l and L are 8 bytes).
 *
 * Memory ordering: every ipcd_array_* element access below is a C11
 * memory_order_seq_cst atomic on that element, the same as the daemon's own
 * ops on it (value.add, array.set, ...): updates by any mix of mappings and
 * server ops are never lost, and all of them fall in one total order. They
 * also order the caller's other memory accesses as seq_cst atomics do.
 * Plain reads and writes through data are the caller's own business.
 * The integer helpers wrap around on overflow like C atomics (the server's
 * value.add refuses it with OVERFLOW instead).
 */
struct ipcd_array_map {
	void *data;             /* the first element */
	size_t size;            /* bytes mapped: length * itemsize */
	uint64_t length;        /* elements (1 for a value) */
	unsigned itemsize;      /* bytes per element: 1, 2, 4 or 8 */
	char typecode;
	int writable;           /* mapped read-write */
};

/*
 * Map the value or array NAME: {array,value}.map NAME MODE, and mmap of the
 * descriptor that comes with the reply (closed again: the mapping stays).
 * writable 0 maps it read-only (a store through it faults); 1 read-write,
 * which needs w access to the object. The mapping outlives the connection
 * and stays until ipcd_array_unmap. Writes through it are not logged: they
 * are kept as of the daemon's next snapshot (PROTOCOL.md 8.7, Durability).
 * Errors: IPCD_ENOTFOUND, IPCD_EWRONGTYPE, IPCD_EPERMISSION (writable without
 * w access), IPCD_ENOMEM (the daemon is out of descriptors), IPCD_EREPLY (no
 * descriptor came with the reply, or it does not map), IPCD_EINVAL (m NULL),
 * and the connection errors of ipcd_call.
 */
IPCD_EXPORT int ipcd_array_map(ipcd *c, const char *name, int writable, struct ipcd_array_map *m);
/* Unmap m (its fields are cleared). NULL and an unmapped m are fine. */
IPCD_EXPORT void ipcd_array_unmap(struct ipcd_array_map *m);

/*
 * Atomic element access on an integer typecode (b B h H i I l L q Q), values
 * as int64_t (Q and L above INT64_MAX come back negative, as the same bits):
 * load into *out; store v (cut to the element's width); add delta and return
 * the new value in *out (may be NULL); compare-and-swap: if element i holds
 * *expected, store desired and set *swapped 1, else put what it holds in
 * *expected and set *swapped 0. Each returns IPCD_OK, or IPCD_EINVAL (i out
 * of range, a float or c typecode, m unmapped, a NULL pointer, or a store,
 * add or cas on a read-only mapping).
 */
IPCD_EXPORT int ipcd_array_load(const struct ipcd_array_map *m, uint64_t i, int64_t *out);
IPCD_EXPORT int ipcd_array_store(const struct ipcd_array_map *m, uint64_t i, int64_t v);
IPCD_EXPORT int ipcd_array_add(const struct ipcd_array_map *m, uint64_t i, int64_t delta, int64_t *out);
IPCD_EXPORT int ipcd_array_cas(const struct ipcd_array_map *m, uint64_t i, int64_t *expected, int64_t desired,
                               int *swapped);
/* The same for f and d (a CAS loop for add); IPCD_EINVAL also for an
 * integer typecode. */
IPCD_EXPORT int ipcd_array_load_double(const struct ipcd_array_map *m, uint64_t i, double *out);
IPCD_EXPORT int ipcd_array_store_double(const struct ipcd_array_map *m, uint64_t i, double v);
IPCD_EXPORT int ipcd_array_add_double(const struct ipcd_array_map *m, uint64_t i, double delta, double *out);
/*
 * Synchronisation types (PROTOCOL.md section 8.8): a connection plays the
 * part of a thread. What a connection holds is given back when it closes.
 * These ops change state and are never resent after a lost reply
 * (IPCD_EIO: it may or may not have happened).
 */

/* create NAME "lock" {reentrant, robust}: flags IPCD_LOCK_REENTRANT (an
 * RLock: its owner may take it again, and only it releases it) and
 * IPCD_LOCK_NOT_ROBUST (the lock stays held after its holder's connection
 * closes, as a Manager's lock). IPCD_EEXISTS if NAME exists otherwise. */
#define IPCD_LOCK_REENTRANT  1u
#define IPCD_LOCK_NOT_ROBUST 2u
IPCD_EXPORT int ipcd_lock_create(ipcd *c, const char *name, unsigned flags);
/* lock.acquire NAME TIMEOUT -> *owner_died 1 if the previous holder's
 * connection closed holding it (what it guards may be half-changed).
 * IPCD_ETIMEOUT (also for timeout 0 while held), IPCD_EDELETED. */
IPCD_EXPORT int ipcd_lock_acquire(ipcd *c, const char *name, double timeout, int *owner_died);
/* lock.release NAME. IPCD_ENOTHELD if not held, or a reentrant lock this
 * connection does not own. */
IPCD_EXPORT int ipcd_lock_release(ipcd *c, const char *name);
/* lock.locked NAME -> *locked. */
IPCD_EXPORT int ipcd_lock_locked(ipcd *c, const char *name, int *locked);

/* create NAME "semaphore" {value, bounded, robust}: flags
 * IPCD_SEMAPHORE_BOUNDED (a release past value is IPCD_EFULL) and
 * IPCD_SEMAPHORE_NOT_ROBUST (units stay taken after their holder closes). */
#define IPCD_SEMAPHORE_BOUNDED    1u
#define IPCD_SEMAPHORE_NOT_ROBUST 2u
IPCD_EXPORT int ipcd_semaphore_create(ipcd *c, const char *name, uint64_t value, unsigned flags);
/* semaphore.acquire NAME N TIMEOUT -> *left units free after. IPCD_ETIMEOUT,
 * IPCD_EBADARG (n 0, or over a bounded semaphore's bound), IPCD_EDELETED. */
IPCD_EXPORT int ipcd_semaphore_acquire(ipcd *c, const char *name, uint64_t n, double timeout, uint64_t *left);
/* semaphore.release NAME N -> *value. IPCD_EFULL (bounded, past its bound). */
IPCD_EXPORT int ipcd_semaphore_release(ipcd *c, const char *name, uint64_t n, uint64_t *value);
/* semaphore.value NAME -> *value. */
IPCD_EXPORT int ipcd_semaphore_value(ipcd *c, const char *name, uint64_t *value);

/* event.set / event.clear NAME. */
IPCD_EXPORT int ipcd_event_set(ipcd *c, const char *name);
IPCD_EXPORT int ipcd_event_clear(ipcd *c, const char *name);
/* event.is_set NAME -> *set. */
IPCD_EXPORT int ipcd_event_is_set(ipcd *c, const char *name, int *set);
/* event.wait NAME TIMEOUT -> *set 1 once set, 0 if the timeout passed
 * first (not an error, as threading.Event.wait). IPCD_EDELETED. */
IPCD_EXPORT int ipcd_event_wait(ipcd *c, const char *name, double timeout, int *set);

/* condition.acquire / condition.release NAME: its lock (its own reentrant
 * one, or the lock object of its option lock), as ipcd_lock_acquire and
 * ipcd_lock_release; IPCD_ENOTFOUND if that lock object is missing. */
IPCD_EXPORT int ipcd_condition_acquire(ipcd *c, const char *name, double timeout, int *owner_died);
IPCD_EXPORT int ipcd_condition_release(ipcd *c, const char *name);
/* condition.wait NAME TIMEOUT, holding its lock: gives it up, waits for a
 * notify, takes it back -> *notified 0 if the timeout passed first (the
 * lock is held again either way), *owner_died. IPCD_ENOTHELD, IPCD_EDELETED. */
IPCD_EXPORT int ipcd_condition_wait(ipcd *c, const char *name, double timeout, int *notified, int *owner_died);
/* condition.notify NAME N / notify_all NAME, holding its lock -> *woken.
 * IPCD_ENOTHELD. */
IPCD_EXPORT int ipcd_condition_notify(ipcd *c, const char *name, uint64_t n, uint64_t *woken);
IPCD_EXPORT int ipcd_condition_notify_all(ipcd *c, const char *name, uint64_t *woken);

/* create NAME "barrier" {parties}. */
IPCD_EXPORT int ipcd_barrier_create(ipcd *c, const char *name, uint32_t parties);
/* barrier.wait NAME TIMEOUT -> *index, the arrival index. IPCD_EBROKEN (a
 * timeout, abort, reset or a party's connection closing broke it),
 * IPCD_EBADARG (made without parties), IPCD_EDELETED. */
IPCD_EXPORT int ipcd_barrier_wait(ipcd *c, const char *name, double timeout, uint64_t *index);
/* barrier.wait NAME TIMEOUT {"action": true} -> *index; *run_action 1 if
 * this party arrived last and is to run the barrier's action now: the
 * round's other parties stay waiting until it calls ipcd_barrier_done.
 * Errors as ipcd_barrier_wait, and IPCD_EBADARG (this connection's action
 * is not done). */
IPCD_EXPORT int ipcd_barrier_wait_action(ipcd *c, const char *name, double timeout, uint64_t *index,
                                         int *run_action);
/* barrier.done NAME OK: the action ended; ok 0 (it failed) breaks the
 * barrier for every party. IPCD_ENOTHELD (no action of this connection
 * runs), IPCD_EBROKEN (the barrier broke while it ran). */
IPCD_EXPORT int ipcd_barrier_done(ipcd *c, const char *name, int ok);
/* barrier.reset / barrier.abort NAME. */
IPCD_EXPORT int ipcd_barrier_reset(ipcd *c, const char *name);
IPCD_EXPORT int ipcd_barrier_abort(ipcd *c, const char *name);
/* barrier.broken NAME -> *broken; barrier.n_waiting NAME -> *n. */
IPCD_EXPORT int ipcd_barrier_broken(ipcd *c, const char *name, int *broken);
IPCD_EXPORT int ipcd_barrier_n_waiting(ipcd *c, const char *name, uint64_t *n);

#ifdef __cplusplus
}
#endif

#endif
