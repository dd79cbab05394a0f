/*
 * ipcctl.h: what the files of ipcctl share. Not installed.
 *
 *   ipcctl.c           main: the command table, finding a command, results
 *                      and exit statuses
 *   ipcctl_options.c   the option table, parsing it, and every listing made
 *                      from the two tables: --help, --list-commands,
 *                      --describe (what man/ and completion/ read)
 *   ipcctl_args.c      command-line words to msgpack arguments, by the op's
 *                      signature letters
 *   ipcctl_commands.c  the commands that are one op (and its variants):
 *                      plain ops, exists, dict keys/values/items, queue get
 *                      and pending, clients, kill-client
 *   ipcctl_views.c     the operator's views: ls (long), info, watch, monitor
 *   ipcctl_dump.c      dump and load of one object as a JSON file
 *   ipcctl_table.c     terminal output: table cells and columns, colours,
 *                      the progress bar
 *
 * Every command is a cmd_exec returning an exit status (EX_*); messages go
 * to stderr through cli_error, results to stdout.
 */
#ifndef IPCD_IPCCTL_H
#define IPCD_IPCCTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <msgpack.h>
#include "wire.h"
#include "proto.h"
#include "ipcd.h"
#include "buf.h"

/* Exit statuses; the table in the help text says what each means. */
enum {
	EX_OK = 0,
	EX_ERROR = 1,
	EX_USAGE = 2,
	EX_EMPTY = 3,
	EX_NOTFOUND = 4,
	EX_CONNECT = 5,
};

/* --color: when to colour the output. */
enum cli_color { CLI_COLOR_AUTO, CLI_COLOR_ALWAYS, CLI_COLOR_NEVER };

/* Every option, in the order of the option table (ipcctl_options.c). */
enum cli_option_id {
	OPT_SOCKET, OPT_JSON, OPT_TIMEOUT, OPT_WAIT, OPT_ACK, OPT_LEASE, OPT_STRING, OPT_PRIORITY, OPT_DELAY, OPT_TYPE, OPT_SORT, OPT_INTERVAL,
	OPT_COUNT, OPT_REPLACE, OPT_COLOR, OPT_HELP, OPT_VERSION, OPT_LIST_COMMANDS, OPT_DESCRIBE,
	OPT_COUNT_
};

/*
 * One option, as the table holds it: everything that parses it, prints it
 * in --help and --describe, and refuses it where it does not apply (the way
 * tmux's cmd_entry carries its option template).
 */
struct cli_option {
	enum cli_option_id id;
	char short_name;           /* 'j' for -j; 0: none */
	const char *long_name;     /* "json" for --json */
	const char *arg;           /* the value's placeholder ("SEC"); NULL: a flag */
	const char *values;        /* the words the value may be, space-separated; NULL: any */
	/* The commands it applies to ("queue get"), NULL-terminated; NULL: any.
	 * Given to another command it is a usage error. */
	const char *const *commands;
	const char *help;          /* one line of --help, without the commands */
	const char *detail;        /* more for the man page, or NULL */
	int hidden;                /* not in --help nor the man page (--describe) */
};

extern const struct cli_option cli_options[OPT_COUNT_];

/* Options from the command line. */
struct cli_opts {
	unsigned given;            /* 1u << id for each option on the line */
	const char *socket;        /* NULL: the default rule */
	int json;                  /* machine output */
	int have_timeout;          /* --timeout or --wait given */
	double timeout;            /* seconds; < 0 forever */
	int ack;                   /* --ack: queue get in ack mode */
	int have_lease;            /* --lease given */
	double lease;              /* seconds */
	int string;                /* --string: VALUE and KEY words are strings, never JSON */
	int have_priority;         /* --priority given (queue put, put_many) */
	int64_t priority;
	int have_delay;            /* --delay given (queue put, put_many) */
	double delay;              /* seconds */
	const char *type;          /* --type: ls and watch show only this type */
	const char *sort;          /* --sort name|size|rate; NULL: the command's default */
	int have_interval;         /* --interval given (watch) */
	double interval;           /* seconds between refreshes */
	int have_count;            /* --count given (watch, monitor) */
	uint64_t count;            /* refreshes or events, then exit */
	int replace;               /* --replace: load deletes an existing object first */
	enum cli_color color;      /* --color */
};

struct cli;
typedef int (*cmd_exec)(struct cli *x, int argc, char **argv);

/* One command: an op of ops.def as ipcctl presents it, or a command of its own. */
struct cmd {
	const char *name;          /* word after the type, or the top-level word */
	const char *alias;         /* another word for it, or NULL */
	enum proto_type type;      /* PROTO_T_ANY: top-level command */
	const struct proto_op_info *op;   /* NULL: not one op (watch, load) */
	const char *usage;         /* its arguments as ipcctl takes them, options not included */
	const char *help;
	cmd_exec exec;
	int hidden;                /* not a command (hello) */
};

/* The command table (ipcctl.c), complete once main has started. */
extern const struct cmd *const cli_cmds;
extern const size_t cli_ncmds;

/* What a command runs with. */
struct cli {
	struct cli_opts o;
	ipcd *c;
	const struct cmd *cmd;
};

/* ---- ipcctl.c ------------------------------------------------------------- */

/* Print "ipcctl: message" on stderr and return status. */
int cli_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Out of memory ends ipcctl (exit 1). */
void cli_oom(void) __attribute__((noreturn));
/* msgpack_packer callback appending to a struct buf (data); aborts on OOM. */
int cli_buf_write(void *data, const char *p, size_t n);
/* The page of a paged reply [next_cursor, page] whose page has type want,
 * with the next cursor in *cursor; NULL after saying so on stderr (what: the
 * command) if the reply is not one. */
const msgpack_object *cli_page(const struct ipcd_result *res, msgpack_object_type want, uint64_t *cursor,
                               const char *what);
/* The time now, unix seconds. */
double cli_unix_now(void);
/* Report a failed call on x->c and return its exit status. */
int cli_failed(struct cli *x, int code);
/* Print a result as the options ask (plain string, indented JSON, --json). */
void cli_print(const struct cli *x, const msgpack_object *o);
/* Connect once the command line is known to be right. 0 or EX_CONNECT. */
int cli_connect(struct cli *x);
/* Usage error for the running command: message, its usage line, EX_USAGE. */
int cmd_usage(const struct cli *x, const char *why);
/* The words that name cmd ("queue put", "ls") in buf of size bytes. */
const char *cmd_path(const struct cmd *cmd, char *buf, size_t size);
/* The command of op code, or NULL. */
const struct cmd *cmd_by_code(unsigned code);

/* ---- ipcctl_options.c -------------------------------------------------------- */

/*
 * Take the options out of argv[1..argc) wherever they are; the other words
 * stay in order in pos[0..*npos). Returns 0, or an exit status after a
 * message (or after --version).
 */
int options_parse(int argc, char **argv, struct cli_opts *o, char **pos, int *npos);
/* Usage error unless every option given applies to cmd. 0 or EX_USAGE. */
int options_check(const struct cli_opts *o, const struct cmd *cmd);
/* The command's synopsis: its words, its usage and the options that apply
 * to it only ("ls [PATTERN] [--type TYPE] [--sort name|size|rate]"). */
const char *cmd_synopsis(const struct cmd *cmd, char *buf, size_t size);

void help_usage(FILE *f);
/* The full help: usage, options, every command, values, output, exit statuses. */
void help_full(FILE *f);
/* The commands of type t, one help line each. */
void help_type(FILE *f, enum proto_type t);
/* One command's help line. */
void help_line(FILE *f, const struct cmd *cmd);
/* --list-commands: every command's words, one per line. */
void help_list(FILE *f);
/* --describe: the option and command tables as tab-separated lines. */
void help_describe(FILE *f);

/* ---- ipcctl_args.c ----------------------------------------------------------- */

/*
 * The arguments of x->cmd's op from the words argv[0..argc), by its
 * signature: as a msgpack array appended to out. The timeout is always sent
 * (--timeout/--wait, else 0). 0, or EX_USAGE after a message.
 */
int args_pack(const struct cli *x, int argc, char **argv, struct buf *out);

/* ---- ipcctl_commands.c -------------------------------------------------------- */

int cmd_op(struct cli *x, int argc, char **argv);
int cmd_exists(struct cli *x, int argc, char **argv);
int cmd_dict_all(struct cli *x, int argc, char **argv);
int cmd_queue_get(struct cli *x, int argc, char **argv);
int cmd_queue_pending(struct cli *x, int argc, char **argv);
int cmd_clients(struct cli *x, int argc, char **argv);
int cmd_kill_client(struct cli *x, int argc, char **argv);
int cmd_chmod(struct cli *x, int argc, char **argv);
int cmd_chown(struct cli *x, int argc, char **argv);

/* ---- ipcctl_table.c --------------------------------------------------------- */

/* Decide once whether stdout and stderr get colours: --color, NO_COLOR (set
 * and not empty: never), --json (never on stdout), else whether each is a
 * terminal. */
void color_init(enum cli_color mode, int json);
/* True if stdout / stderr get ANSI colours. */
int color_out(void);
int color_err(void);
/* The SGR sequence for a type name's colour ("" for others). */
const char *color_of_type(const char *type);

#define SGR_RESET "\033[0m"
#define SGR_BOLD  "\033[1m"
#define SGR_RED   "\033[31m"

/* Table cells: malloc'd strings (abort on OOM), control characters as '?',
 * "-" for empty. */
char *cell_text(const char *p, size_t n);
char *cell_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A str field of map m ("-" when absent, nil or empty). */
char *cell_str(const msgpack_object *m, const char *key);
/* Seconds as a short duration: 45s, 12m03s, 3h04m, 2d03h. */
char *cell_age(double secs);
/* A byte count: exact, or 1.5K / 20M / 3.0G when human. */
char *cell_bytes(uint64_t n, int human);
/* A number as the protocol sends it: integers exactly, floats with one
 * decimal unless whole; "-" when absent. */
char *cell_number(const msgpack_object *o);

/* Rows of cells under headers, ready to print. */
struct table {
	size_t ncols;              /* at most TABLE_MAX_COLS */
	const char *const *headers;
	const int *right;          /* per column: align to the right (numbers) */
	/* per column, or NULL: the SGR colour of a cell's text, "" for none */
	const char *(*const *tint)(const char *cell);
	char **cells;              /* nrows * ncols, owned */
	size_t nrows, cap;
};
#define TABLE_MAX_COLS 16

/* A table of ncols columns; free it with table_free. */
void table_init(struct table *t, size_t ncols, const char *const *headers, const int *right);
/* The next row's ncols cells, to fill with cell_* strings. */
char **table_row(struct table *t);
/*
 * Print t to f: aligned by spaces (right[] columns to the right; no spaces
 * after the last column) with colours when color, or separated by one tab.
 * At most max_rows rows (0: all).
 */
void table_print(FILE *f, const struct table *t, int aligned, int color, size_t max_rows);
void table_free(struct table *t);

/* A progress bar on stderr while a long dump or load runs: only when stderr
 * is a terminal (and allowed: dump says no when its JSON goes to the same
 * screen), redrawn at most 10 times a second, erased at the end. */
struct progress {
	const char *what;
	uint64_t done, total;
	int64_t drawn_ms;          /* when it was last drawn; -1 never */
	int on;
};
void progress_start(struct progress *p, const char *what, uint64_t total, int allowed);
void progress_add(struct progress *p, uint64_t n);
void progress_end(struct progress *p);

/* ---- ipcctl_views.c ---------------------------------------------------------- */

int cmd_ls(struct cli *x, int argc, char **argv);
int cmd_info(struct cli *x, int argc, char **argv);
int cmd_watch(struct cli *x, int argc, char **argv);
int cmd_monitor(struct cli *x, int argc, char **argv);

/* ---- ipcctl_dump.c ------------------------------------------------------------ */

int cmd_dump(struct cli *x, int argc, char **argv);
int cmd_load(struct cli *x, int argc, char **argv);

#endif
