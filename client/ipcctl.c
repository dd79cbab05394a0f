/*
 * ipcctl.c: the command line of ipcd.
 *
 *   ipcctl [OPTIONS] COMMAND [ARGS...]        ping, info, ls, create, rm, ...
 *   ipcctl [OPTIONS] TYPE OP NAME [ARGS...]   queue put jobs '{"id": 1}'
 *
 * The commands are one table built from ops.def: every op of type ANY is a
 * command under its wire name, every typed op "TYPE.OP" is the command
 * "TYPE OP"; cmd_specials changes the few that behave differently (ls, dump
 * and dict keys/values/items page through everything, rm is delete, exists
 * answers through the exit status), and cmd_extras adds the commands that
 * are not one op (watch, load). The operator tools live in their own files
 * (see ipcctl.h): tables and colours, ls/info/watch/monitor, dump/load.
 * Each command runs as one function returning an exit status; arguments are
 * converted by the op's signature letters, so a new op in ops.def is a new
 * ipcctl command with its help line and nothing to write here.
 *
 * Words are matched by unique prefix ("q qs" is "queue qsize"). Options may
 * appear anywhere; an argument that looks like a negative number is a value,
 * not an option.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
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


/* One command: an op of ops.def as ipcctl presents it. */
struct cmd {
	const char *name;          /* word after the type, or the top-level word */
	const char *alias;         /* another word for it, or NULL */
	enum proto_type type;      /* PROTO_T_ANY: top-level command */
	const struct proto_op_info *op;
	const char *usage;         /* arguments as ipcctl takes them */
	const char *help;
	cmd_exec exec;
	int hidden;                /* not a command (hello) */
};

static int cmd_op(struct cli *x, int argc, char **argv);
static int cmd_exists(struct cli *x, int argc, char **argv);
static int cmd_dict_all(struct cli *x, int argc, char **argv);
static int cmd_queue_get(struct cli *x, int argc, char **argv);
static int cmd_queue_pending(struct cli *x, int argc, char **argv);
static int cmd_clients(struct cli *x, int argc, char **argv);
static int cmd_kill_client(struct cli *x, int argc, char **argv);

/* Where ipcctl departs from the op as ops.def describes it. */
static const struct cmd_special {
	unsigned code;
	const char *name, *alias, *usage, *help;
	cmd_exec exec;
	int hidden;
} cmd_specials[] = {
	{ IPCD_OP_HELLO, .hidden = 1 },
	{ IPCD_OP_LS, .usage = "[PATTERN] [--type TYPE] [--sort name|size|rate]", .exec = cmd_ls,
	  .help = "objects matching a glob: NAME TYPE SIZE WAITING PENDING RATE (all pages)" },
	{ IPCD_OP_INFO, .exec = cmd_info,
	  .help = "the daemon's version, uptime, clients, objects, memory and op counts" },
	{ IPCD_OP_DUMP, .usage = "NAME", .exec = cmd_dump,
	  .help = "the object as JSON: {name, type, options, items} (all pages); load reads it back" },
	{ IPCD_OP_MONITOR, .usage = "[--count N]", .exec = cmd_monitor,
	  .help = "every request of other connections as it comes: TIME CLIENT PID OP NAME SIZE" },
	{ IPCD_OP_DELETE, .name = "rm", .alias = "delete" },
	{ IPCD_OP_CLIENTS, .usage = "", .exec = cmd_clients,
	  .help = "connections: ID PID UID NAME COMMAND AGE OPS IN OUT BLOCKED-ON (all pages)" },
	{ IPCD_OP_KILL_CLIENT, .name = "kill-client", .usage = "ID | pid PID", .exec = cmd_kill_client,
	  .help = "close connection ID, or every connection of process PID; prints how many" },
	{ IPCD_OP_EXISTS, .exec = cmd_exists, .help = "print true or false; exit status 0 or 4" },
	{ IPCD_OP_DICT_KEYS, .usage = "NAME", .exec = cmd_dict_all, .help = "every key, as an array (all pages)" },
	{ IPCD_OP_DICT_VALUES, .usage = "NAME", .exec = cmd_dict_all, .help = "every value, as an array (all pages)" },
	{ IPCD_OP_DICT_ITEMS, .usage = "NAME", .exec = cmd_dict_all, .help = "every key and value, as a map (all pages)" },
	{ IPCD_OP_QUEUE_GET, .usage = "NAME [TIMEOUT] [--ack [--lease SEC]]", .exec = cmd_queue_get,
	  .help = "remove and return the oldest item; --ack: keep it pending until acked, print {id, value, deliveries}" },
	{ IPCD_OP_QUEUE_PENDING, .exec = cmd_queue_pending,
	  .help = "pending deliveries, one per line: ID PID LEASE-LEFT DELIVERIES (- = no lease)" },
};

/* Commands that are not one op: they run several, or none. */
static const struct cmd cmd_extras[] = {
	{ .name = "watch", .type = PROTO_T_ANY, .usage = "[PATTERN] [--interval SEC] [--count N]", .exec = cmd_watch,
	  .help = "like top: the daemon's figures and the objects by rate, every SEC (1) seconds" },
	{ .name = "load", .type = PROTO_T_ANY, .usage = "NAME [--replace] < FILE", .exec = cmd_load,
	  .help = "create NAME from a dump's JSON on stdin; --replace deletes an existing NAME first" },
};

/* The command table, built from ops.def and cmd_extras by cmd_init. */
enum {
	CMD_OPS = 0
#define IPCD_OP(ident, code, wire, type, flags, sig, usage, help) + 1
#include "ops.def"
#undef IPCD_OP
	,
	CMD_COUNT = CMD_OPS + sizeof(cmd_extras) / sizeof(cmd_extras[0])
};
static struct cmd cmds[CMD_COUNT];

static const char *const cmd_types[] = { "queue", "list", "dict", "ns" };

/* ---- small utilities ----------------------------------------------------- */

int cli_error(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs(color_err() ? SGR_RED "ipcctl:" SGR_RESET " " : "ipcctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return status;
}

void cli_oom(void)
{
	fputs("ipcctl: out of memory\n", stderr);
	exit(EX_ERROR);
}

/* An empty str or bin may come with p NULL: nothing to copy (memcpy must
 * not see NULL). */
int cli_buf_write(void *data, const char *p, size_t n)
{
	if (n && buf_append(data, p, n) < 0)
		cli_oom();
	return 0;
}

/* ---- the command table --------------------------------------------------- */

/* Fill cmds from ops.def and cmd_specials. */
static void cmd_init(void)
{
	for (size_t i = 0; i < proto_ops_count; i++) {
		struct cmd *cmd = &cmds[i];
		const struct proto_op_info *op = proto_op_at(i);
		const char *dot = strchr(op->name, '.');
		cmd->op = op;
		cmd->type = op->type;
		cmd->name = op->type == PROTO_T_ANY || !dot ? op->name : dot + 1;
		cmd->usage = op->usage;
		cmd->help = op->help;
		cmd->exec = cmd_op;
		for (size_t j = 0; j < sizeof(cmd_specials) / sizeof(cmd_specials[0]); j++) {
			const struct cmd_special *s = &cmd_specials[j];
			if (s->code != op->code)
				continue;
			cmd->name = s->name ? s->name : cmd->name;
			cmd->alias = s->alias;
			cmd->usage = s->usage ? s->usage : cmd->usage;
			cmd->help = s->help ? s->help : cmd->help;
			cmd->exec = s->exec ? s->exec : cmd->exec;
			cmd->hidden = s->hidden;
		}
	}
	for (size_t i = 0; i < CMD_COUNT - CMD_OPS; i++)
		cmds[CMD_OPS + i] = cmd_extras[i];
}

/* The type named exactly t, or PROTO_T_ANY. */
static enum proto_type cmd_type_named(const char *t)
{
	return proto_type_by_name(t, strlen(t));
}

/*
 * Match word against the candidate words of a level: the commands of type t
 * and, at the top level, the type names and "help". An exact match wins, else
 * a unique prefix. Returns the matched word's command (or NULL with *word_out
 * set for a type name / help), or prints why not and returns status 2 in
 * *status.
 */
static const struct cmd *cmd_find(enum proto_type t, const char *word, const char **word_out, int *status)
{
	const char *cand[CMD_COUNT * 2 + 8];
	const struct cmd *cmd_of[CMD_COUNT * 2 + 8];
	size_t n = 0;
	for (size_t i = 0; i < CMD_COUNT; i++) {
		if (cmds[i].hidden || cmds[i].type != t)
			continue;
		cand[n] = cmds[i].name, cmd_of[n++] = &cmds[i];
		if (cmds[i].alias)
			cand[n] = cmds[i].alias, cmd_of[n++] = &cmds[i];
	}
	if (t == PROTO_T_ANY) {
		for (size_t i = 0; i < sizeof(cmd_types) / sizeof(cmd_types[0]); i++)
			cand[n] = cmd_types[i], cmd_of[n++] = NULL;
		cand[n] = "help", cmd_of[n++] = NULL;
	}
	size_t len = strlen(word), found = n, matches = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(cand[i], word) == 0) {
			found = i;
			matches = 1;
			break;
		}
		/* A command's name and alias are adjacent: count the command once. */
		if (strncmp(cand[i], word, len) == 0 && !(matches && cmd_of[i] && cmd_of[i] == cmd_of[found])) {
			found = i;
			matches++;
		}
	}
	*status = 0;
	if (matches == 1) {
		*word_out = cand[found];
		return cmd_of[found];
	}
	const char *where = t == PROTO_T_ANY ? "" : proto_type_name(t);
	if (!matches) {
		*status = cli_error(EX_USAGE, "unknown command: %s%s%s (see ipcctl --help)", where, *where ? " " : "", word);
		return NULL;
	}
	fprintf(stderr, "ipcctl: ambiguous command: %s%s%s, could be:", where, *where ? " " : "", word);
	for (size_t i = 0, k = 0; i < n; i++)
		if (strncmp(cand[i], word, len) == 0)
			fprintf(stderr, "%s %s", k++ ? "," : "", cand[i]);
	fputc('\n', stderr);
	*status = EX_USAGE;
	return NULL;
}

/* True if cmd is the op code (0: none), or the command without an op named extra. */
static int cmd_is(const struct cmd *cmd, unsigned code, const char *extra)
{
	if (cmd->op)
		return code && cmd->op->code == code;
	return extra && strcmp(cmd->name, extra) == 0;
}

/* The words that name cmd ("queue put", "ls") in buf of size bytes. */
static const char *cmd_path(const struct cmd *cmd, char *buf, size_t size)
{
	if (cmd->type == PROTO_T_ANY)
		snprintf(buf, size, "%s", cmd->name);
	else
		snprintf(buf, size, "%s %s", proto_type_name(cmd->type), cmd->name);
	return buf;
}

/* ---- help ---------------------------------------------------------------- */

/* One help line: the command with its usage, then its help. */
static void help_line(FILE *f, const struct cmd *cmd)
{
	char head[128], path[64];
	snprintf(head, sizeof(head), "%s %s", cmd_path(cmd, path, sizeof(path)), cmd->usage);
	if (strlen(head) < 34)
		fprintf(f, "  %-34s %s\n", head, cmd->help);
	else
		fprintf(f, "  %s\n  %-34s %s\n", head, "", cmd->help);
}

/* The commands of type t. */
static void help_type(FILE *f, enum proto_type t)
{
	for (size_t i = 0; i < CMD_COUNT; i++)
		if (!cmds[i].hidden && cmds[i].type == t)
			help_line(f, &cmds[i]);
}

/* Every command's words, one per line, for shell completion. */
static void help_list(FILE *f)
{
	char path[64];
	for (size_t i = 0; i < CMD_COUNT; i++) {
		if (cmds[i].hidden)
			continue;
		fprintf(f, "%s\n", cmd_path(&cmds[i], path, sizeof(path)));
		if (cmds[i].alias)
			fprintf(f, "%s\n", cmds[i].alias);
	}
}

static void help_usage(FILE *f)
{
	fputs("usage: ipcctl [OPTIONS] COMMAND [ARGS...]\n"
	      "       ipcctl [OPTIONS] TYPE OP NAME [ARGS...]\n", f);
}

static void help_full(FILE *f)
{
	help_usage(f);
	fputs("\nTalk to ipcd, the daemon of named queues, lists, dicts and namespaces.\n"
	      "\nOptions (anywhere on the line):\n"
	      "  -s, --socket PATH   the daemon's socket (default: $IPCD_SOCKET, else\n"
	      "                      $XDG_RUNTIME_DIR/ipcd.sock, else /run/ipcd/ipcd.sock)\n"
	      "  -j, --json          machine output: every result as one line of JSON\n"
	      "  -t, --timeout SEC   how long an op that waits (queue get/put, list blpop, ...)\n"
	      "                      may wait: without it they do not wait at all (EMPTY or\n"
	      "                      FULL at once); a negative SEC waits forever\n"
	      "  -w, --wait          wait forever (same as --timeout -1)\n"
	      "      --ack           queue get: acknowledged get; the item stays pending until\n"
	      "                      queue ack NAME ID (or nack, or its lease ends)\n"
	      "      --lease SEC     with --ack: an explicit lease, so that the item stays pending\n"
	      "                      after ipcctl exits (without it, it goes back at once)\n"
	      "      --type TYPE     ls, watch: only objects of TYPE (queue, list, dict, ns)\n"
	      "      --sort KEY      ls, watch: order by name (ascending), size or rate (descending);\n"
	      "                      default name for ls, rate for watch\n"
	      "      --interval SEC  watch: seconds between refreshes (default 1)\n"
	      "      --count N       watch: stop after N refreshes; monitor: after N events\n"
	      "      --replace       load: delete an existing object of that name first\n"
	      "      --color WHEN    colours: auto (on a terminal, unless NO_COLOR is set),\n"
	      "                      always, never\n"
	      "  -h, --help          this text; ipcctl TYPE --help lists one type's ops\n"
	      "  -V, --version       print the version\n"
	      "      --list-commands every command, one per line (for shell completion)\n"
	      "\nCommands:\n", f);
	help_type(f, PROTO_T_ANY);
	for (int t = PROTO_T_QUEUE; t < PROTO_T_COUNT; t++) {
		fprintf(f, "\n%s ops:\n", proto_type_name((enum proto_type)t));
		help_type(f, (enum proto_type)t);
	}
	fputs("\nWords may be shortened to a unique prefix: ipcctl q get jobs.\n"
	      "A TIMEOUT argument may also be given in its place; --timeout is the same.\n"
	      "\nValues (VALUE, KEY, DEFAULT, ...) are read as JSON, or taken as a plain string\n"
	      "when they are not valid JSON: 42 is a number, '\"42\"' and hello are strings.\n"
	      "NAME, TYPE, ATTR and PATTERN are always plain strings. Binary values are written\n"
	      "{\"$bin\": \"BASE64\"}, extension values {\"$ext\": [TYPE, \"BASE64\"]}, integers\n"
	      "above 2^63-1 {\"$uint\": \"DIGITS\"}, maps with keys that are not all strings\n"
	      "{\"$map\": [[KEY, VALUE], ...]}, both ways.\n"
	      "\nOutput: a string result prints as plain text, nil as nothing, anything else as\n"
	      "indented JSON. With --json every result is one line of JSON (strings quoted,\n"
	      "nil as null).\n"
	      "ls and clients print a table with a header: columns aligned on a terminal\n"
	      "(sizes as 1.5K, 20M), tab-separated with exact numbers when piped; with\n"
	      "--json, the server's list of maps (see PROTOCOL.md). info prints sections\n"
	      "for people, its map with --json. dump prints {\"name\", \"type\", \"options\",\n"
	      "\"items\"} (dict and ns items as [key, value] pairs), which load reads back.\n"
	      "\nExit status:\n"
	      "  0  success\n"
	      "  1  error (the message is on stderr: ipcctl: CODE: message)\n"
	      "  2  usage error, or the server refused the arguments (BADARG, BADNAME)\n"
	      "  3  nothing came in time: EMPTY, FULL, TIMEOUT\n"
	      "  4  not found: NOTFOUND, NOKEY, NOVALUE, INDEX, and exists of a missing name\n"
	      "  5  cannot connect to the daemon\n", f);
}

/* ---- converting arguments ------------------------------------------------ */

/* Word i of an op's usage string ("NAME VALUE [TIMEOUT]"), brackets removed. */
static void arg_label(const char *usage, size_t i, char *out, size_t size)
{
	const char *p = usage;
	for (; i > 0 && p; i--)
		if ((p = strchr(p, ' ')))
			p++;
	if (!p || !*p) {
		snprintf(out, size, "argument");
		return;
	}
	size_t n = 0;
	for (; *p && *p != ' ' && n + 1 < size; p++)
		if (*p != '[' && *p != ']')
			out[n++] = *p;
	out[n] = '\0';
}

/* What a signature letter expects, for messages. */
static const char *arg_expect(char letter)
{
	switch (letter) {
	case 'm': case 'o': return "a JSON object";
	case 'a': return "a JSON array";
	case 'i': return "an integer";
	case 'I': return "an integer or null";
	case 'u': return "a non-negative integer";
	case 'n': return "a number";
	case 't': return "a number of seconds (negative or null: forever)";
	}
	return "a value";
}

/* Pack the timeout as ipcctl means it: seconds, negative = forever. */
static void arg_pack_timeout(msgpack_packer *pk, double secs)
{
	if (secs < 0 || isinf(secs))
		msgpack_pack_nil(pk);
	else
		msgpack_pack_double(pk, secs);
}

/*
 * Pack command-line text as argument i of op (signature letter letter).
 * 0, or EX_USAGE with a message.
 */
static int arg_pack(const struct cmd *cmd, size_t i, char letter, const char *text, msgpack_packer *pk)
{
	if (letter == 'N' || letter == 'S' || letter == 's') {
		msgpack_pack_str_with_body(pk, text, strlen(text));
		return 0;
	}
	struct buf one;
	msgpack_packer opk;
	buf_init(&one);
	msgpack_packer_init(&opk, &one, cli_buf_write);
	char why[JSON_ERROR_SIZE] = "";
	int is_json = json_to_msgpack(text, &opk, why, sizeof(why)) == 0;
	if (!is_json && (letter == 'v' || letter == 'k')) {
		msgpack_pack_str_with_body(pk, text, strlen(text));
		buf_free(&one);
		return 0;
	}
	msgpack_zone zone;
	msgpack_object o = { .type = MSGPACK_OBJECT_NIL };
	size_t off = 0;
	if (!msgpack_zone_init(&zone, 1024))
		cli_oom();
	int parsed = is_json && msgpack_unpack(one.data, one.len, &off, &zone, &o) == MSGPACK_UNPACK_SUCCESS;
	int ok = parsed;
	double secs;
	if (ok && letter == 't' && o.type != MSGPACK_OBJECT_NIL && ipcd_obj_double(&o, &secs) == IPCD_OK) {
		arg_pack_timeout(pk, secs);   /* negative: forever, as for --timeout */
	} else if ((ok = ok && proto_arg_fits(letter, &o))) {
		cli_buf_write(pk->data, buf_head(&one), buf_used(&one));
	}
	msgpack_zone_destroy(&zone);
	buf_free(&one);
	if (ok)
		return 0;
	char label[32], path[64];
	arg_label(cmd->usage, i, label, sizeof(label));
	if (is_json && !parsed)
		return cli_error(EX_USAGE, "%s: %s is nested too deeply", cmd_path(cmd, path, sizeof(path)), label);
	if (!is_json)
		return cli_error(EX_USAGE, "%s: %s must be %s; not valid JSON (%s): %s", cmd_path(cmd, path, sizeof(path)),
		                 label, arg_expect(letter), why, text);
	return cli_error(EX_USAGE, "%s: %s must be %s, not %s", cmd_path(cmd, path, sizeof(path)), label,
	                 arg_expect(letter), text);
}

/* ---- results and exit statuses ------------------------------------------ */

/* The exit status for an ipcd error code. */
static int exit_for(int code)
{
	switch (code) {
	case IPCD_OK:
		return EX_OK;
	case IPCD_EEMPTY: case IPCD_EFULL: case IPCD_ETIMEOUT:
		return EX_EMPTY;
	case IPCD_ENOTFOUND: case IPCD_ENOKEY: case IPCD_ENOVALUE: case IPCD_EINDEX:
		return EX_NOTFOUND;
	case IPCD_EBADARG: case IPCD_EBADNAME:
		return EX_USAGE;
	default:
		return EX_ERROR;
	}
}

const msgpack_object *cli_page(const struct ipcd_result *res, msgpack_object_type want, uint64_t *cursor,
                               const char *what)
{
	const msgpack_object *r = &res->value;
	if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size != 2 || ipcd_obj_uint(&r->via.array.ptr[0], cursor) ||
	    r->via.array.ptr[1].type != want) {
		cli_error(EX_ERROR, "REPLY: %s: unexpected result", what);
		return NULL;
	}
	return &r->via.array.ptr[1];
}

int cli_failed(struct cli *x, int code)
{
	const char *msg = ipcd_errmsg(x->c);
	return cli_error(exit_for(code), "%s: %s", ipcd_errname(code), *msg ? msg : ipcd_strerror(code));
}

void cli_print(const struct cli *x, const msgpack_object *o)
{
	if (x->o.json) {
		json_print(stdout, o, 0);
		putchar('\n');
	} else if (o->type == MSGPACK_OBJECT_STR) {
		if (o->via.str.size)    /* an empty str may have no pointer at all */
			fwrite(o->via.str.ptr, 1, o->via.str.size, stdout);
		putchar('\n');
	} else if (o->type != MSGPACK_OBJECT_NIL) {
		json_print(stdout, o, 1);
		putchar('\n');
	}
}

/* ---- commands ------------------------------------------------------------ */

int cli_connect(struct cli *x)
{
	int rc = ipcd_connect_as(&x->c, x->o.socket, "ipcctl");
	if (!rc)
		return 0;
	const char *msg = ipcd_errmsg(NULL);
	if (rc == IPCD_EIO)
		return cli_error(EX_CONNECT, "%s", msg);
	return cli_error(EX_CONNECT, "%s: %s", ipcd_errname(rc), *msg ? msg : ipcd_strerror(rc));
}

int cmd_usage(const struct cli *x, const char *why)
{
	char path[64];
	fprintf(stderr, "ipcctl: %s\nusage: ipcctl %s %s\n", why, cmd_path(x->cmd, path, sizeof(path)), x->cmd->usage);
	return EX_USAGE;
}

/* Any op: arguments by its signature, one call, the result printed. */
static int cmd_op(struct cli *x, int argc, char **argv)
{
	const struct cmd *cmd = x->cmd;
	const struct proto_op_info *op = cmd->op;
	char letters[32];
	size_t nl = 0;
	for (const char *s = op->sig; *s && nl < sizeof(letters); s++)
		if (*s != '|')
			letters[nl++] = *s;
	const char *t = memchr(letters, 't', nl);
	size_t ti = t ? (size_t)(t - letters) : SIZE_MAX, n = (size_t)argc, total = n;
	if (n > nl)
		return cmd_usage(x, "too many arguments");
	if (n < op->min_args)
		return cmd_usage(x, "missing arguments");
	if (x->o.have_timeout && ti == SIZE_MAX)
		return cmd_usage(x, "this op does not wait: --timeout/--wait do not apply");
	if (x->o.have_timeout && n > ti)
		return cmd_usage(x, "TIMEOUT given both as an argument and as --timeout/--wait");
	if (ti != SIZE_MAX && n <= ti)
		total = ti + 1;    /* ipcctl always sends the timeout: 0 unless told */

	struct buf args;
	msgpack_packer pk;
	buf_init(&args);
	msgpack_packer_init(&pk, &args, cli_buf_write);
	msgpack_pack_array(&pk, (uint32_t)total);
	int st = 0;
	for (size_t i = 0; i < total && !st; i++) {
		msgpack_object nil = { .type = MSGPACK_OBJECT_NIL };
		if (i < n)
			st = arg_pack(cmd, i, letters[i], argv[i], &pk);
		else if (i == ti)
			arg_pack_timeout(&pk, x->o.have_timeout ? x->o.timeout : 0);
		else if (proto_arg_fits(letters[i], &nil))
			msgpack_pack_nil(&pk);
		else
			st = cmd_usage(x, "missing arguments before TIMEOUT");
	}
	if (st) {
		buf_free(&args);
		return st;
	}
	struct ipcd_result res;
	if ((st = cli_connect(x))) {
		buf_free(&args);
		return st;
	}
	int rc = ipcd_call_raw(x->c, op->code, args.data, args.len, &res);
	buf_free(&args);
	if (rc)
		return cli_failed(x, rc);
	cli_print(x, &res.value);
	return EX_OK;
}

/* exists NAME: true/false, exit 0/4. */
static int cmd_exists(struct cli *x, int argc, char **argv)
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
static int cmd_dict_all(struct cli *x, int argc, char **argv)
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

/* The command of op code. */
static const struct cmd *cmd_by_code(unsigned code)
{
	for (size_t i = 0; i < CMD_COUNT; i++)
		if (cmds[i].op && cmds[i].op->code == code)
			return &cmds[i];
	return NULL;
}

/*
 * queue get NAME [TIMEOUT] [--ack [--lease SEC]]: plain, it is queue.get;
 * with --ack it is queue.get_ack, whose result {id, value, deliveries} is
 * printed as JSON.
 */
static int cmd_queue_get(struct cli *x, int argc, char **argv)
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

/* queue pending NAME: one line per delivery (ID PID LEASE DELIVERIES), or the array with --json. */
static int cmd_queue_pending(struct cli *x, int argc, char **argv)
{
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
	for (uint32_t i = 0; i < res.value.via.array.size; i++) {
		const msgpack_object *m = &res.value.via.array.ptr[i];
		uint64_t id = 0, deliveries = 0;
		int64_t pid = 0;
		double lease = -1;
		for (uint32_t k = 0; m->type == MSGPACK_OBJECT_MAP && k < m->via.map.size; k++) {
			const msgpack_object *v = &m->via.map.ptr[k].val;
			const char *p;
			size_t n;
			if (ipcd_obj_str(&m->via.map.ptr[k].key, &p, &n))
				continue;
			if (n == 2 && !memcmp(p, "id", 2))
				ipcd_obj_uint(v, &id);
			else if (n == 3 && !memcmp(p, "pid", 3))
				ipcd_obj_int(v, &pid);
			else if (n == 5 && !memcmp(p, "lease", 5) && v->type != MSGPACK_OBJECT_NIL)
				ipcd_obj_double(v, &lease);
			else if (n == 10 && !memcmp(p, "deliveries", 10))
				ipcd_obj_uint(v, &deliveries);
		}
		if (lease < 0)
			printf("%llu %lld - %llu\n", (unsigned long long)id, (long long)pid, (unsigned long long)deliveries);
		else
			printf("%llu %lld %.3f %llu\n", (unsigned long long)id, (long long)pid, lease,
			       (unsigned long long)deliveries);
	}
	return EX_OK;
}

/* ---- clients and kill-client ---------------------------------------------- */

const msgpack_object *map_get(const msgpack_object *m, const char *key)
{
	size_t kn = strlen(key);
	for (uint32_t i = 0; m && m->type == MSGPACK_OBJECT_MAP && i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == kn && memcmp(k->via.str.ptr, key, kn) == 0)
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

/*
 * clients: every page of the clients op; a table (see table_print), or with
 * --json one array of the server's maps.
 */
static int cmd_clients(struct cli *x, int argc, char **argv)
{
	enum { NCOLS = 10 };
	static const char *const headers[NCOLS] = { "ID", "PID", "UID", "NAME", "COMMAND", "AGE", "OPS", "IN", "OUT",
		                                    "BLOCKED-ON" };
	static const int right[NCOLS] = { 1, 1, 1, 0, 0, 1, 1, 1, 1, 0 };
	if (argc)
		return cmd_usage(x, "too many arguments");
	int st = cli_connect(x);
	if (st)
		return st;
	int human = isatty(STDOUT_FILENO);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	double now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
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
			row[0] = cell_printf("%llu", (unsigned long long)(ipcd_obj_uint(map_get(m, "id"), &u) ? 0 : u));
			row[1] = cell_printf("%lld", (long long)(ipcd_obj_int(map_get(m, "pid"), &k) ? 0 : k));
			row[2] = cell_printf("%lld", (long long)(ipcd_obj_int(map_get(m, "uid"), &k) ? 0 : k));
			row[3] = cell_str(m, "name");
			row[4] = cell_str(m, "comm");
			row[5] = cell_age(ipcd_obj_double(map_get(m, "connected"), &d) ? 0 : now - d);
			row[6] = cell_printf("%llu", (unsigned long long)(ipcd_obj_uint(map_get(m, "ops"), &u) ? 0 : u));
			row[7] = cell_bytes(ipcd_obj_uint(map_get(m, "bytes_in"), &u) ? 0 : u, human);
			row[8] = cell_bytes(ipcd_obj_uint(map_get(m, "bytes_out"), &u) ? 0 : u, human);
			if ((b = map_get(m, "blocked")) && b->type == MSGPACK_OBJECT_MAP) {
				char *op = cell_str(b, "op"), *name = cell_str(b, "name");
				char *age = cell_age((v = map_get(b, "since")) && !ipcd_obj_double(v, &d) ? now - d : 0);
				row[9] = cell_printf("%s %s %s", op, name, age);
				free(op), free(name), free(age);
			} else {
				row[9] = cell_text(NULL, 0);
			}
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
static int cmd_kill_client(struct cli *x, int argc, char **argv)
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

/* ---- main ---------------------------------------------------------------- */

/* True if s is an option word rather than a value such as -1 or -2.5e3. */
static int cli_is_option(const char *s)
{
	if (s[0] != '-' || !s[1])
		return 0;
	char *end;
	errno = 0;
	strtod(s, &end);
	return *end != '\0';
}

/* Seconds from text; 0, or -1 if not a number. */
static int cli_seconds(const char *text, double *out)
{
	char *end;
	errno = 0;
	double d = strtod(text, &end);
	if (!*text || *end || isnan(d))
		return -1;
	*out = d;
	return 0;
}

/*
 * Take the options out of argv wherever they are; the other words stay in
 * order in pos[0..*npos). Returns 0, or an exit status after a message (or
 * after --version).
 */
static int cli_parse(int argc, char **argv, struct cli_opts *o, char **pos, int *npos)
{
	int only_pos = 0;
	*npos = 0;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		if (only_pos || !cli_is_option(a)) {
			pos[(*npos)++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		char *val = NULL, *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
		if (eq)
			*eq = '\0', val = eq + 1;
		static const char *const with_value[] = { "-s", "--socket", "-t", "--timeout", "--lease", "--type",
			                                  "--sort", "--interval", "--count", "--color" };
		int takes = 0;
		for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
			takes |= strcmp(a, with_value[k]) == 0;
		if (takes && !val) {
			if (i + 1 >= argc)
				return cli_error(EX_USAGE, "%s needs a value", a);
			val = argv[++i];
		} else if (!takes && val) {
			return cli_error(EX_USAGE, "%s takes no value", a);
		}
		if (strcmp(a, "-s") == 0 || strcmp(a, "--socket") == 0) {
			o->socket = val;
		} else if (strcmp(a, "-t") == 0 || strcmp(a, "--timeout") == 0) {
			if (cli_seconds(val, &o->timeout))
				return cli_error(EX_USAGE, "--timeout: not a number of seconds: %s", val);
			o->have_timeout = 1;
		} else if (strcmp(a, "-w") == 0 || strcmp(a, "--wait") == 0) {
			o->have_timeout = 1;
			o->timeout = -1;
		} else if (strcmp(a, "--lease") == 0) {
			if (cli_seconds(val, &o->lease) || !(o->lease > 0))
				return cli_error(EX_USAGE, "--lease: not a number of seconds > 0: %s", val);
			o->have_lease = 1;
		} else if (strcmp(a, "--ack") == 0) {
			o->ack = 1;
		} else if (strcmp(a, "--type") == 0) {
			if (cmd_type_named(val) == PROTO_T_ANY)
				return cli_error(EX_USAGE, "--type: not a type (queue, list, dict, ns): %s", val);
			o->type = val;
		} else if (strcmp(a, "--sort") == 0) {
			if (strcmp(val, "name") && strcmp(val, "size") && strcmp(val, "rate"))
				return cli_error(EX_USAGE, "--sort: expected name, size or rate, not %s", val);
			o->sort = val;
		} else if (strcmp(a, "--interval") == 0) {
			if (cli_seconds(val, &o->interval) || !(o->interval > 0) || o->interval > 86400)
				return cli_error(EX_USAGE, "--interval: not a number of seconds > 0: %s", val);
			o->have_interval = 1;
		} else if (strcmp(a, "--count") == 0) {
			char *end;
			errno = 0;
			o->count = strtoull(val, &end, 10);
			if (!*val || *end || *val == '-' || errno || o->count == 0)
				return cli_error(EX_USAGE, "--count: not a number > 0: %s", val);
			o->have_count = 1;
		} else if (strcmp(a, "--replace") == 0) {
			o->replace = 1;
		} else if (strcmp(a, "--color") == 0) {
			if (strcmp(val, "auto") == 0)
				o->color = CLI_COLOR_AUTO;
			else if (strcmp(val, "always") == 0)
				o->color = CLI_COLOR_ALWAYS;
			else if (strcmp(val, "never") == 0)
				o->color = CLI_COLOR_NEVER;
			else
				return cli_error(EX_USAGE, "--color: expected auto, always or never, not %s", val);
		} else if (strcmp(a, "-j") == 0 || strcmp(a, "--json") == 0) {
			o->json = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			o->help = 1;
		} else if (strcmp(a, "--list-commands") == 0) {
			o->list = 1;
		} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			printf("ipcctl %s (protocol %d)\n", IPCD_VERSION, IPCD_PROTOCOL_VERSION);
			exit(EX_OK);
		} else {
			return cli_error(EX_USAGE, "unknown option: %s (see ipcctl --help)", a);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cli x = { .o = { .timeout = 0 } };
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	int npos = 0, st;
	if (!pos)
		return cli_error(EX_ERROR, "out of memory");
	cmd_init();
	color_init(CLI_COLOR_AUTO, 0);
	if ((st = cli_parse(argc, argv, &x.o, pos, &npos)))
		goto out;
	color_init(x.o.color, x.o.json);
	if (x.o.list) {
		help_list(stdout);
		goto out;
	}
	if (npos == 0) {
		if (x.o.help) {
			help_full(stdout);
		} else {
			help_usage(stderr);
			fputs("(ipcctl --help lists the commands)\n", stderr);
			st = EX_USAGE;
		}
		goto out;
	}

	/* COMMAND, or TYPE OP, or help [TYPE] */
	const char *word = NULL;
	const struct cmd *cmd = cmd_find(PROTO_T_ANY, pos[0], &word, &st);
	int used = 1;
	if (!cmd && !st) {
		enum proto_type t = cmd_type_named(word);
		if (t == PROTO_T_ANY) {   /* help [TYPE] */
			if (npos > 1 && (t = cmd_type_named(pos[1])) != PROTO_T_ANY)
				help_type(stdout, t);
			else
				help_full(stdout);
			goto out;
		}
		if (npos < 2) {
			FILE *f = x.o.help ? stdout : stderr;
			fprintf(f, "usage: ipcctl %s OP NAME [ARGS...]\n\n%s ops:\n", word, word);
			help_type(f, t);
			st = x.o.help ? EX_OK : EX_USAGE;
			goto out;
		}
		cmd = cmd_find(t, pos[1], &word, &st);
		used = 2;
	}
	if (!cmd)
		goto out;
	if (x.o.help) {
		help_line(stdout, cmd);
		goto out;
	}

	x.cmd = cmd;
	if ((x.o.ack || x.o.have_lease) && !cmd_is(cmd, IPCD_OP_QUEUE_GET, NULL)) {
		st = cli_error(EX_USAGE, "--ack and --lease apply only to queue get");
		goto out;
	}
	if ((x.o.type || x.o.sort) && !cmd_is(cmd, IPCD_OP_LS, "watch")) {
		st = cli_error(EX_USAGE, "--type and --sort apply only to ls and watch");
		goto out;
	}
	if (x.o.have_interval && !cmd_is(cmd, 0, "watch")) {
		st = cli_error(EX_USAGE, "--interval applies only to watch");
		goto out;
	}
	if (x.o.have_count && !cmd_is(cmd, IPCD_OP_MONITOR, "watch")) {
		st = cli_error(EX_USAGE, "--count applies only to watch and monitor");
		goto out;
	}
	if (x.o.replace && !cmd_is(cmd, 0, "load")) {
		st = cli_error(EX_USAGE, "--replace applies only to load");
		goto out;
	}
	st = cmd->exec(&x, npos - used, pos + used);
out:
	ipcd_close(x.c);
	free(pos);
	if (fflush(stdout) == EOF && !st)
		st = cli_error(EX_ERROR, "writing output: %s", strerror(errno));
	return st;
}
