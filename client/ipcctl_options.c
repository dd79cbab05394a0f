/*
 * ipcctl_options.c: the option table, and every listing made from it and
 * from the command table.
 *
 * cli_options[] is the one list of ipcctl's options: options_parse reads the
 * command line by it, options_check refuses an option given to a command it
 * does not apply to, --help prints it, and --describe prints it with the
 * command table as tab-separated lines, which man/ipcctl-commands.py turns
 * into ipcctl(1)'s option and command lists, and completion/ipcctl.bash
 * reads to complete options, commands and arguments:
 *
 *   option  SHORT  LONG  ARG  VALUES  COMMANDS  HELP  DETAIL
 *   command WORDS  ALIAS USAGE  SYNOPSIS  HELP
 *
 * SHORT is "-j", LONG "--json", ARG the value's placeholder, VALUES the
 * words the value may be (space-separated), COMMANDS those it applies to
 * (comma-separated); an empty field is "-". No field holds a tab.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proto.h"
#include "ipcd.h"
#include "ipcctl.h"

#define CMDS(...) ((const char *const[]){ __VA_ARGS__, NULL })

const struct cli_option cli_options[OPT_COUNT_] = {
	{ OPT_SOCKET, 's', "socket", "PATH", NULL, NULL,
	  "the daemon's socket (default: $IPCD_SOCKET, else $XDG_RUNTIME_DIR/ipcd.sock then /run/ipcd/ipcd.sock, "
	  "the first that accepts)",
	  "The same rule as ipcd(8) and libipcd(3).", 0 },
	{ OPT_JSON, 'j', "json", NULL, NULL, NULL, "machine output: every result as one line of JSON",
	  "Strings are quoted, nil is null.", 0 },
	{ OPT_TIMEOUT, 't', "timeout", "SEC", NULL, NULL,
	  "how long an op that waits (queue get/put, list blpop, ...) may wait: without it they do not wait at "
	  "all (EMPTY or FULL at once); a negative SEC waits forever",
	  "A TIMEOUT argument may be given in its place.", 0 },
	{ OPT_WAIT, 'w', "wait", NULL, NULL, NULL, "wait forever (same as --timeout -1)", NULL, 0 },
	{ OPT_ACK, 0, "ack", NULL, NULL, CMDS("queue get"),
	  "acknowledged get; the item stays pending until queue ack NAME ID (or nack, or its lease ends)",
	  "Meanwhile it is invisible to other getters; the result is printed as {id, value, deliveries}.", 0 },
	{ OPT_LEASE, 0, "lease", "SEC", NULL, CMDS("queue get"),
	  "with --ack: an explicit lease, so that the item stays pending after ipcctl exits (without it, it goes "
	  "back at once)", NULL, 0 },
	{ OPT_STRING, 0, "string", NULL, NULL, NULL,
	  "take every VALUE and KEY word as a string, even one that reads as JSON",
	  "Without it a word that starts like JSON ({, [, \", a digit, -DIGIT, true, false, null) must be "
	  "valid JSON (else exit status 2, with the position of the error), and any other word is a string.", 0 },
	{ OPT_PRIORITY, 0, "priority", "N", NULL, CMDS("queue put", "queue put_many"),
	  "put with priority N (an integer, default 0): the lowest priority is served first, FIFO within one",
	  "The same as an OPTIONS argument {\"priority\": N}; give one or the other.", 0 },
	{ OPT_DELAY, 0, "delay", "SEC", NULL, CMDS("queue put", "queue put_many"),
	  "put the item(s) where no get sees them for SEC seconds, then at the tail of their priority",
	  "The same as an OPTIONS argument {\"delay\": SEC}; give one or the other.", 0 },
	{ OPT_TYPE, 0, "type", "TYPE", "queue list dict ns value array lock semaphore event condition barrier", CMDS("ls", "watch"),
	  "only objects of TYPE (queue, list, dict, ns, value, array, lock, semaphore, event, condition, barrier)", NULL, 0 },
	{ OPT_SORT, 0, "sort", "KEY", "name size rate", CMDS("ls", "watch"),
	  "order by name (ascending), size or rate (descending); default name for ls, rate for watch",
	  "Ties are ordered by name.", 0 },
	{ OPT_INTERVAL, 0, "interval", "SEC", NULL, CMDS("watch"), "seconds between refreshes (default 1)", NULL,
	  0 },
	{ OPT_COUNT, 0, "count", "N", NULL, CMDS("watch", "monitor"),
	  "stop after N refreshes (watch) or N events (monitor)",
	  "Without it both run until interrupted (Ctrl-C, exit status 0).", 0 },
	{ OPT_REPLACE, 0, "replace", NULL, NULL, CMDS("load"), "delete an existing object of that name first",
	  "Without it load refuses to touch an existing name (exit status 1).", 0 },
	{ OPT_COLOR, 0, "color", "WHEN", "auto always never", NULL,
	  "colours: auto (on a terminal, unless NO_COLOR is set), always, never",
	  "Tables colour their header and type names, error messages their ipcctl: prefix; --json output is "
	  "never coloured.", 0 },
	{ OPT_HELP, 'h', "help", NULL, NULL, NULL, "this text; ipcctl TYPE --help lists one type's ops",
	  "ipcctl COMMAND --help prints one command's help line.", 0 },
	{ OPT_VERSION, 'V', "version", NULL, NULL, NULL, "print the version", "With the protocol version.", 0 },
	{ OPT_LIST_COMMANDS, 0, "list-commands", NULL, NULL, NULL, "every command, one per line", NULL, 0 },
	{ OPT_DESCRIBE, 0, "describe", NULL, NULL, NULL, "the option and command tables, tab-separated", NULL, 1 },
};

/* ---- parsing ---------------------------------------------------------------- */

/* True if s is an option word rather than a value such as -1 or -2.5e3. */
static int options_is_option(const char *s)
{
	if (s[0] != '-' || !s[1])
		return 0;
	char *end;
	errno = 0;
	strtod(s, &end);
	return *end != '\0';
}

/* Seconds from text; 0, or -1 if not a number. */
static int options_seconds(const char *text, double *out)
{
	char *end;
	errno = 0;
	double d = strtod(text, &end);
	if (!*text || *end || isnan(d))
		return -1;
	*out = d;
	return 0;
}

/* The option spelled a ("-j", "--json"), or NULL. */
static const struct cli_option *options_find(const char *a)
{
	for (size_t i = 0; i < OPT_COUNT_; i++) {
		const struct cli_option *opt = &cli_options[i];
		if ((a[1] == opt->short_name && opt->short_name && !a[2]) ||
		    (a[1] == '-' && strcmp(a + 2, opt->long_name) == 0))
			return opt;
	}
	return NULL;
}

/* True if word is one of the space-separated words of list. */
static int options_word_in(const char *word, const char *list)
{
	size_t n = strlen(word);
	for (const char *p = list; *p; p += strcspn(p, " "), p += *p == ' ')
		if (strcspn(p, " ") == n && strncmp(p, word, n) == 0)
			return 1;
	return 0;
}

/* Set what opt (spelled a) means, with its value val. 0 or EX_USAGE. */
static int options_set(const struct cli_option *opt, const char *a, const char *val, struct cli_opts *o)
{
	if (opt->values && !options_word_in(val, opt->values))
		return cli_error(EX_USAGE, "%s: expected one of %s, not %s", a, opt->values, val);
	switch (opt->id) {
	case OPT_SOCKET: o->socket = val; break;
	case OPT_JSON: o->json = 1; break;
	case OPT_TIMEOUT:
		if (options_seconds(val, &o->timeout))
			return cli_error(EX_USAGE, "--timeout: not a number of seconds: %s", val);
		o->have_timeout = 1;
		break;
	case OPT_WAIT: o->have_timeout = 1, o->timeout = -1; break;
	case OPT_ACK: o->ack = 1; break;
	case OPT_LEASE:
		if (options_seconds(val, &o->lease) || !(o->lease > 0))
			return cli_error(EX_USAGE, "--lease: not a number of seconds > 0: %s", val);
		o->have_lease = 1;
		break;
	case OPT_STRING: o->string = 1; break;
	case OPT_PRIORITY: {
		char *end;
		errno = 0;
		long long p = strtoll(val, &end, 10);
		if (!*val || *end || errno)
			return cli_error(EX_USAGE, "--priority: not an integer: %s", val);
		o->priority = p, o->have_priority = 1;
		break;
	}
	case OPT_DELAY:
		if (options_seconds(val, &o->delay) || o->delay < 0 || isinf(o->delay))
			return cli_error(EX_USAGE, "--delay: not a number of seconds >= 0: %s", val);
		o->have_delay = 1;
		break;
	case OPT_TYPE: o->type = val; break;
	case OPT_SORT: o->sort = val; break;
	case OPT_INTERVAL:
		if (options_seconds(val, &o->interval) || !(o->interval > 0) || o->interval > 86400)
			return cli_error(EX_USAGE, "--interval: not a number of seconds > 0: %s", val);
		o->have_interval = 1;
		break;
	case OPT_COUNT: {
		char *end;
		errno = 0;
		o->count = strtoull(val, &end, 10);
		if (!*val || *end || *val == '-' || errno || o->count == 0)
			return cli_error(EX_USAGE, "--count: not a number > 0: %s", val);
		o->have_count = 1;
		break;
	}
	case OPT_REPLACE: o->replace = 1; break;
	case OPT_COLOR:
		o->color = strcmp(val, "always") == 0 ? CLI_COLOR_ALWAYS
		         : strcmp(val, "never") == 0  ? CLI_COLOR_NEVER : CLI_COLOR_AUTO;
		break;
	case OPT_VERSION:
		printf("ipcctl %s (protocol %d)\n", IPCD_VERSION, IPCD_PROTOCOL_VERSION);
		exit(EX_OK);
	case OPT_HELP: case OPT_LIST_COMMANDS: case OPT_DESCRIBE: case OPT_COUNT_:
		break;
	}
	o->given |= 1u << opt->id;
	return 0;
}

int options_parse(int argc, char **argv, struct cli_opts *o, char **pos, int *npos)
{
	int only_pos = 0;
	*npos = 0;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		if (only_pos || !options_is_option(a)) {
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
		const struct cli_option *opt = options_find(a);
		if (!opt)
			return cli_error(EX_USAGE, "unknown option: %s (see ipcctl --help)", a);
		if (opt->arg && !val) {
			if (i + 1 >= argc)
				return cli_error(EX_USAGE, "%s needs a value", a);
			val = argv[++i];
		} else if (!opt->arg && val) {
			return cli_error(EX_USAGE, "%s takes no value", a);
		}
		int st = options_set(opt, a, val, o);
		if (st)
			return st;
	}
	return 0;
}

/* True if opt applies to cmd. */
static int options_apply_to(const struct cli_option *opt, const struct cmd *cmd)
{
	if (!opt->commands)
		return 1;
	char path[64];
	cmd_path(cmd, path, sizeof(path));
	for (const char *const *c = opt->commands; *c; c++)
		if (strcmp(*c, path) == 0)
			return 1;
	return 0;
}

/* The commands opt applies to, joined by sep, into buf. */
static const char *options_commands(const struct cli_option *opt, const char *sep, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	for (const char *const *c = opt->commands; c && *c && n < size; c++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", c == opt->commands ? "" : sep, *c);
	return buf;
}

int options_check(const struct cli_opts *o, const struct cmd *cmd)
{
	for (size_t i = 0; i < OPT_COUNT_; i++) {
		const struct cli_option *opt = &cli_options[i];
		char list[128];
		if ((o->given & 1u << opt->id) && !options_apply_to(opt, cmd))
			return cli_error(EX_USAGE, "--%s applies only to %s", opt->long_name,
			                 options_commands(opt, " and ", list, sizeof(list)));
	}
	return 0;
}

/* ---- listings ---------------------------------------------------------------- */

const char *cmd_synopsis(const struct cmd *cmd, char *buf, size_t size)
{
	char path[64];
	size_t n = (size_t)snprintf(buf, size, "%s", cmd_path(cmd, path, sizeof(path)));
	if (*cmd->usage && n < size)
		n += (size_t)snprintf(buf + n, size - n, " %s", cmd->usage);
	for (size_t i = 0; i < OPT_COUNT_ && n < size; i++) {
		const struct cli_option *opt = &cli_options[i];
		if (!opt->commands || !options_apply_to(opt, cmd))
			continue;
		n += (size_t)snprintf(buf + n, size - n, " [--%s", opt->long_name);
		/* A few values are shown (name|size|rate); many, by the argument's name. */
		if (opt->arg && opt->values && strlen(opt->values) <= 32 && n < size) {
			n += (size_t)snprintf(buf + n, size - n, " ");
			for (const char *p = opt->values; *p && n + 1 < size; p++)
				buf[n++] = *p == ' ' ? '|' : *p;
			buf[n] = '\0';
		} else if (opt->arg && n < size) {
			n += (size_t)snprintf(buf + n, size - n, " %s", opt->arg);
		}
		if (n < size)
			n += (size_t)snprintf(buf + n, size - n, "]");
	}
	return buf;
}

void help_line(FILE *f, const struct cmd *cmd)
{
	char head[256];
	cmd_synopsis(cmd, head, sizeof(head));
	if (strlen(head) < 34)
		fprintf(f, "  %-34s %s\n", head, cmd->help);
	else
		fprintf(f, "  %s\n  %-34s %s\n", head, "", cmd->help);
}

void help_type(FILE *f, enum proto_type t)
{
	for (size_t i = 0; i < cli_ncmds; i++)
		if (!cli_cmds[i].hidden && cli_cmds[i].type == t)
			help_line(f, &cli_cmds[i]);
}

void help_list(FILE *f)
{
	char path[64];
	for (size_t i = 0; i < cli_ncmds; i++) {
		if (cli_cmds[i].hidden)
			continue;
		fprintf(f, "%s\n", cmd_path(&cli_cmds[i], path, sizeof(path)));
		if (cli_cmds[i].alias)
			fprintf(f, "%s\n", cli_cmds[i].alias);
	}
}

void help_usage(FILE *f)
{
	fputs("usage: ipcctl [OPTIONS] COMMAND [ARGS...]\n"
	      "       ipcctl [OPTIONS] TYPE OP NAME [ARGS...]\n", f);
}

/* Print text from column col on, wrapped before column 80, continuation
 * lines indented to col. */
static void help_wrap(FILE *f, const char *text, int col)
{
	int at = col;
	for (const char *p = text; *p;) {
		size_t w = strcspn(p, " ");
		if (at > col && at + 1 + (int)w >= 80) {
			fprintf(f, "\n%*s", col, "");
			at = col;
		} else if (at > col) {
			fputc(' ', f);
			at++;
		}
		fwrite(p, 1, w, f);
		at += (int)w;
		p += w;
		p += strspn(p, " ");
	}
	fputc('\n', f);
}

/* The options section of --help: one entry per option, from the table. */
static void help_options(FILE *f)
{
	for (size_t i = 0; i < OPT_COUNT_; i++) {
		const struct cli_option *opt = &cli_options[i];
		if (opt->hidden)
			continue;
		char head[64], text[512], list[128];
		if (opt->short_name)
			snprintf(head, sizeof(head), "-%c, --%s%s%s", opt->short_name, opt->long_name,
			         opt->arg ? " " : "", opt->arg ? opt->arg : "");
		else
			snprintf(head, sizeof(head), "    --%s%s%s", opt->long_name, opt->arg ? " " : "",
			         opt->arg ? opt->arg : "");
		if (opt->commands)
			snprintf(text, sizeof(text), "%s: %s", options_commands(opt, ", ", list, sizeof(list)), opt->help);
		else
			snprintf(text, sizeof(text), "%s", opt->help);
		fprintf(f, "  %-20s", head);
		if (strlen(head) >= 20)
			fputc(' ', f);
		help_wrap(f, text, 22);
	}
}

void help_full(FILE *f)
{
	help_usage(f);
	fputs("\nTalk to ipcd, the daemon of named queues, lists, dicts and namespaces.\n"
	      "\nOptions (anywhere on the line):\n", f);
	help_options(f);
	fputs("\nCommands:\n", f);
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

/* A --describe field: the text, or "-" when empty. */
static void help_field(FILE *f, const char *text, int last)
{
	fputs(text && *text ? text : "-", f);
	fputc(last ? '\n' : '\t', f);
}

void help_describe(FILE *f)
{
	for (size_t i = 0; i < OPT_COUNT_; i++) {
		const struct cli_option *opt = &cli_options[i];
		if (opt->hidden)
			continue;
		char shrt[3] = { '-', opt->short_name, 0 }, lng[64], list[128];
		snprintf(lng, sizeof(lng), "--%s", opt->long_name);
		help_field(f, "option", 0);
		help_field(f, opt->short_name ? shrt : NULL, 0);
		help_field(f, lng, 0);
		help_field(f, opt->arg, 0);
		help_field(f, opt->values, 0);
		help_field(f, options_commands(opt, ",", list, sizeof(list)), 0);
		help_field(f, opt->help, 0);
		help_field(f, opt->detail, 1);
	}
	for (size_t i = 0; i < cli_ncmds; i++) {
		const struct cmd *cmd = &cli_cmds[i];
		if (cmd->hidden)
			continue;
		char path[64], synopsis[256];
		help_field(f, "command", 0);
		help_field(f, cmd_path(cmd, path, sizeof(path)), 0);
		help_field(f, cmd->alias, 0);
		help_field(f, cmd->usage, 0);
		help_field(f, cmd_synopsis(cmd, synopsis, sizeof(synopsis)), 0);
		help_field(f, cmd->help, 1);
	}
}
