/*
 * ipcctl_dump.c: one object to a JSON file and back.
 *
 *   dump NAME                  {"name": N, "type": T, "options": {...}, "items": [...]}
 *                              a queue's adds "extras": [[INDEX, {...}], ...]
 *   load NAME [--replace]      the same JSON on stdin recreates NAME
 *
 * items are the values of a list, [key, value] pairs for a dict or ns (so
 * that keys of any type and their order survive), and for a queue every
 * item (pending, ready, delayed) in the order that rebuilds it (dump's full
 * pages, PROTOCOL.md): "extras" then says, by position in items, what else
 * an item carries (priority, deliveries, due, pending), and is left out
 * when no item carries anything. Values go through json.c's exact mapping ($bin,
 * $ext, $uint, $map, floats always with a fraction), so that a dump loaded
 * back gives the daemon the same canonical bytes. NAME on load's command
 * line wins over the file's name: an object can be restored under another.
 *
 * dump reads the object in pages of DUMP_PAGE items and prints them as they
 * come; load creates the object with the dumped options, then sends the
 * items in chunks (queue.put_many, list.extend, dict.update; ns.set per
 * attribute) pipelined, LOAD_WINDOW requests in flight. Both show a
 * progress bar on a terminal's stderr.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "buf.h"
#include "json.h"
#include "ipcctl.h"

/* Items per dump page: small enough that a page of large values stays far
 * below the daemon's max_output, large enough to cost few round trips. */
#define DUMP_PAGE 1000

/* A load chunk ends at this many items or bytes, whichever first: requests
 * stay well under the default max_frame (16 MiB) and the pipeline moving. */
#define LOAD_CHUNK_ITEMS 1000
#define LOAD_CHUNK_BYTES (256u << 10)
/* Requests in flight while loading. */
#define LOAD_WINDOW 16

/* A str msgpack_object viewing s. */
static msgpack_object dump_str(const char *s)
{
	msgpack_object o = { .type = MSGPACK_OBJECT_STR };
	o.via.str.ptr = s;
	o.via.str.size = (uint32_t)strlen(s);
	return o;
}

/* ---- dump ------------------------------------------------------------------------ */

/* Print one item: a value, or a [key, value] pair. */
static void dump_item(int pretty, int first, const msgpack_object *k, const msgpack_object *v)
{
	fputs(first ? "" : ",", stdout);
	fputs(pretty ? "\n  " : "", stdout);
	if (k) {
		putchar('[');
		json_print(stdout, k, 0);
		putchar(',');
		json_print(stdout, v, 0);
		putchar(']');
	} else {
		json_print(stdout, v, 0);
	}
}

/* One full page of queue NAME from cursor: every item with what it carries. */
static int dump_full_page(struct cli *x, const char *name, uint64_t cursor, struct ipcd_result *res)
{
	struct buf args;
	msgpack_packer pk;
	buf_init(&args);
	msgpack_packer_init(&pk, &args, cli_buf_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_str_with_body(&pk, name, strlen(name));
	msgpack_pack_uint64(&pk, cursor);
	msgpack_pack_uint64(&pk, DUMP_PAGE);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "full", 4);
	msgpack_pack_true(&pk);
	int rc = ipcd_call_raw(x->c, IPCD_OP_DUMP, buf_head(&args), buf_used(&args), res);
	buf_free(&args);
	return rc;
}

/* dump NAME: stat for the type, size and options, then every page. */
int cmd_dump(struct cli *x, int argc, char **argv)
{
	if (argc != 1)
		return cmd_usage(x, argc ? "too many arguments" : "missing arguments");
	const char *name = argv[0];
	int st = cli_connect(x);
	if (st)
		return st;
	struct ipcd_result res;
	int rc = ipcd_call(x->c, IPCD_OP_STAT, &res, 1, name);
	if (rc)
		return cli_failed(x, rc);
	const msgpack_object *type = wire_map_get(&res.value, "type"), *options = wire_map_get(&res.value, "options");
	const char *tp;
	size_t tn;
	uint64_t total = 0;
	if (!type || ipcd_obj_str(type, &tp, &tn) || tn >= 8 || (options && options->type != MSGPACK_OBJECT_MAP))
		return cli_error(EX_ERROR, "REPLY: stat: unexpected result");
	ipcd_obj_uint(wire_map_get(&res.value, "size"), &total);
	int is_map = (tn == 4 && memcmp(tp, "dict", 4) == 0) || (tn == 2 && memcmp(tp, "ns", 2) == 0);
	int pretty = !x->o.json;
	msgpack_object nm = dump_str(name), empty = { .type = MSGPACK_OBJECT_MAP };
	fputs(pretty ? "{\"name\": " : "{\"name\":", stdout);
	json_print(stdout, &nm, 0);
	fputs(pretty ? ", \"type\": " : ",\"type\":", stdout);
	json_print(stdout, type, 0);
	fputs(pretty ? ", \"options\": " : ",\"options\":", stdout);
	json_print(stdout, options ? options : &empty, 0);
	fputs(pretty ? ", \"items\": [" : ",\"items\":[", stdout);
	int is_queue = tn == 5 && memcmp(tp, "queue", 5) == 0;
	struct buf extras;          /* [INDEX, MAP] pairs of the queue's items that carry more */
	uint32_t nextras = 0;
	msgpack_packer xpk;
	buf_init(&extras);
	msgpack_packer_init(&xpk, &extras, cli_buf_write);

	/* The bar only when the JSON goes elsewhere than the terminal. */
	struct progress bar;
	progress_start(&bar, "dump", total, !isatty(STDOUT_FILENO));
	uint64_t cursor = 0, shown = 0;
	do {
		rc = is_queue ? dump_full_page(x, name, cursor, &res)
		              : ipcd_call(x->c, IPCD_OP_DUMP, &res, 3, name, cursor, (uint64_t)DUMP_PAGE);
		const msgpack_object *page;
		if (rc) {
			st = cli_failed(x, rc);
			break;
		}
		if (!(page = cli_page(&res, is_map ? MSGPACK_OBJECT_MAP : MSGPACK_OBJECT_ARRAY, &cursor, "dump"))) {
			st = EX_ERROR;
			break;
		}
		uint32_t n = is_map ? page->via.map.size : page->via.array.size;
		for (uint32_t i = 0; i < n && !st; i++, shown++) {
			const msgpack_object *e = &page->via.array.ptr[i];
			if (is_map) {
				dump_item(pretty, !shown, &page->via.map.ptr[i].key, &page->via.map.ptr[i].val);
			} else if (!is_queue) {
				dump_item(pretty, !shown, NULL, e);
			} else if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size < 1 || e->via.array.size > 2 ||
			           (e->via.array.size == 2 && e->via.array.ptr[1].type != MSGPACK_OBJECT_MAP)) {
				st = cli_error(EX_ERROR, "REPLY: dump: unexpected queue entry");
			} else {
				dump_item(pretty, !shown, NULL, &e->via.array.ptr[0]);
				if (e->via.array.size == 2) {
					msgpack_pack_array(&xpk, 2);
					msgpack_pack_uint64(&xpk, shown);
					msgpack_pack_object(&xpk, e->via.array.ptr[1]);
					nextras++;
				}
			}
		}
		progress_add(&bar, n);
	} while (cursor != 0);
	progress_end(&bar);
	if (st) {
		putchar('\n');       /* the message says the JSON is cut short */
		buf_free(&extras);
		return st;
	}
	fputs(pretty && shown ? "\n]" : "]", stdout);
	if (nextras) {
		msgpack_zone zone;
		msgpack_object all;
		size_t off = 0;
		struct buf arr;
		buf_init(&arr);
		msgpack_packer apk;
		msgpack_packer_init(&apk, &arr, cli_buf_write);
		msgpack_pack_array(&apk, nextras);
		cli_buf_write(&arr, buf_head(&extras), buf_used(&extras));
		if (!msgpack_zone_init(&zone, 4096))
			cli_oom();
		if (msgpack_unpack(buf_head(&arr), buf_used(&arr), &off, &zone, &all) < 0)
			cli_oom();
		fputs(pretty ? ", \"extras\": [" : ",\"extras\":[", stdout);
		for (uint32_t i = 0; i < nextras; i++) {
			fputs(i ? "," : "", stdout);
			fputs(pretty ? "\n  " : "", stdout);
			json_print(stdout, &all.via.array.ptr[i], 0);
		}
		fputs(pretty ? "\n]" : "]", stdout);
		msgpack_zone_destroy(&zone);
		buf_free(&arr);
	}
	fputs("}\n", stdout);
	buf_free(&extras);
	return EX_OK;
}

/* ---- load -------------------------------------------------------------------------- */

/* What a load sends, and where it stands. */
struct load {
	struct cli *x;
	const char *name;
	unsigned op;               /* queue.put_many, list.extend, dict.update, ns.set */
	int is_map;                /* items are [key, value] pairs */
	struct buf body;           /* the chunk's items, encoded */
	uint32_t count;            /* items in body */
	uint32_t limit;            /* items per chunk */
	uint32_t inflight[LOAD_WINDOW + 1];    /* items of each request in flight, oldest first */
	size_t head;
	struct progress bar;
	int st;                    /* first failure's exit status */
};

/* The reply to the oldest request in flight. */
static void load_recv(struct load *l)
{
	struct ipcd_result res;
	int rc = ipcd_recv(l->x->c, &res);
	uint32_t n = l->inflight[l->head];
	l->head = (l->head + 1) % (LOAD_WINDOW + 1);
	if (rc && !l->st) {
		progress_end(&l->bar);
		l->st = cli_failed(l->x, rc);
	}
	progress_add(&l->bar, n);
}

/* Send args (one request of l->op carrying n items), keeping at most
 * LOAD_WINDOW in flight. */
static void load_send(struct load *l, const struct buf *args, uint32_t n)
{
	while (!l->st && ipcd_pending(l->x->c) >= LOAD_WINDOW)
		load_recv(l);
	if (l->st)
		return;
	int rc = ipcd_send_raw(l->x->c, NULL, l->op, buf_head(args), buf_used(args));
	if (rc) {
		progress_end(&l->bar);
		l->st = cli_failed(l->x, rc);
		return;
	}
	l->inflight[(l->head + ipcd_pending(l->x->c) - 1) % (LOAD_WINDOW + 1)] = n;
}

/* Send the items gathered in l->body as one request. */
static void load_flush(struct load *l)
{
	if (!l->count)
		return;
	struct buf args;
	msgpack_packer pk;
	buf_init(&args);
	msgpack_packer_init(&pk, &args, cli_buf_write);
	int put_many = l->op == IPCD_OP_QUEUE_PUT_MANY;
	msgpack_pack_array(&pk, put_many ? 3 : 2);
	msgpack_pack_str_with_body(&pk, l->name, strlen(l->name));
	if (l->is_map)
		msgpack_pack_map(&pk, l->count);
	else
		msgpack_pack_array(&pk, l->count);
	cli_buf_write(&args, buf_head(&l->body), buf_used(&l->body));
	if (put_many)
		msgpack_pack_double(&pk, 0);     /* FULL at once rather than waiting forever */
	load_send(l, &args, l->count);
	buf_free(&args);
	buf_consume(&l->body, buf_used(&l->body));
	l->count = 0;
}

/* One item: into the current chunk, or for ns its own ns.set. */
static void load_item(struct load *l, const msgpack_object *item)
{
	msgpack_packer pk;
	if (l->op == IPCD_OP_NS_SET) {
		struct buf args;
		buf_init(&args);
		msgpack_packer_init(&pk, &args, cli_buf_write);
		msgpack_pack_array(&pk, 3);
		msgpack_pack_str_with_body(&pk, l->name, strlen(l->name));
		msgpack_pack_object(&pk, item->via.array.ptr[0]);
		msgpack_pack_object(&pk, item->via.array.ptr[1]);
		load_send(l, &args, 1);
		buf_free(&args);
		return;
	}
	msgpack_packer_init(&pk, &l->body, cli_buf_write);
	if (l->is_map) {
		msgpack_pack_object(&pk, item->via.array.ptr[0]);
		msgpack_pack_object(&pk, item->via.array.ptr[1]);
	} else {
		msgpack_pack_object(&pk, *item);
	}
	if (++l->count >= l->limit || buf_used(&l->body) >= LOAD_CHUNK_BYTES)
		load_flush(l);
}

/* A queue item that carries more than its value (an "extras" entry): its
 * own queue.put, with its priority, its delivery count and the delay left
 * until its due time. */
static void load_put_with_extras(struct load *l, const msgpack_object *value, const msgpack_object *extras)
{
	load_flush(l);      /* the items before it go first */
	int64_t priority = 0;
	uint64_t deliveries = 0;
	double due = 0, delay = 0;
	ipcd_obj_int(wire_map_get(extras, "priority"), &priority);
	ipcd_obj_uint(wire_map_get(extras, "deliveries"), &deliveries);
	if (!ipcd_obj_double(wire_map_get(extras, "due"), &due))
		delay = due - cli_unix_now();
	struct buf args;
	msgpack_packer pk;
	buf_init(&args);
	msgpack_packer_init(&pk, &args, cli_buf_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_str_with_body(&pk, l->name, strlen(l->name));
	msgpack_pack_object(&pk, *value);
	msgpack_pack_double(&pk, 0);     /* FULL at once rather than waiting forever */
	msgpack_pack_map(&pk, (priority != 0) + (deliveries != 0) + (delay > 0));
	if (priority) {
		msgpack_pack_str_with_body(&pk, "priority", 8);
		msgpack_pack_int64(&pk, priority);
	}
	if (deliveries) {
		msgpack_pack_str_with_body(&pk, "deliveries", 10);
		msgpack_pack_uint64(&pk, deliveries);
	}
	if (delay > 0) {
		msgpack_pack_str_with_body(&pk, "delay", 5);
		msgpack_pack_double(&pk, delay);
	}
	unsigned op = l->op;
	l->op = IPCD_OP_QUEUE_PUT;
	load_send(l, &args, 1);
	l->op = op;
	buf_free(&args);
}

/* stdin whole, NUL-terminated, into b. 0 or an exit status. */
static int load_read_stdin(struct buf *b)
{
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		cli_buf_write(b, chunk, n);
	if (ferror(stdin))
		return cli_error(EX_ERROR, "load: cannot read stdin");
	cli_buf_write(b, "", 1);
	return 0;
}

/*
 * The dump in text as {type, options, items} views into zone, checked:
 * type one of the four, options a map (or absent), items an array, of pairs
 * for dict and ns (str keys for ns). 0 or an exit status.
 */
static int load_parse(const char *text, msgpack_zone *zone, struct buf *mp, char type[8],
                      const msgpack_object **options, const msgpack_object **items,
                      const msgpack_object **extras)
{
	msgpack_packer pk;
	char why[JSON_ERROR_SIZE];
	msgpack_packer_init(&pk, mp, cli_buf_write);
	if (json_to_msgpack(text, &pk, why, sizeof(why)))
		return cli_error(EX_ERROR, "load: stdin is not valid JSON: %s", why);
	msgpack_object top;
	size_t off = 0;
	if (msgpack_unpack(buf_head(mp), buf_used(mp), &off, zone, &top) < 0)
		return cli_error(EX_ERROR, "load: the JSON is nested too deeply");
	const msgpack_object *t = wire_map_get(&top, "type");
	*options = wire_map_get(&top, "options");
	*items = wire_map_get(&top, "items");
	*extras = wire_map_get(&top, "extras");
	char *tbuf = type;
	const char *p;
	size_t n;
	if (top.type != MSGPACK_OBJECT_MAP || !t || ipcd_obj_str(t, &p, &n) || n >= 8 || !*items ||
	    (*items)->type != MSGPACK_OBJECT_ARRAY || (*options && (*options)->type != MSGPACK_OBJECT_MAP &&
	                                               (*options)->type != MSGPACK_OBJECT_NIL))
		return cli_error(EX_ERROR, "load: expected a dump: {\"name\", \"type\", \"options\", \"items\": [...]}");
	memcpy(tbuf, p, n);
	tbuf[n] = '\0';
	if (proto_type_by_name(tbuf, n) == PROTO_T_ANY)
		return cli_error(EX_ERROR, "load: unknown type %s", tbuf);
	if (*options && (*options)->type == MSGPACK_OBJECT_NIL)
		*options = NULL;
	if (*extras) {   /* a queue's: [[INDEX, MAP], ...], INDEX rising and within items */
		const msgpack_object *x = *extras;
		uint64_t last = 0;
		if (strcmp(tbuf, "queue") != 0 || x->type != MSGPACK_OBJECT_ARRAY)
			return cli_error(EX_ERROR, "load: \"extras\" belongs to a queue's dump and is an array");
		for (uint32_t i = 0; i < x->via.array.size; i++) {
			const msgpack_object *e = &x->via.array.ptr[i];
			if (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 2 ||
			    e->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
			    e->via.array.ptr[1].type != MSGPACK_OBJECT_MAP ||
			    e->via.array.ptr[0].via.u64 >= (*items)->via.array.size || (i && e->via.array.ptr[0].via.u64 <= last))
				return cli_error(EX_ERROR, "load: extras entry %u must be [INDEX, {...}] with INDEX rising and "
				                 "less than the number of items", i);
			last = e->via.array.ptr[0].via.u64;
		}
	}
	int pairs = strcmp(tbuf, "dict") == 0 || strcmp(tbuf, "ns") == 0;
	for (uint32_t i = 0; pairs && i < (*items)->via.array.size; i++) {
		const msgpack_object *kv = &(*items)->via.array.ptr[i];
		if (kv->type != MSGPACK_OBJECT_ARRAY || kv->via.array.size != 2 ||
		    (tbuf[0] == 'n' && kv->via.array.ptr[0].type != MSGPACK_OBJECT_STR))
			return cli_error(EX_ERROR, "load: item %u of a %s must be a [%s, value] pair", i, tbuf,
			                 tbuf[0] == 'n' ? "attribute name" : "key");
	}
	return 0;
}

/* create NAME TYPE OPTIONS, deleting an existing NAME first with --replace. */
static int load_create(struct cli *x, const char *name, const char *type, const msgpack_object *options)
{
	int exists = 0, rc = ipcd_exists(x->c, name, &exists);
	if (rc)
		return cli_failed(x, rc);
	if (exists && !x->o.replace)
		return cli_error(EX_ERROR, "load: %s exists (--replace deletes it first)", name);
	if (exists && (rc = ipcd_delete(x->c, name)) && rc != IPCD_ENOTFOUND)
		return cli_failed(x, rc);
	struct buf args;
	msgpack_packer pk;
	buf_init(&args);
	msgpack_packer_init(&pk, &args, cli_buf_write);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_str_with_body(&pk, name, strlen(name));
	msgpack_pack_str_with_body(&pk, type, strlen(type));
	if (options)
		msgpack_pack_object(&pk, *options);
	else
		msgpack_pack_map(&pk, 0);
	struct ipcd_result res;
	rc = ipcd_call_raw(x->c, IPCD_OP_CREATE, buf_head(&args), buf_used(&args), &res);
	buf_free(&args);
	return rc ? cli_failed(x, rc) : 0;
}

/* load NAME [--replace] < FILE */
int cmd_load(struct cli *x, int argc, char **argv)
{
	if (argc != 1)
		return cmd_usage(x, argc ? "too many arguments" : "missing arguments");
	if (isatty(STDIN_FILENO))     /* waiting for a dump typed by hand helps nobody */
		return cmd_usage(x, "the dump is read from stdin, not a terminal");
	struct buf text, mp;
	msgpack_zone zone;
	char type[8];
	const msgpack_object *options = NULL, *items = NULL, *extras = NULL;
	buf_init(&text);
	buf_init(&mp);
	if (!msgpack_zone_init(&zone, 65536))
		cli_oom();
	int st = load_read_stdin(&text);
	if (!st)
		st = load_parse(buf_head(&text), &zone, &mp, type, &options, &items, &extras);
	buf_free(&text);
	if (!st && !(st = cli_connect(x)))
		st = load_create(x, argv[0], type, options);
	if (st) {
		msgpack_zone_destroy(&zone);
		buf_free(&mp);
		return st;
	}

	struct load l = { .x = x, .name = argv[0], .limit = LOAD_CHUNK_ITEMS };
	buf_init(&l.body);
	switch (proto_type_by_name(type, strlen(type))) {
	case PROTO_T_QUEUE: l.op = IPCD_OP_QUEUE_PUT_MANY; break;
	case PROTO_T_LIST: l.op = IPCD_OP_LIST_EXTEND; break;
	case PROTO_T_DICT: l.op = IPCD_OP_DICT_UPDATE, l.is_map = 1; break;
	default: l.op = IPCD_OP_NS_SET, l.is_map = 1; break;
	}
	/* A put_many larger than maxsize could never fit. */
	uint64_t maxsize = 0;
	if (l.op == IPCD_OP_QUEUE_PUT_MANY && !ipcd_obj_uint(wire_map_get(options, "maxsize"), &maxsize) && maxsize &&
	    maxsize < l.limit)
		l.limit = (uint32_t)maxsize;
	progress_start(&l.bar, "load", items->via.array.size, 1);
	uint32_t next_extra = 0;
	for (uint32_t i = 0; i < items->via.array.size && !l.st; i++) {
		const msgpack_object *ex = extras && next_extra < extras->via.array.size ? &extras->via.array.ptr[next_extra] : NULL;
		if (ex && ex->via.array.ptr[0].via.u64 == i) {
			load_put_with_extras(&l, &items->via.array.ptr[i], &ex->via.array.ptr[1]);
			next_extra++;
		} else {
			load_item(&l, &items->via.array.ptr[i]);
		}
	}
	if (!l.st)
		load_flush(&l);
	while (ipcd_pending(x->c))
		load_recv(&l);
	progress_end(&l.bar);
	buf_free(&l.body);
	msgpack_zone_destroy(&zone);
	buf_free(&mp);
	return l.st;
}
