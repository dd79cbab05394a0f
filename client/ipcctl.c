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
 * (see ipcctl.h). Each command runs as one function returning an exit
 * status; arguments are converted by the op's signature letters
 * (ipcctl_args.c), so a new op in ops.def is a new ipcctl command with its
 * help line and nothing to write here. The options are a table of their own
 * (ipcctl_options.c), which also says which commands each applies to.
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


/* Where ipcctl departs from the op as ops.def describes it. */
static const struct cmd_special {
	unsigned code;
	const char *name, *alias, *usage, *help;
	cmd_exec exec;
	int hidden;
} cmd_specials[] = {
	{ IPCD_OP_HELLO, .hidden = 1 },
	{ IPCD_OP_CANCEL, .hidden = 1 },   /* ends a wait on its own connection: nothing for a one-shot command */
	{ IPCD_OP_CREATE, .help = "create an object (idempotent); prints true, or false if it existed alike. TYPE queue "
	  "takes OPTIONS {maxsize, lease, max_deliveries, dead_letter}; list, dict and ns take none" },
	{ IPCD_OP_QUEUE_PUT, .help = "append VALUE; prints the queue's size after it. OPTIONS {priority, delay} or "
	  "--priority/--delay: the lowest priority is served first" },
	{ IPCD_OP_LS, .usage = "[PATTERN]", .exec = cmd_ls,
	  .help = "objects you may read matching a glob: NAME TYPE SIZE WAITING PENDING RATE MODE OWNER GROUP (all pages)" },
	{ IPCD_OP_INFO, .exec = cmd_info,
	  .help = "the daemon's version, uptime, clients, objects, memory and op counts" },
	{ IPCD_OP_DUMP, .usage = "NAME", .exec = cmd_dump,
	  .help = "the object as JSON: {name, type, options, items} (all pages); load reads it back" },
	{ IPCD_OP_MONITOR, .usage = "", .exec = cmd_monitor,
	  .help = "every request of other connections as it comes: TIME CLIENT PID OP NAME SIZE" },
	{ IPCD_OP_DELETE, .name = "rm", .alias = "delete" },
	{ IPCD_OP_CLIENTS, .usage = "", .exec = cmd_clients,
	  .help = "connections: ID PID UID NAME COMMAND AGE OPS IN OUT BLOCKED-ON HOLDS (all pages)" },
	{ IPCD_OP_KILL_CLIENT, .name = "kill-client", .usage = "ID | pid PID", .exec = cmd_kill_client,
	  .help = "close connection ID, or every connection of process PID; prints how many" },
	{ IPCD_OP_CHMOD, .usage = "NAME MODE", .exec = cmd_chmod,
	  .help = "set NAME's access mode, in octal as for a file: 0640 (r 4, w 2, a 1 for owner, group, other)" },
	{ IPCD_OP_CHOWN, .usage = "NAME OWNER[:GROUP]", .exec = cmd_chown,
	  .help = "give NAME to user OWNER and/or group GROUP (names or numbers; :GROUP alone keeps the owner)" },
	{ IPCD_OP_EXISTS, .exec = cmd_exists, .help = "print true or false; exit status 0 or 4" },
	{ IPCD_OP_DICT_KEYS, .usage = "NAME", .exec = cmd_dict_all, .help = "every key, as an array (all pages)" },
	{ IPCD_OP_DICT_VALUES, .usage = "NAME", .exec = cmd_dict_all, .help = "every value, as an array (all pages)" },
	{ IPCD_OP_DICT_ITEMS, .usage = "NAME", .exec = cmd_dict_all, .help = "every key and value, as a map (all pages)" },
	{ IPCD_OP_QUEUE_GET, .usage = "NAME [TIMEOUT]", .exec = cmd_queue_get,
	  .help = "remove and return the oldest item; --ack: keep it pending until acked, print {id, value, deliveries}" },
	{ IPCD_OP_QUEUE_PENDING, .exec = cmd_queue_pending,
	  .help = "pending deliveries: a table ID PID LEASE-LEFT DELIVERIES (- = no lease)" },
};

/* Commands that are not one op: they run several, or none. */
static const struct cmd cmd_extras[] = {
	{ .name = "watch", .type = PROTO_T_ANY, .usage = "[PATTERN]", .exec = cmd_watch,
	  .help = "like top: the daemon's figures and the objects by rate, every SEC (1) seconds" },
	{ .name = "load", .type = PROTO_T_ANY, .usage = "NAME", .exec = cmd_load,
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

/* The help of an op that may wait, as ipcctl runs it: ipcctl does not wait
 * unless told, so that a script never hangs on an empty queue. */
static char cmd_wait_help[CMD_OPS][320];
const struct cmd *const cli_cmds = cmds;
const size_t cli_ncmds = CMD_COUNT;


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
		if ((op->flags & OPF_BLOCK) && strchr(op->sig, 't')) {
			snprintf(cmd_wait_help[i], sizeof(cmd_wait_help[i]), "%s (waits only with --timeout or --wait; "
			         "else exit status 3 at once)", cmd->help);
			cmd->help = cmd_wait_help[i];
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
		for (int ty = PROTO_T_QUEUE; ty < PROTO_T_COUNT; ty++)
			cand[n] = proto_type_name((enum proto_type)ty), cmd_of[n++] = NULL;
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

const char *cmd_path(const struct cmd *cmd, char *buf, size_t size)
{
	if (cmd->type == PROTO_T_ANY)
		snprintf(buf, size, "%s", cmd->name);
	else
		snprintf(buf, size, "%s %s", proto_type_name(cmd->type), cmd->name);
	return buf;
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

double cli_unix_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
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
	char synopsis[256];
	fprintf(stderr, "ipcctl: %s\nusage: ipcctl %s\n", why, cmd_synopsis(x->cmd, synopsis, sizeof(synopsis)));
	return EX_USAGE;
}

/* The command of op code. */
const struct cmd *cmd_by_code(unsigned code)
{
	for (size_t i = 0; i < CMD_COUNT; i++)
		if (cmds[i].op && cmds[i].op->code == code)
			return &cmds[i];
	return NULL;
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
	/* One command per run: a shared-memory channel would cost a memfd and
	 * a mapping and save nothing. IPCD_SHM=1 still asks for it. */
	setenv("IPCD_SHM", "0", 0);
	struct cli x = { .o = { .timeout = 0 } };
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	int npos = 0, st;
	if (!pos)
		return cli_error(EX_ERROR, "out of memory");
	cmd_init();
	color_init(CLI_COLOR_AUTO, 0);
	if ((st = options_parse(argc, argv, &x.o, pos, &npos)))
		goto out;
	color_init(x.o.color, x.o.json);
	if (x.o.given & 1u << OPT_DESCRIBE) {
		help_describe(stdout);
		goto out;
	}
	if (x.o.given & 1u << OPT_LIST_COMMANDS) {
		help_list(stdout);
		goto out;
	}
	if (npos == 0) {
		if (x.o.given & 1u << OPT_HELP) {
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
		if (t == PROTO_T_ANY) {   /* help [COMMAND | TYPE [OP]] */
			if (npos < 2) {
				help_full(stdout);
				goto out;
			}
			const struct cmd *about = cmd_find(PROTO_T_ANY, pos[1], &word, &st);
			if (!about && !st && (t = cmd_type_named(word)) != PROTO_T_ANY) {
				if (npos < 3) {
					printf("usage: ipcctl %s OP NAME [ARGS...]\n\n%s ops:\n", word, word);
					help_type(stdout, t);
					goto out;
				}
				about = cmd_find(t, pos[2], &word, &st);
			} else if (!about && !st) {
				help_full(stdout);   /* help help */
				goto out;
			}
			if (about)
				help_line(stdout, about);
			goto out;
		}
		if (npos < 2) {
			FILE *f = x.o.given & 1u << OPT_HELP ? stdout : stderr;
			fprintf(f, "usage: ipcctl %s OP NAME [ARGS...]\n\n%s ops:\n", word, word);
			help_type(f, t);
			st = x.o.given & 1u << OPT_HELP ? EX_OK : EX_USAGE;
			goto out;
		}
		cmd = cmd_find(t, pos[1], &word, &st);
		used = 2;
	}
	if (!cmd)
		goto out;
	if (x.o.given & 1u << OPT_HELP) {
		help_line(stdout, cmd);
		goto out;
	}

	x.cmd = cmd;
	if ((st = options_check(&x.o, cmd)))
		goto out;
	st = cmd->exec(&x, npos - used, pos + used);
out:
	ipcd_close(x.c);
	free(pos);
	if (fflush(stdout) == EOF && !st)
		st = cli_error(EX_ERROR, "writing output: %s", strerror(errno));
	return st;
}
