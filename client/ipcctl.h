/*
 * ipcctl.h: what the files of ipcctl share. Not installed.
 *
 *   ipcctl.c         the command table, options, plain ops, clients
 *   ipcctl_table.c   terminal output: table cells and columns, colours,
 *                    the progress bar
 *   ipcctl_watch.c   the live views: ls (long), info, watch, monitor
 *   ipcctl_dump.c    dump and load of one object as a JSON file
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
#include "proto.h"
#include "ipcd.h"

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

/* Options from the command line. */
struct cli_opts {
	const char *socket;        /* NULL: the default rule */
	int json;                  /* machine output */
	int have_timeout;          /* --timeout or --wait given */
	double timeout;            /* seconds; < 0 forever */
	int help;
	int list;                  /* --list-commands */
	int ack;                   /* --ack: queue get in ack mode */
	int have_lease;            /* --lease given */
	double lease;              /* seconds */
	const char *type;          /* --type: ls and watch show only this type */
	const char *sort;          /* --sort name|size|rate; NULL: the command's default */
	int have_interval;         /* --interval given (watch) */
	double interval;           /* seconds between refreshes */
	int have_count;            /* --count given (watch, monitor) */
	uint64_t count;            /* refreshes or events, then exit */
	int replace;               /* --replace: load deletes an existing object first */
	enum cli_color color;      /* --color */
};

struct cmd;

/* What a command runs with. */
struct cli {
	struct cli_opts o;
	ipcd *c;
	const struct cmd *cmd;
};

typedef int (*cmd_exec)(struct cli *x, int argc, char **argv);

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
/* Report a failed call on x->c and return its exit status. */
int cli_failed(struct cli *x, int code);
/* Print a result as the options ask (plain string, indented JSON, --json). */
void cli_print(const struct cli *x, const msgpack_object *o);
/* Connect once the command line is known to be right. 0 or EX_CONNECT. */
int cli_connect(struct cli *x);
/* Usage error for the running command: message, its usage line, EX_USAGE. */
int cmd_usage(const struct cli *x, const char *why);
/* The value of string key in map m, or NULL (also when m is not a map). */
const msgpack_object *map_get(const msgpack_object *m, const char *key);

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

/* ---- ipcctl_watch.c ---------------------------------------------------------- */

int cmd_ls(struct cli *x, int argc, char **argv);
int cmd_info(struct cli *x, int argc, char **argv);
int cmd_watch(struct cli *x, int argc, char **argv);
int cmd_monitor(struct cli *x, int argc, char **argv);

/* ---- ipcctl_dump.c ------------------------------------------------------------ */

int cmd_dump(struct cli *x, int argc, char **argv);
int cmd_load(struct cli *x, int argc, char **argv);

#endif
