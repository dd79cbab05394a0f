/*
 * ipcctl_views.c: the operator's views of a running daemon.
 *
 *   ls [PATTERN] [--type T] [--sort name|size|rate]   one table of objects
 *   info                                              the daemon's figures
 *   watch [PATTERN] [--interval SEC] [--count N]      both, refreshed, like top
 *   monitor [--count N]                               every request, as it comes
 *
 * ls asks for every page with the long option, so that each entry carries
 * the object's size, waiting requests, pending deliveries and rate, and
 * sorts client-side (the daemon pages in creation order). watch and monitor
 * run until Ctrl-C, which ends them with status 0 (and the cursor shown
 * again), or until --count.
 */
#include <grp.h>
#include <pwd.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "json.h"
#include "ipcctl.h"

/* ---- Ctrl-C --------------------------------------------------------------- */

static volatile sig_atomic_t watch_stopped;

static void watch_on_sigint(int sig)
{
	(void)sig;
	watch_stopped = 1;
}

/* SIGINT sets watch_stopped and interrupts sleeps (no SA_RESTART). */
static void watch_catch_sigint(void)
{
	struct sigaction sa = { .sa_handler = watch_on_sigint };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
}

/* Sleep secs, or less if Ctrl-C comes. */
static void watch_sleep(double secs)
{
	struct timespec ts = { .tv_sec = (time_t)secs, .tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9) };
	while (!watch_stopped && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- objects: every page of ls with long entries ----------------------------- */

/* ls's long entries, copied out of the replies (which the next call frees). */
struct objects {
	struct buf mp;             /* the entries' encoding: their strings point into it */
	msgpack_zone zone;
	msgpack_object *v;         /* one map per object */
	size_t n;
};

/* Entries compare by this key (qsort has no context argument). */
static enum { SORT_NAME, SORT_SIZE, SORT_RATE } objects_key;

static void objects_name(const msgpack_object *e, const char **p, size_t *n)
{
	if (ipcd_obj_str(wire_map_get(e, "name"), p, n))
		*p = "", *n = 0;
}

static double objects_num(const msgpack_object *e, const char *key)
{
	double d = 0;
	return ipcd_obj_double(wire_map_get(e, key), &d) ? 0 : d;
}

/* Name ascending; size and rate descending, ties by name. */
static int objects_cmp(const void *a, const void *b)
{
	const msgpack_object *x = a, *y = b;
	if (objects_key != SORT_NAME) {
		const char *key = objects_key == SORT_SIZE ? "size" : "rate";
		double dx = objects_num(x, key), dy = objects_num(y, key);
		if (dx != dy)
			return dx > dy ? -1 : 1;
	}
	const char *px, *py;
	size_t nx, ny;
	objects_name(x, &px, &nx);
	objects_name(y, &py, &ny);
	int c = memcmp(px, py, nx < ny ? nx : ny);
	return c ? c : (nx > ny) - (nx < ny);
}

static void objects_free(struct objects *o)
{
	if (o->v)
		msgpack_zone_destroy(&o->zone);
	free(o->v);
	buf_free(&o->mp);
	*o = (struct objects){ 0 };
}

/*
 * Every object matching pattern (NULL: all) and x->o.type, sorted by sort
 * ("name", "size" or "rate"), into *out (objects_free it). 0 or an exit
 * status after a message.
 */
static int objects_fetch(struct cli *x, const char *pattern, const char *sort, struct objects *out)
{
	*out = (struct objects){ 0 };
	buf_init(&out->mp);
	/* OPTIONS: {"long": true[, "type": T]} */
	struct buf opts, *all = &out->mp;
	msgpack_packer pk;
	buf_init(&opts);
	msgpack_packer_init(&pk, &opts, cli_buf_write);
	msgpack_pack_map(&pk, x->o.type ? 2 : 1);
	msgpack_pack_str_with_body(&pk, "long", 4);
	msgpack_pack_true(&pk);
	if (x->o.type) {
		msgpack_pack_str_with_body(&pk, "type", 4);
		msgpack_pack_str_with_body(&pk, x->o.type, strlen(x->o.type));
	}
	msgpack_packer_init(&pk, all, cli_buf_write);
	uint64_t cursor = 0;
	size_t n = 0;
	int st = 0;
	do {
		struct ipcd_result res;
		int rc = ipcd_call(x->c, IPCD_OP_LS, &res, 4, pattern, cursor, (uint64_t)PROTO_LS_MAX_COUNT,
		                   IPCD_VAL(buf_head(&opts), buf_used(&opts)));
		const msgpack_object *page;
		if (rc) {
			st = cli_failed(x, rc);
			break;
		}
		if (!(page = cli_page(&res, MSGPACK_OBJECT_ARRAY, &cursor, "ls"))) {
			st = EX_ERROR;
			break;
		}
		for (uint32_t i = 0; i < page->via.array.size; i++) {
			if (page->via.array.ptr[i].type != MSGPACK_OBJECT_MAP)
				continue;
			msgpack_pack_object(&pk, page->via.array.ptr[i]);
			n++;
		}
	} while (cursor != 0);
	buf_free(&opts);
	if (st) {
		objects_free(out);
		return st;
	}
	if (!msgpack_zone_init(&out->zone, 4096) || !(out->v = malloc((n ? n : 1) * sizeof(*out->v))))
		cli_oom();
	size_t off = 0;
	for (; out->n < n; out->n++)
		if (msgpack_unpack(buf_head(all), buf_used(all), &off, &out->zone, &out->v[out->n]) < 0)
			cli_oom();     /* our own encoding: only memory can fail */
	objects_key = !sort || strcmp(sort, "name") == 0 ? SORT_NAME
	            : strcmp(sort, "size") == 0 ? SORT_SIZE : SORT_RATE;
	qsort(out->v, out->n, sizeof(*out->v), objects_cmp);
	return 0;
}

/* The TYPE column's colour. */
static const char *objects_tint_type(const char *cell)
{
	return color_of_type(cell);
}

/* An access mode as ls -l shows it: rw-r----- (a for admin in the x place). */
static char *cell_mode(const msgpack_object *m)
{
	if (!m || m->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return cell_printf("-");
	char s[10];
	for (int i = 0; i < 9; i++)
		s[i] = m->via.u64 & (0400u >> i) ? "rwa"[i % 3] : '-';
	s[9] = '\0';
	return cell_printf("%s", s);
}

/* A uid or gid as its name, else its number. */
static char *cell_id(const msgpack_object *m, int is_group)
{
	if (!m || m->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return cell_printf("-");
	const char *name = NULL;
	if (is_group) {
		const struct group *g = getgrgid((gid_t)m->via.u64);
		name = g ? g->gr_name : NULL;
	} else {
		const struct passwd *p = getpwuid((uid_t)m->via.u64);
		name = p ? p->pw_name : NULL;
	}
	return name ? cell_printf("%s", name) : cell_printf("%llu", (unsigned long long)m->via.u64);
}

/* The objects as a table: NAME TYPE SIZE WAITING PENDING RATE, and with
 * access (ls) MODE OWNER GROUP as ls -l shows them. max_rows 0: all. */
static void objects_print_table(const struct objects *o, int aligned, size_t max_rows, int access)
{
	enum { NCOLS = 9 };
	static const char *const headers[NCOLS] = { "NAME", "TYPE", "SIZE", "WAITING", "PENDING", "RATE",
	                                            "MODE", "OWNER", "GROUP" };
	static const int right[NCOLS] = { 0, 0, 1, 1, 1, 1, 0, 0, 0 };
	static const char *(*const tint[NCOLS])(const char *) = { NULL, objects_tint_type };
	struct table t;
	table_init(&t, access ? NCOLS : NCOLS - 3, headers, right);
	t.tint = tint;
	for (size_t i = 0; i < o->n; i++) {
		const msgpack_object *e = &o->v[i];
		char **row = table_row(&t);
		row[0] = cell_str(e, "name");
		row[1] = cell_str(e, "type");
		row[2] = cell_number(wire_map_get(e, "size"));
		row[3] = cell_number(wire_map_get(e, "waiting"));
		row[4] = cell_number(wire_map_get(e, "pending"));
		row[5] = cell_number(wire_map_get(e, "rate"));
		if (access) {
			row[6] = cell_mode(wire_map_get(e, "mode"));
			row[7] = cell_id(wire_map_get(e, "owner"), 0);
			row[8] = cell_id(wire_map_get(e, "group"), 1);
		}
	}
	table_print(stdout, &t, aligned, color_out(), max_rows);
	table_free(&t);
}

/* The objects as one JSON array of ls's maps. */
static void objects_print_json(const struct objects *o)
{
	putchar('[');
	for (size_t i = 0; i < o->n; i++) {
		if (i)
			putchar(',');
		json_print(stdout, &o->v[i], 0);
	}
	putchar(']');
}

/* ls [PATTERN]: a table of every object, or with --json one array of maps. */
int cmd_ls(struct cli *x, int argc, char **argv)
{
	if (argc > 1)
		return cmd_usage(x, "too many arguments");
	struct objects o;
	int st = cli_connect(x);
	if (st || (st = objects_fetch(x, argc ? argv[0] : NULL, x->o.sort, &o)))
		return st;
	if (x->o.json) {
		objects_print_json(&o);
		putchar('\n');
	} else {
		objects_print_table(&o, isatty(STDOUT_FILENO), 0, 1);
	}
	objects_free(&o);
	return EX_OK;
}

/* ---- info ---------------------------------------------------------------------- */

/* A heading of info's output. */
static void info_heading(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void info_heading(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs(color_out() ? SGR_BOLD : "", stdout);
	vprintf(fmt, ap);
	fputs(color_out() ? SGR_RESET "\n" : "\n", stdout);
	va_end(ap);
}

/* "  label     value", value a malloc'd cell (freed here). */
static void info_line(const char *label, char *value)
{
	printf("  %-16s %s\n", label, value);
	free(value);
}

/* A number of map m as a cell. */
static char *info_num(const msgpack_object *m, const char *key)
{
	return cell_number(wire_map_get(m, key));
}

/* Every entry of a map of counters (ops_by_name, errors_by_name), as lines. */
static void info_counters(const msgpack_object *m)
{
	if (!m || m->type != MSGPACK_OBJECT_MAP || !m->via.map.size) {
		printf("  -\n");
		return;
	}
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const char *p;
		size_t n;
		if (ipcd_obj_str(&m->via.map.ptr[i].key, &p, &n))
			continue;
		char *label = cell_text(p, n);
		info_line(label, cell_number(&m->via.map.ptr[i].val));
		free(label);
	}
}

/* A byte count as 1.5K, in a static buffer: for one printf. */
static const char *cell_bytes_tmp(uint64_t n)
{
	static char tmp[32];
	char *c = cell_bytes(n, 1);
	snprintf(tmp, sizeof(tmp), "%s", c);
	free(c);
	return tmp;
}

/* An age as 1m30s, in a static buffer: for one printf. */
static const char *cell_age_tmp(double sec)
{
	static char tmp[32];
	char *c = cell_age(sec);
	snprintf(tmp, sizeof(tmp), "%s", c);
	free(c);
	return tmp;
}

/* info's persistence section. */
static void info_persistence(const msgpack_object *p)
{
	const msgpack_object *on = wire_map_get(p, "enabled");
	info_heading("Persistence");
	if (!on || on->type != MSGPACK_OBJECT_BOOLEAN || !on->via.boolean) {
		info_line("state", cell_printf("in memory only (no state_dir)"));
		return;
	}
	double d = 0;
	uint64_t n = 0;
	const msgpack_object *healthy = wire_map_get(p, "healthy"), *running = wire_map_get(p, "snapshot_running");
	info_line("state dir", cell_str(p, "state_dir"));
	info_line("fsync", cell_str(p, "fsync"));
	ipcd_obj_double(wire_map_get(p, "fsync_lag"), &d);
	info_line("fsync lag", cell_printf("%.3f s", d));
	ipcd_obj_uint(wire_map_get(p, "log_bytes"), &n);
	info_line("log", cell_printf("%s since the last snapshot", cell_bytes_tmp(n)));
	ipcd_obj_uint(wire_map_get(p, "snapshot_bytes"), &n);
	int64_t when = 0;
	ipcd_obj_int(wire_map_get(p, "last_snapshot"), &when);
	ipcd_obj_double(wire_map_get(p, "last_snapshot_seconds"), &d);
	if (when)
		info_line("last snapshot", cell_printf("%s, %s ago, took %.3f s", cell_bytes_tmp(n),
		                                       cell_age_tmp((double)(time(NULL) - when)), d));
	else
		info_line("last snapshot", cell_printf("none"));
	if (running && running->type == MSGPACK_OBJECT_BOOLEAN && running->via.boolean)
		info_line("snapshot", cell_printf("being written"));
	int ok = healthy && healthy->type == MSGPACK_OBJECT_BOOLEAN && healthy->via.boolean;
	char *err = cell_str(p, "last_error");
	info_line("disk", ok ? cell_printf("taking writes%s%s", *err && strcmp(err, "-") ? "; last error: " : "",
	                                   *err && strcmp(err, "-") ? err : "")
	                     : cell_printf("FAILING, writes refused: %s", err));
	free(err);
}

/* info's map for people, in sections. */
static void info_print(const msgpack_object *m)
{
	double d = 0;
	uint64_t used = 0, limit = 0;
	char *version = cell_str(m, "version"), *proto = info_num(m, "protocol");
	info_heading("ipcd %s (protocol %s)", version, proto);
	free(version), free(proto);
	info_line("pid", info_num(m, "pid"));
	info_line("uptime", cell_age(ipcd_obj_double(wire_map_get(m, "uptime"), &d) ? 0 : d));
	info_line("socket", cell_str(m, "socket"));
	info_line("config file", cell_str(m, "config_file"));

	info_heading("Clients");
	info_line("connected", info_num(m, "clients"));
	info_line("since start", info_num(m, "clients_total"));
	info_line("limit", info_num(m, "max_clients"));
	info_line("monitors", info_num(m, "monitors"));
	info_line("monitor events", info_num(m, "monitor_events"));

	info_heading("Objects");
	info_line("total", info_num(m, "objects"));
	const msgpack_object *by_type = wire_map_get(m, "objects_by_type");
	if (by_type && by_type->type == MSGPACK_OBJECT_MAP)
		info_counters(by_type);

	info_heading("Memory");
	ipcd_obj_uint(wire_map_get(m, "memory"), &used);
	ipcd_obj_uint(wire_map_get(m, "max_memory"), &limit);
	char *u = used < 1024 ? cell_printf("%llu bytes", (unsigned long long)used)
	                      : cell_printf("%s (%llu bytes)", cell_bytes_tmp(used), (unsigned long long)used);
	char *l = cell_bytes(limit, 1);
	if (limit)
		info_line("used", cell_printf("%s of %s (%.1f%%)", u, l, 100.0 * (double)used / (double)limit));
	else
		info_line("used", cell_printf("%s, no limit", u));
	free(u), free(l);

	info_persistence(wire_map_get(m, "persistence"));

	info_heading("Ops");
	info_line("per second", info_num(m, "ops_per_sec"));
	info_line("total", info_num(m, "ops"));
	info_line("errors", info_num(m, "errors"));
	info_heading("Ops by name");
	info_counters(wire_map_get(m, "ops_by_name"));
	info_heading("Errors by code");
	info_counters(wire_map_get(m, "errors_by_name"));
}

/* Connect and call op, which takes no arguments (nor does the command):
 * EX_OK with its reply in *res, or the exit status of what went wrong. */
static int call_without_args(struct cli *x, int argc, unsigned op, struct ipcd_result *res)
{
	if (argc)
		return cmd_usage(x, "too many arguments");
	int st = cli_connect(x);
	if (st)
		return st;
	int rc = ipcd_call(x->c, op, res, 0);
	return rc ? cli_failed(x, rc) : EX_OK;
}

/* info: sections for people, or with --json the daemon's map on one line. */
int cmd_info(struct cli *x, int argc, char **argv)
{
	(void)argv;
	struct ipcd_result res;
	int st = call_without_args(x, argc, IPCD_OP_INFO, &res);
	if (st)
		return st;
	if (res.value.type != MSGPACK_OBJECT_MAP)
		return cli_error(EX_ERROR, "REPLY: info: unexpected result");
	if (x->o.json)
		cli_print(x, &res.value);
	else
		info_print(&res.value);
	return EX_OK;
}

/* ---- watch ---------------------------------------------------------------------- */

/* Rows of the terminal (24 if unknown). */
static size_t watch_rows(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		return ws.ws_row;
	return 24;
}

/* One snapshot: the header line and the table, or one JSON line. */
static void watch_print(const struct cli *x, const msgpack_object *info, const struct objects *o, int tty, uint64_t n)
{
	if (x->o.json) {
		fputs("{\"info\":", stdout);
		json_print(stdout, info, 0);
		fputs(",\"objects\":", stdout);
		objects_print_json(o);
		fputs("}\n", stdout);
		return;
	}
	if (tty)
		fputs("\033[H\033[2J", stdout);     /* home, clear the screen */
	else if (n)
		putchar('\n');
	double uptime = 0;
	uint64_t used = 0, limit = 0;
	ipcd_obj_double(wire_map_get(info, "uptime"), &uptime);
	ipcd_obj_uint(wire_map_get(info, "memory"), &used);
	ipcd_obj_uint(wire_map_get(info, "max_memory"), &limit);
	char *version = cell_str(info, "version"), *up = cell_age(uptime);
	char *clients = cell_number(wire_map_get(info, "clients")), *objs = cell_number(wire_map_get(info, "objects"));
	char *rate = cell_number(wire_map_get(info, "ops_per_sec")), *mem = cell_bytes(used, 1);
	char *lim = limit ? cell_bytes(limit, 1) : cell_text("no limit", 8);
	int bold = tty && color_out();
	printf("%sipcd %s%s  up %s  clients %s  objects %s  ops/s %s  memory %s / %s\n\n", bold ? SGR_BOLD : "", version,
	       bold ? SGR_RESET : "", up, clients, objs, rate, mem, lim);
	free(version), free(up), free(clients), free(rate), free(mem), free(lim), free(objs);
	objects_print_table(o, tty, tty ? (watch_rows() > 4 ? watch_rows() - 4 : 1) : 0, 0);
}

/* watch [PATTERN]: info and ls --sort rate, every --interval seconds. */
int cmd_watch(struct cli *x, int argc, char **argv)
{
	if (argc > 1)
		return cmd_usage(x, "too many arguments");
	int st = cli_connect(x);
	if (st)
		return st;
	int tty = !x->o.json && isatty(STDOUT_FILENO);
	watch_catch_sigint();
	if (tty)
		fputs("\033[?25l", stdout);     /* hide the cursor while redrawing */
	for (uint64_t n = 0; !watch_stopped; n++) {
		struct ipcd_result res;
		int rc = ipcd_call(x->c, IPCD_OP_INFO, &res, 0);
		if (rc) {
			st = cli_failed(x, rc);
			break;
		}
		/* the info map, copied out of the reply before ls replaces it */
		msgpack_zone zone;
		msgpack_object info;
		size_t off = 0;
		char *copy = malloc(res.len ? res.len : 1);
		if (!copy || !msgpack_zone_init(&zone, 4096))
			cli_oom();
		memcpy(copy, res.mp, res.len);
		if (msgpack_unpack(copy, res.len, &off, &zone, &info) < 0 || info.type != MSGPACK_OBJECT_MAP) {
			st = cli_error(EX_ERROR, "REPLY: info: unexpected result");
		} else {
			struct objects o;
			if (!(st = objects_fetch(x, argc ? argv[0] : NULL, x->o.sort ? x->o.sort : "rate", &o))) {
				watch_print(x, &info, &o, tty, n);
				objects_free(&o);
			}
		}
		msgpack_zone_destroy(&zone);
		free(copy);
		fflush(stdout);
		if (st || (x->o.have_count && n + 1 >= x->o.count))
			break;
		watch_sleep(x->o.have_interval ? x->o.interval : 1.0);
	}
	if (tty)
		fputs("\033[?25h", stdout);     /* the cursor back */
	return st;
}

/* ---- monitor ---------------------------------------------------------------------- */

/* One event as a line: TIME CLIENT PID OP NAME SIZE. */
static void monitor_print(const msgpack_object *e)
{
	uint64_t dropped = 0;
	if (!ipcd_obj_uint(wire_map_get(e, "dropped"), &dropped) && dropped)
		printf("(%llu events dropped)\n", (unsigned long long)dropped);
	double t = 0;
	ipcd_obj_double(wire_map_get(e, "time"), &t);
	time_t secs = (time_t)t;
	struct tm tm;
	char hms[16] = "--:--:--";
	if (localtime_r(&secs, &tm))
		strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
	int ms = (int)((t - (double)secs) * 1000);
	char *client = cell_number(wire_map_get(e, "client")), *pid = cell_number(wire_map_get(e, "pid"));
	char *op = cell_str(e, "op"), *name = cell_str(e, "name"), *size = cell_number(wire_map_get(e, "size"));
	printf("%s.%03d  client %s  pid %s  %s  %s  %s bytes\n", hms, ms < 0 ? 0 : ms > 999 ? 999 : ms, client, pid,
	       op, name, size);
	free(client), free(pid), free(op), free(name), free(size);
}

/* monitor: every request of other connections, one line (or JSON) each. */
int cmd_monitor(struct cli *x, int argc, char **argv)
{
	(void)argv;
	struct ipcd_result res;
	int rc, st = call_without_args(x, argc, IPCD_OP_MONITOR, &res);
	if (st)
		return st;
	watch_catch_sigint();
	for (uint64_t n = 0; !watch_stopped && !(x->o.have_count && n >= x->o.count);) {
		/* Wake up now and then to see Ctrl-C: ipcd_next is not interrupted. */
		rc = ipcd_next(x->c, 0.2, &res);
		if (rc == IPCD_ETIMEOUT)
			continue;
		if (rc == IPCD_ESHUTDOWN || rc == IPCD_EIO) {
			/* The daemon stopped (a restart): attach to the next one,
			 * which libipcd waits for within its reconnect timeout. */
			rc = ipcd_call(x->c, IPCD_OP_MONITOR, &res, 0);
			if (rc)
				return cli_failed(x, rc);
			fprintf(stderr, "ipcctl: monitor: the daemon restarted; watching the new one\n");
			continue;
		}
		if (rc)
			return cli_failed(x, rc);
		if (x->o.json) {
			json_print(stdout, &res.value, 0);
			putchar('\n');
		} else if (res.value.type == MSGPACK_OBJECT_MAP) {
			monitor_print(&res.value);
		}
		fflush(stdout);
		n++;
	}
	return EX_OK;
}
