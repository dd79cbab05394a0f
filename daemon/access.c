/*
 * access.c: owner, group and mode of objects, checked against the peer's
 * credentials (see access.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "access.h"
#include "wire.h"
#include "state.h"
#include "config.h"
#include "dispatch.h"
#include "object.h"
#include "registry.h"

static gid_t default_group;

void access_init(int listen_fd)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	struct stat st;
	default_group = getegid();
	memset(&sa, 0, sizeof(sa));
	if (listen_fd >= 0 && getsockname(listen_fd, (struct sockaddr *)&sa, &len) == 0 && sa.sun_family == AF_UNIX &&
	    len > offsetof(struct sockaddr_un, sun_path) && sa.sun_path[0] != '\0') {
		sa.sun_path[sizeof(sa.sun_path) - 1] = '\0';
		if (stat(sa.sun_path, &st) == 0)
			default_group = st.st_gid;
	}
}

void object_set_access(struct object *o, uid_t owner, gid_t group, unsigned mode)
{
	o->owner = owner;
	o->group = group;
	o->mode = mode & ACCESS_MODE_MAX;
}

void access_set_creator(struct object *o, const struct client *c)
{
	object_set_access(o, c ? c->uid : geteuid(), default_group, config.default_mode);
}

unsigned access_needed(const struct proto_op_info *op)
{
	if (op->flags & OPF_OWNER)
		return ACCESS_A;
	return op->flags & OPF_WRITE ? ACCESS_W : ACCESS_R;
}

int access_is_root(const struct client *c)
{
	return c->uid == 0;
}

int access_is_operator(const struct client *c)
{
	return c->uid == 0 || c->uid == geteuid();
}

/* True if c's primary or a supplementary group is g. The supplementary
 * groups are asked of the kernel only when they decide the answer. */
static int in_group(const struct client *c, gid_t g)
{
	if (c->gid == g)
		return 1;
	gid_t some[64], *groups = some;
	socklen_t len = sizeof(some);
	int found = 0, r = getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len);
	if (r < 0 && errno == ERANGE && (groups = malloc(len)))   /* len is now what it takes */
		r = getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len);
	for (size_t i = 0; r == 0 && i < len / sizeof(gid_t); i++)
		found |= groups[i] == g;
	if (groups != some)
		free(groups);
	return found;   /* an old kernel without SO_PEERGROUPS: the primary group only */
}

int access_may(const struct client *c, const struct object *o, unsigned bit)
{
	if (access_is_root(c))
		return 1;
	if (c->uid == o->owner)
		return bit == ACCESS_A || ((o->mode >> 6) & bit);
	unsigned g = (o->mode >> 3) & bit, other = o->mode & bit;
	if (g == other)     /* most modes: no need to know c's groups */
		return other != 0;
	return in_group(c, o->group) ? g != 0 : other != 0;
}

int access_owner_may_write(const struct object *from, const struct object *to)
{
	if (from->owner == 0)
		return 1;
	if (from->owner == to->owner)
		return ((to->mode >> 6) & ACCESS_W) != 0;
	return (to->mode & ACCESS_W) != 0;
}

static const char *bit_name(unsigned bit)
{
	return bit == ACCESS_R ? "read" : bit == ACCESS_W ? "write" : "admin (owner, root or the a bit)";
}

int access_check(struct request *rq, const struct object *o)
{
	/* A logged request was allowed when it ran; its stand-in connection
	 * cannot tell the supplementary groups it had. */
	if (!(rq->op->flags & OPF_NAME) || state_replaying)
		return 0;
	const msgpack_object *name = &rq->args[0];
	if (!o && !(o = registry_find(name->via.str.ptr, name->via.str.size)))
		return 0;      /* the handler answers for a missing object */
	unsigned bit = access_needed(rq->op);
	if (access_may(rq->client, o, bit))
		return 0;
	reply_error(&rq->reply, IPCD_EPERMISSION, "%s: uid %d needs %s access to '%.*s'", rq->op->name,
	            (int)rq->client->uid, bit_name(bit), (int)name->via.str.size, name->via.str.ptr);
	return -1;
}

int access_parse_mode(const msgpack_object *v, unsigned *mode, const char **why)
{
	uint64_t m = 0;
	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		m = v->via.u64;
	} else if (v->type == MSGPACK_OBJECT_STR && v->via.str.size > 0) {
		const char *p = v->via.str.ptr, *end = p + v->via.str.size;
		if (end - p > 2 && p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
			p += 2;
		if (end - p > 4)
			goto bad;
		for (; p < end; p++) {
			if (*p < '0' || *p > '7')
				goto bad;
			m = m * 8 + (uint64_t)(*p - '0');
		}
	} else {
		goto bad;
	}
	if (m > ACCESS_MODE_MAX)
		goto bad;
	*mode = (unsigned)m;
	return 0;
bad:
	*why = "mode is an integer 0..0o777 or an octal string such as \"0640\"";
	return IPCD_EBADARG;
}

int access_split_mode(const msgpack_object *opts, msgpack_object_kv *kv, msgpack_object *rest, int *has_mode,
                      unsigned *mode, const char **why)
{
	*has_mode = 0;
	if (!opts)
		return 0;
	*rest = *opts;
	if (opts->type != MSGPACK_OBJECT_MAP)
		return 0;      /* nil: no options; the type says what else is wrong */
	const msgpack_object_map *m = &opts->via.map;
	uint32_t at = m->size;
	for (uint32_t i = 0; i < m->size; i++) {
		const msgpack_object *k = &m->ptr[i].key;
		if (wire_key_is(k, "mode"))
			at = i;
	}
	if (at == m->size)
		return 0;
	if (m->size > ACCESS_MAX_OPTIONS) {
		*why = "too many options";
		return IPCD_EBADARG;
	}
	int err = access_parse_mode(&m->ptr[at].val, mode, why);
	if (err)
		return err;
	*has_mode = 1;
	uint32_t n = 0;
	for (uint32_t i = 0; i < m->size; i++)
		if (i != at)
			kv[n++] = m->ptr[i];
	rest->via.map.ptr = kv;
	rest->via.map.size = n;
	return 0;
}

void access_mode_string(unsigned mode, char out[10])
{
	static const char letters[3] = { 'r', 'w', 'a' };
	for (int i = 0; i < 9; i++)
		out[i] = mode & (0400u >> i) ? letters[i % 3] : '-';
	out[9] = '\0';
}

void access_pack(msgpack_packer *pk, const struct object *o)
{
	pack_key_uint(pk, "owner", o->owner);
	pack_key_uint(pk, "group", o->group);
	pack_key_uint(pk, "mode", o->mode);
}

/* ---- ops ---------------------------------------------------------------- */

/* chmod NAME MODE -> nil | NOTFOUND | BADARG | PERMISSION */
void handle_CHMOD(struct request *rq)
{
	unsigned mode;
	const char *why;
	if (access_parse_mode(&rq->args[1], &mode, &why)) {
		reply_error(&rq->reply, IPCD_EBADARG, "chmod: %s", why);
		return;
	}
	struct object *o = registry_find_stored_or_reply(rq);
	if (o) {
		object_set_access(o, o->owner, o->group, mode);
		reply_nil(&rq->reply);
	}
}

/* An id argument: an integer 0..UINT32_MAX-1 (-1 is "no change" to the
 * kernel and to nobody here), or nil to keep *id. 0, or -1 after BADARG. */
static int id_arg(struct request *rq, const msgpack_object *v, const char *what, uint32_t *id)
{
	if (!v || v->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 >= UINT32_MAX) {
		reply_error(&rq->reply, IPCD_EBADARG, "chown: %s is a numeric id 0..%u or nil", what, UINT32_MAX - 1);
		return -1;
	}
	*id = (uint32_t)v->via.u64;
	return 0;
}

/*
 * chown NAME OWNER [GROUP] -> nil | NOTFOUND | BADARG | PERMISSION
 * As for files: only root gives an object to another owner, and the owner
 * (or an a-bit holder) sets only a group it is in. An owner is what others
 * trust (a root-owned queue may dead-letter anywhere), so an object given
 * to root or to somebody else would carry rights its maker never had.
 */
void handle_CHOWN(struct request *rq)
{
	struct object *o = registry_find_stored_or_reply(rq);
	if (!o)
		return;
	uint32_t owner = o->owner, group = o->group;
	if (id_arg(rq, &rq->args[1], "OWNER", &owner) || id_arg(rq, request_arg(rq, 2), "GROUP", &group))
		return;
	const struct client *c = rq->client;
	if (!state_replaying && !access_is_root(c)) {   /* a logged chown was allowed when it ran */
		if (owner != o->owner) {
			reply_error(&rq->reply, IPCD_EPERMISSION, "chown: only root may give an object to another owner");
			return;
		}
		if (group != o->group && !in_group(c, group)) {
			reply_error(&rq->reply, IPCD_EPERMISSION, "chown: uid %d is not in group %u", (int)c->uid, group);
			return;
		}
	}
	object_set_access(o, owner, group, o->mode);
	reply_nil(&rq->reply);
}
