/*
 * access.h: who may do what to an object. Every object has an owner uid, a
 * group gid and a mode of three bits for each of owner, group and other,
 * like a file's: r (4) read, w (2) write, a (1) admin (delete, chmod,
 * chown). The peer's uid and gid come from SO_PEERCRED. Root may do
 * anything; the owner may always delete, chmod and chown.
 *
 * dispatch.c checks every named request once, before its handler, against
 * the access its op needs (derived from the op's flags in ops.def); the
 * listing ops (ls, info, clients, monitor) ask access_may per entry.
 */
#ifndef IPCD_ACCESS_H
#define IPCD_ACCESS_H

#include <sys/types.h>
#include <msgpack.h>
#include "proto.h"

struct client;
struct object;
struct request;

#define ACCESS_R 4u
#define ACCESS_W 2u
#define ACCESS_A 1u
#define ACCESS_MODE_MAX 0777u

/* The group new objects get: the socket file's group (fd's bound path),
 * else the daemon's gid. Called once at start. */
void access_init(int listen_fd);

/* Set an object's owner, group and mode (at creation, and when restoring). */
void object_set_access(struct object *o, uid_t owner, gid_t group, unsigned mode);
/* A new object made by c (NULL: by the daemon itself): owner c's uid, the
 * default group, config default_mode. */
void access_set_creator(struct object *o, const struct client *c);

/* The bit (ACCESS_R, ACCESS_W or ACCESS_A) op needs of its object. */
unsigned access_needed(const struct proto_op_info *op);
/* True if c may do what bit stands for to o. */
int access_may(const struct client *c, const struct object *o, unsigned bit);
/* True if from's owner may write to, with no connection to ask (a queue's
 * dead letters): root, to's owner with w, or w for other. The group bits
 * do not count here: an owner's groups are known only from a connection. */
int access_owner_may_write(const struct object *from, const struct object *to);
/* True if c is root. */
int access_is_root(const struct client *c);
/* True if c is root or runs as the daemon's own user (server-wide ops). */
int access_is_operator(const struct client *c);

/*
 * The one check before a handler: if o (or, for o NULL, the existing object
 * the request names) is there and rq's client lacks the access rq's op
 * needs, reply PERMISSION and return -1; else 0.
 */
int access_check(struct request *rq, const struct object *o);

/* A mode from a request: an integer 0..0777 or an octal string ("0640",
 * "640", "0o640"). 0, or IPCD_EBADARG with *why. */
int access_parse_mode(const msgpack_object *v, unsigned *mode, const char **why);
/*
 * create's OPTIONS opts (may be NULL) without their "mode" key, for the
 * object type, into *rest (using kv, room for ACCESS_MAX_OPTIONS entries,
 * when a copy is needed); the mode, if given, into *mode with *has_mode 1.
 * 0, or IPCD_EBADARG with *why.
 */
#define ACCESS_MAX_OPTIONS 16
int access_split_mode(const msgpack_object *opts, msgpack_object_kv *kv, msgpack_object *rest, int *has_mode,
                      unsigned *mode, const char **why);
/* mode as ls -l shows it, "rw-r-----" (a in the third place of each triple). */
void access_mode_string(unsigned mode, char out[10]);

/* Pack "owner", "group" and "mode" (an integer) into a map being packed. */
void access_pack(msgpack_packer *pk, const struct object *o);
#define ACCESS_PACK_KEYS 3

#endif
