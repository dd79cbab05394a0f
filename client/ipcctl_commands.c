/*
 * ipcctl_commands.c: the commands that are one op, or one op page by page.
 *
 * cmd_op serves every op that ipcctl shows as it is: its words converted by
 * ipcctl_args.c, one call, the result printed (cli_print). The others differ
 * in how they print or which op they pick: exists answers through the exit
 * status, dict keys/values/items and clients page through everything, queue
 * get is get_ack with --ack, queue pending and clients print tables.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "proto.h"
#include "buf.h"
#include "ipcd.h"
#include "json.h"
#include "ipcctl.h"

/* ---- plain ops -------------------------------------------------------------- */

/* Any op: arguments by its signature, one call, the result printed. */
int cmd_op(struct cli *x, int argc, char **argv)
{
	struct buf args;
	buf_init(&args);
	int st = args_pack(x, argc, argv, &args);
	if (st || (st = cli_connect(x))) {
		buf_free(&args);
		return st;
	}
	struct ipcd_result res;
	int rc = ipcd_call_raw(x->c, x->cmd->op->code, args.data, args.len, &res);
	buf_free(&args);
	if (rc)
		return cli_failed(x, rc);
	cli_print(x, &res.value);
	return EX_OK;
}

/* exists NAME: true/false, exit 0/4. */
int cmd_exists(struct cli *x, int argc, char **argv)
{
	if (argc != 1)
		return cmd_usage(x, argc ? "too many arguments" : "missing arguments");
	int yes = 0, rc = cli_connect(x);
	if (rc)
		return rc;
	rc = ipcd_exists(x->c, argv[0], &yes);
	if (rc)
		return cli_failed(x, rc);
	puts(yes ? "true" : "false");
	return yes ? EX_OK : EX_NOTFOUND;
}

/*
 * dict keys/values/items NAME: every page, printed as one array (keys,
 * values) or one map (items), as if the op had returned everything at once.
 */
int cmd_dict_all(struct cli *x, int argc, char **argv)
{
	if (argc != 1)
		return cmd_usage(x, argc ? "too many arguments" : "missing arguments");
	unsigned code = x->cmd->op->code;
	const char *what = x->cmd->op->name;
	int is_map = code == IPCD_OP_DICT_ITEMS;
	uint64_t cursor = 0;
	uint32_t count = 0;
	struct buf body;
	msgpack_packer pk;
	int st = cli_connect(x);
	if (st)
		return st;
	buf_init(&body);
	msgpack_packer_init(&pk, &body, cli_buf_write);
	do {
		struct ipcd_result res;
		int rc = ipcd_call(x->c, code, &res, 3, argv[0], cursor, (uint64_t)PROTO_LS_MAX_COUNT);
		if (rc) {
			buf_free(&body);
			return cli_failed(x, rc);
		}
		const msgpack_object *page = cli_page(&res, is_map ? MSGPACK_OBJECT_MAP : MSGPACK_OBJECT_ARRAY,
		                                      &cursor, what);
		if (!page) {
			buf_free(&body);
			return EX_ERROR;
		}
		uint32_t n = is_map ? page->via.map.size : page->via.array.size;
		if (n > UINT32_MAX - count) {
			buf_free(&body);
			return cli_error(EX_ERROR, "REPLY: %s: too many entries", what);
		}
		for (uint32_t i = 0; i < n; i++) {
			if (is_map) {
				msgpack_pack_object(&pk, page->via.map.ptr[i].key);
				msgpack_pack_object(&pk, page->via.map.ptr[i].val);
			} else {
				msgpack_pack_object(&pk, page->via.array.ptr[i]);
			}
		}
		count += n;
	} while (cursor != 0);

	/* The header, then the entries: one msgpack value to print. */
	struct buf all;
	msgpack_packer apk;
	buf_init(&all);
	msgpack_packer_init(&apk, &all, cli_buf_write);
	if (is_map)
		msgpack_pack_map(&apk, count);
	else
		msgpack_pack_array(&apk, count);
	cli_buf_write(&all, buf_head(&body), buf_used(&body));
	buf_free(&body);
	msgpack_zone zone;
	msgpack_object o;
	size_t off = 0;
	if (!msgpack_zone_init(&zone, 4096))
		cli_oom();
	if (msgpack_unpack(buf_head(&all), buf_used(&all), &off, &zone, &o) != MSGPACK_UNPACK_SUCCESS)
		st = cli_error(EX_ERROR, "REPLY: %s: cannot decode the result", what);
	else
		cli_print(x, &o);
	msgpack_zone_destroy(&zone);
	buf_free(&all);
	return st;
}

/*
 * queue get NAME [TIMEOUT] [--ack [--lease SEC]]: plain, it is queue.get;
 * with --ack it is queue.get_ack, whose result {id, value, deliveries} is
 * printed as JSON.
 */
int cmd_queue_get(struct cli *x, int argc, char **argv)
{
	if (!x->o.ack) {
		if (x->o.have_lease)
			return cmd_usage(x, "--lease needs --ack");
		return cmd_op(x, argc, argv);
	}
	x->cmd = cmd_by_code(IPCD_OP_QUEUE_GET_ACK);
	if (!x->o.have_lease || argc < 1 || argc > 2)
		return cmd_op(x, argc, argv);
	/* NAME TIMEOUT LEASE, the timeout from the argument or the options */
	char timeout[64], lease[64];
	char *args[3] = { argv[0], timeout, lease };
	if (argc == 2)
		snprintf(timeout, sizeof(timeout), "%s", argv[1]);
	else
		snprintf(timeout, sizeof(timeout), "%.17g", x->o.have_timeout ? x->o.timeout : 0.0);
	if (argc == 2 && x->o.have_timeout)
		return cmd_usage(x, "TIMEOUT given both as an argument and as --timeout/--wait");
	x->o.have_timeout = 0;
	snprintf(lease, sizeof(lease), "%.17g", x->o.lease);
	return cmd_op(x, 3, args);
}

/* queue pending NAME: a table of deliveries (ID PID LEASE-LEFT DELIVERIES, as
 * ls and clients print theirs), or the array with --json. */
int cmd_queue_pending(struct cli *x, int argc, char **argv)
{
	enum { NCOLS = 4 };
	static const char *const headers[NCOLS] = { "ID", "PID", "LEASE-LEFT", "DELIVERIES" };
	static const int right[NCOLS] = { 1, 1, 1, 1 };
	if (argc != 1 || x->o.json)
		return cmd_op(x, argc, argv);
	int st = cli_connect(x);
	if (st)
		return st;
	struct ipcd_result res;
	int rc = ipcd_call(x->c, IPCD_OP_QUEUE_PENDING, &res, 1, argv[0]);
	if (rc)
		return cli_failed(x, rc);
	if (res.value.type != MSGPACK_OBJECT_ARRAY)
		return cli_error(EX_ERROR, "REPLY: queue pending: unexpected result");
	struct table t;
	table_init(&t, NCOLS, headers, right);
	for (uint32_t i = 0; i < res.value.via.array.size; i++) {
		const msgpack_object *m = &res.value.via.array.ptr[i], *lease = wire_map_get(m, "lease");
		uint64_t u = 0;
		int64_t k = 0;
		double d = 0;
		char **row = table_row(&t);
		row[0] = cell_printf("%llu", (unsigned long long)(ipcd_obj_uint(wire_map_get(m, "id"), &u) ? 0 : u));
		row[1] = cell_printf("%lld", (long long)(ipcd_obj_int(wire_map_get(m, "pid"), &k) ? 0 : k));
		row[2] = lease && lease->type != MSGPACK_OBJECT_NIL && !ipcd_obj_double(lease, &d) ? cell_printf("%.3f", d)
		                                                                                   : cell_text(NULL, 0);
		row[3] = cell_printf("%llu", (unsigned long long)(ipcd_obj_uint(wire_map_get(m, "deliveries"), &u) ? 0 : u));
	}
	table_print(stdout, &t, isatty(STDOUT_FILENO), color_out(), 0);
	table_free(&t);
	return EX_OK;
}

/* ---- clients and kill-client ---------------------------------------------- */

/* What a connection holds, "NAME" or "NAME(COUNT)" each, comma-separated; "-" for nothing. */
static char *cell_holds(const msgpack_object *holds)
{
	struct buf b;
	buf_init(&b);
	for (uint32_t i = 0; holds && holds->type == MSGPACK_OBJECT_ARRAY && i < holds->via.array.size; i++) {
		const msgpack_object *h = &holds->via.array.ptr[i];
		char *name = cell_str(h, "name");
		uint64_t n = 1;
		ipcd_obj_uint(wire_map_get(h, "count"), &n);
		char *one = n > 1 ? cell_printf("%s%s(%llu)", i ? "," : "", name, (unsigned long long)n)
		                  : cell_printf("%s%s", i ? "," : "", name);
		cli_buf_write(&b, one, strlen(one));
		free(one), free(name);
	}
	char *cell = b.len > b.off ? cell_text(buf_head(&b), b.len - b.off) : cell_text(NULL, 0);
	buf_free(&b);
	return cell;
}

/*
 * clients: every page of the clients op; a table (see table_print), or with
 * --json one array of the server's maps.
 */
int cmd_clients(struct cli *x, int argc, char **argv)
{
	enum { NCOLS = 11 };
	static const char *const headers[NCOLS] = { "ID", "PID", "UID", "NAME", "COMMAND", "AGE", "OPS", "IN", "OUT",
		                                    "BLOCKED-ON", "HOLDS" };
	static const int right[NCOLS] = { 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0 };
	if (argc)
		return cmd_usage(x, "too many arguments");
	int st = cli_connect(x);
	if (st)
		return st;
	int human = isatty(STDOUT_FILENO);
	double now = cli_unix_now();
	struct table t;
	table_init(&t, NCOLS, headers, right);
	size_t shown = 0;
	uint64_t cursor = 0;
	if (x->o.json)
		putchar('[');
	do {
		struct ipcd_result res;
		int rc = ipcd_call(x->c, IPCD_OP_CLIENTS, &res, 2, cursor, (uint64_t)PROTO_LS_MAX_COUNT);
		const msgpack_object *page = NULL;
		if (rc)
			st = cli_failed(x, rc);
		else if (!(page = cli_page(&res, MSGPACK_OBJECT_ARRAY, &cursor, "clients")))
			st = EX_ERROR;
		if (st) {
			if (x->o.json)
				puts("]");
			table_free(&t);
			return st;
		}
		for (uint32_t i = 0; i < page->via.array.size; i++) {
			const msgpack_object *m = &page->via.array.ptr[i], *v, *b;
			if (x->o.json) {
				if (shown++)
					putchar(',');
				json_print(stdout, m, 0);
				continue;
			}
			char **row = table_row(&t);
			uint64_t u = 0;
			int64_t k = 0;
			double d = 0;
			row[0] = cell_printf("%llu", (unsigned long long)(ipcd_obj_uint(wire_map_get(m, "id"), &u) ? 0 : u));
			row[1] = cell_printf("%lld", (long long)(ipcd_obj_int(wire_map_get(m, "pid"), &k) ? 0 : k));
			row[2] = cell_printf("%lld", (long long)(ipcd_obj_int(wire_map_get(m, "uid"), &k) ? 0 : k));
			row[3] = cell_str(m, "name");
			row[4] = cell_str(m, "comm");
			row[5] = cell_age(ipcd_obj_double(wire_map_get(m, "connected"), &d) ? 0 : now - d);
			row[6] = cell_printf("%llu", (unsigned long long)(ipcd_obj_uint(wire_map_get(m, "ops"), &u) ? 0 : u));
			row[7] = cell_bytes(ipcd_obj_uint(wire_map_get(m, "bytes_in"), &u) ? 0 : u, human);
			row[8] = cell_bytes(ipcd_obj_uint(wire_map_get(m, "bytes_out"), &u) ? 0 : u, human);
			if ((b = wire_map_get(m, "blocked")) && b->type == MSGPACK_OBJECT_MAP) {
				char *op = cell_str(b, "op"), *name = cell_str(b, "name");
				char *age = cell_age((v = wire_map_get(b, "since")) && !ipcd_obj_double(v, &d) ? now - d : 0);
				row[9] = cell_printf("%s %s %s", op, name, age);
				free(op), free(name), free(age);
			} else {
				row[9] = cell_text(NULL, 0);
			}
			row[10] = cell_holds(wire_map_get(m, "holds"));
		}
	} while (cursor != 0);
	if (x->o.json)
		puts("]");
	else
		table_print(stdout, &t, human, color_out(), 0);
	table_free(&t);
	return EX_OK;
}

/* kill-client ID | pid PID (also: id ID): the kill_client op; prints how many were closed. */
int cmd_kill_client(struct cli *x, int argc, char **argv)
{
	const char *by = "id", *num;
	if (argc == 2 && (strcmp(argv[0], "pid") == 0 || strcmp(argv[0], "id") == 0))
		by = argv[0], num = argv[1];
	else if (argc == 1)
		num = argv[0];
	else
		return cmd_usage(x, argc > 2 || argc == 2 ? "expected ID, or pid PID" : "missing arguments");
	char *end;
	errno = 0;
	unsigned long long id = strtoull(num, &end, 10);
	if (!*num || *end || *num == '-' || errno || id == 0)
		return cmd_usage(x, strcmp(by, "pid") ? "ID is a connection number (the ID column of clients)"
		                                      : "PID is a process id");
	int st = cli_connect(x);
	if (st)
		return st;
	struct ipcd_result res;
	int rc = ipcd_call(x->c, IPCD_OP_KILL_CLIENT, &res, 2, (uint64_t)id, by);
	if (rc)
		return cli_failed(x, rc);
	cli_print(x, &res.value);
	return EX_OK;
}


/* ---- access ----------------------------------------------------------------- */

/* Send op with the msgpack array args packed, print the result. */
static int call_packed(struct cli *x, unsigned code, struct buf *args)
{
	int st = cli_connect(x);
	if (st) {
		buf_free(args);
		return st;
	}
	struct ipcd_result res;
	int rc = ipcd_call_raw(x->c, code, args->data, args->len, &res);
	buf_free(args);
	if (rc)
		return cli_failed(x, rc);
	cli_print(x, &res.value);
	return EX_OK;
}

/* chmod NAME MODE: MODE always goes as the octal string typed ("640" is
 * 0640, never six hundred and forty); the daemon checks it. */
int cmd_chmod(struct cli *x, int argc, char **argv)
{
	if (argc != 2)
		return cmd_usage(x, argc > 2 ? "too many arguments" : "missing arguments");
	struct buf args;
	msgpack_packer pk;
	buf_init(&args);
	msgpack_packer_init(&pk, &args, cli_buf_write);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_str_with_body(&pk, argv[0], strlen(argv[0]));
	msgpack_pack_str_with_body(&pk, argv[1], strlen(argv[1]));
	return call_packed(x, IPCD_OP_CHMOD, &args);
}

/* A user or group word: a number, or a name looked up. -1 if neither. */
static int64_t id_of(const char *word, int is_group)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(word, &end, 10);
	if (*word && !*end && *word != '-' && !errno && n < UINT32_MAX)
		return (int64_t)n;
	if (is_group) {
		const struct group *g = getgrnam(word);
		return g ? (int64_t)g->gr_gid : -1;
	}
	const struct passwd *p = getpwnam(word);
	return p ? (int64_t)p->pw_uid : -1;
}

/* chown NAME OWNER[:GROUP] | :GROUP: users and groups by name or number. */
int cmd_chown(struct cli *x, int argc, char **argv)
{
	if (argc != 2)
		return cmd_usage(x, argc > 2 ? "too many arguments" : "missing arguments");
	char *spec = argv[1], *colon = strchr(spec, ':');
	if (colon)
		*colon = '\0';
	int64_t owner = *spec ? id_of(spec, 0) : IPCD_NIL_INT;
	int64_t group = colon && colon[1] ? id_of(colon + 1, 1) : IPCD_NIL_INT;
	if (owner == -1)
		return cli_error(EX_USAGE, "chown: no user '%s'", spec);
	if (group == -1)
		return cli_error(EX_USAGE, "chown: no group '%s'", colon + 1);
	if (owner == IPCD_NIL_INT && group == IPCD_NIL_INT)
		return cmd_usage(x, "give OWNER, OWNER:GROUP or :GROUP");
	struct buf args;
	msgpack_packer pk;
	buf_init(&args);
	msgpack_packer_init(&pk, &args, cli_buf_write);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_str_with_body(&pk, argv[0], strlen(argv[0]));
	if (owner == IPCD_NIL_INT)
		msgpack_pack_nil(&pk);
	else
		msgpack_pack_int64(&pk, owner);
	if (group == IPCD_NIL_INT)
		msgpack_pack_nil(&pk);
	else
		msgpack_pack_int64(&pk, group);
	return call_packed(x, IPCD_OP_CHOWN, &args);
}
