/*
 * config.c: settings as a table of named keys. The config file (read with
 * libinih) and the command line's `-o key=value` both go through
 * config_set, so a key is parsed, checked and documented in exactly one
 * place. conf/ipcd.conf documents every key with the why of its default.
 */
#include <errno.h>
#include <stdarg.h>
#include <grp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <ini.h>
#include "config.h"
#include "persist.h"
#include "proto.h"

#ifndef IPCD_SYSCONFDIR
#define IPCD_SYSCONFDIR "/etc"
#endif

struct config config;

enum key_kind { K_STR, K_MODE, K_GROUP, K_SIZE, K_COUNT, K_LEVEL, K_BOOL, K_FSYNC };

struct config_key {
	const char *name;
	enum key_kind kind;
	size_t offset;
	uint64_t min, max;       /* for sizes and counts */
	const char *def;         /* default, as text */
	const char *help;
};

#define OFF(f) offsetof(struct config, f)
static const struct config_key keys[] = {
	{ "socket", K_STR, OFF(socket), 0, 0, "",
	  "socket path; empty = $IPCD_SOCKET, else $XDG_RUNTIME_DIR/ipcd.sock, else /run/ipcd/ipcd.sock" },
	{ "socket_mode", K_MODE, OFF(socket_mode), 0, 0777, "0660",
	  "permission bits of the socket file: who may connect" },
	{ "socket_group", K_GROUP, OFF(socket_group), 0, 0, "",
	  "group (name or number) that owns the socket file; empty = the daemon's group" },
	{ "default_mode", K_MODE, OFF(default_mode), 0, 0777, "0660",
	  "access mode of an object created without a mode option: r, w, a bits for owner, group, other" },
	{ "max_frame", K_SIZE, OFF(max_frame), 64, 1ull << 31, "16M",
	  "largest request frame; bounds the memory one request can take" },
	{ "max_name", K_COUNT, OFF(max_name), 1, 65535, "255",
	  "longest object name in bytes" },
	{ "max_depth", K_COUNT, OFF(max_depth), 1, 30, "24",
	  "deepest nesting of arrays and maps in a stored value (the parser stops at 32 per frame)" },
	{ "max_clients", K_COUNT, OFF(max_clients), 1, 1000000, "1024",
	  "simultaneous connections; one more is refused with MAXCLIENTS" },
	{ "max_output", K_SIZE, OFF(max_output), 4096, UINT64_MAX, "64M",
	  "unsent reply bytes per client past which its further requests wait; a larger reply gets TOOBIG; "
	  "at least max_frame + 1K" },
	{ "max_input", K_SIZE, OFF(max_input), 4096, UINT64_MAX, "16M",
	  "request bytes buffered for a client whose requests wait (one is parked, or its replies are over "
	  "max_output), at most one max_frame; past it ipcd reads no more from it until they run" },
	{ "max_input_total", K_SIZE, OFF(max_input_total), 0, UINT64_MAX, "256M",
	  "request bytes buffered for all clients together (partial frames included); past it the client "
	  "holding the most is closed, logged; 0 = no limit" },
	{ "output_timeout", K_COUNT, OFF(output_timeout), 1, 86400, "30",
	  "seconds a client over max_output may read nothing before it is disconnected" },
	{ "hello_timeout", K_COUNT, OFF(hello_timeout), 1, 3600, "10",
	  "seconds a new connection has to send hello before it is closed" },
	{ "idle_timeout", K_COUNT, OFF(idle_timeout), 0, UINT32_MAX, "0",
	  "seconds a client may send nothing (unless a request of its own waits) before it is closed; 0 = never" },
	{ "max_memory", K_SIZE, OFF(max_memory), 0, UINT64_MAX, "0",
	  "bytes held for clients (values, objects, names, keys and per-item overhead); writes past it "
	  "fail with NOMEM, 0 = no limit" },
	{ "max_array_bytes", K_SIZE, OFF(max_array_bytes), 1, UINT64_MAX, "64M",
	  "bytes of elements one value or array may hold (it is one memfd that clients map); a "
	  "create past it fails with BADARG" },
	{ "max_arrays", K_COUNT, OFF(max_arrays), 0, 1000000, "1024",
	  "values and arrays that may exist at once; each holds a descriptor, counted beside max_clients in "
	  "the RLIMIT_NOFILE ipcd asks for; a create past it fails with NOMEM" },
	{ "max_objects", K_COUNT, OFF(max_objects), 0, UINT64_MAX, "1000000",
	  "objects that may exist at once; creating one more fails with NOMEM, 0 = no limit" },
	{ "queue_maxsize", K_COUNT, OFF(queue_maxsize), 0, UINT64_MAX, "0",
	  "maxsize of a queue created without one; 0 = unbounded" },
	{ "monitor_buffer", K_SIZE, OFF(monitor_buffer), 4096, UINT64_MAX, "1M",
	  "unsent event bytes a monitor may pile up; past it its events are dropped and counted" },
	{ "busy_poll", K_COUNT, OFF(busy_poll), 0, 1000000, "50",
	  "microseconds to keep polling the sockets after a read before sleeping (saves a wakeup per "
	  "request for clients that send again soon; yields the CPU between polls); 0 = never" },
	{ "shm", K_BOOL, OFF(shm), 0, 0, "yes",
	  "yes: a client may move its frames to two rings in shared memory (shm.open), no system call per "
	  "request while busy; no: the socket only" },
	{ "shm_ring_size", K_SIZE, OFF(shm_ring_size), 4096, 64 << 20, "128K",
	  "bytes of each ring of a shared-memory channel (requests, replies; rounded up to a power of two); "
	  "both count toward max_memory while the client is connected; bigger rings fall out of the CPU "
	  "caches with many clients" },
	{ "log_level", K_LEVEL, OFF(log_level), 0, 0, "info",
	  "least severe message logged: error, warning, notice, info or debug" },
	{ "watchdog", K_BOOL, OFF(watchdog), 0, 0, "yes",
	  "yes: ping systemd's watchdog (WatchdogSec) from the event loop; no: never ping" },
	{ "status_interval", K_COUNT, OFF(status_interval), 0, 86400, "5",
	  "seconds between STATUS= updates to systemd (sent only when changed); 0 = none" },
	{ "state_dir", K_STR, OFF(state_dir), 0, 0, "",
	  "directory where every object is persisted (log and snapshots); empty = $STATE_DIRECTORY "
	  "when systemd sets it, else in memory only" },
	{ "fsync", K_FSYNC, OFF(fsync), 0, 0, "everysec",
	  "when a write reaches the disk: always (before it is answered), everysec (within about a "
	  "second), no (when the kernel flushes)" },
	{ "compact_percent", K_COUNT, OFF(compact_percent), 0, 100000, "100",
	  "compact the log into a snapshot when it grew this many % past the last snapshot; 0 = only on save" },
	{ "compact_min", K_SIZE, OFF(compact_min), 0, UINT64_MAX, "64M",
	  "least log size before a compaction starts by itself" },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const level_names[] = {
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/* "16M", "4096", "1G" -> bytes. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* The form a value of kind takes, for the message that refuses one. */
static const char *key_form(enum key_kind kind)
{
	switch (kind) {
	case K_SIZE: return "a byte count, optionally with a k, M or G suffix (1024-based), such as 16M";
	case K_COUNT: return "a whole number, such as 1000";
	case K_MODE: return "an octal file mode, such as 0660";
	case K_LEVEL: return "error, warning, notice, info or debug";
	case K_BOOL: return "yes or no";
	case K_FSYNC: return "no, everysec or always";
	case K_STR: case K_GROUP: break;
	}
	return "a non-empty word";
}

/* "yes"/"no" and friends -> 1/0, or -1. */
static int parse_bool(const char *s)
{
	static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* A group name or number -> gid, or -1. */
static int64_t parse_group(const char *s)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*s >= '0' && *s <= '9' && !*end && !errno && v < (gid_t)-1)
		return (int64_t)v;
	struct group *g = getgrnam(s);
	return g ? (int64_t)g->gr_gid : -1;
}

int config_set(struct config *c, const char *key, const char *value, const char **why)
{
	static char msg[200];
	const struct config_key *k = NULL;
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, key) == 0)
			k = &keys[i];
	if (!k) {
		snprintf(msg, sizeof(msg), "unknown key '%s'", key);
		*why = msg;
		return -1;
	}
	char *field = (char *)c + k->offset;
	uint64_t v;
	char *end;
	switch (k->kind) {
	case K_STR:
		free(*(char **)field);
		*(char **)field = *value ? strdup(value) : NULL;
		return 0;
	case K_GROUP: {
		int64_t gid = *value ? parse_group(value) : -1;
		if (*value && gid < 0) {
			snprintf(msg, sizeof(msg), "no such group '%s' for %s", value, k->name);
			*why = msg;
			return -1;
		}
		free(*(char **)field);
		*(char **)field = *value ? strdup(value) : NULL;
		c->socket_gid = gid;
		return 0;
	}
	case K_MODE:
		errno = 0;
		v = strtoul(value, &end, 8);
		if (*value < '0' || *value > '7' || *end || errno || v > k->max)
			goto bad;
		*(unsigned *)field = (unsigned)v;
		return 0;
	case K_SIZE:
	case K_COUNT:
		if (parse_size(value, &v) < 0 || (k->kind == K_COUNT && strpbrk(value, "kKmMgG")))
			goto bad;
		if (v < k->min || v > k->max) {
			snprintf(msg, sizeof(msg), "%s must be between %llu and %llu", k->name,
			         (unsigned long long)k->min, (unsigned long long)k->max);
			*why = msg;
			return -1;
		}
		*(uint64_t *)field = v;
		return 0;
	case K_LEVEL:
		for (int l = 0; l < (int)(sizeof(level_names) / sizeof(level_names[0])); l++)
			if (level_names[l] && strcasecmp(level_names[l], value) == 0) {
				*(int *)field = l;
				return 0;
			}
		goto bad;
	case K_FSYNC:
		for (int f = PERSIST_FSYNC_NO; f <= PERSIST_FSYNC_ALWAYS; f++)
			if (strcasecmp(persist_fsync_name((enum persist_fsync)f), value) == 0) {
				*(int *)field = f;
				return 0;
			}
		snprintf(msg, sizeof(msg), "bad value '%.80s' for %s (always, everysec or no)", value, k->name);
		*why = msg;
		return -1;
	case K_BOOL: {
		int b = parse_bool(value);
		if (b < 0)
			goto bad;
		*(int *)field = b;
		return 0;
	}
	}
bad:
	snprintf(msg, sizeof(msg), "bad value '%.80s' for %s: expected %s", value, k->name, key_form(k->kind));
	*why = msg;
	return -1;
}

void config_defaults(struct config *c)
{
	const char *why;
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NKEYS; i++)
		if (config_set(c, keys[i].name, keys[i].def, &why) < 0)
			abort(); /* a bad built-in default is a programming error */
}

void config_free(struct config *c)
{
	free(c->socket);
	free(c->socket_group);
	free(c->state_dir);
	c->socket = c->socket_group = c->state_dir = NULL;
}

/* ---- the config file --------------------------------------------------- */

/* Longest line of the file; inih's own buffer (Debian: 200 bytes) is bigger
 * than any line we pass it, because the reader below cuts long lines off. */
#define LINE_MAX_BYTES 190

struct load {
	struct config *c;
	const char *path;
	FILE *f;
	int line;                /* number of the line inih is parsing */
	int errors;
	void (*report)(const char *msg);
};

static void load_error(struct load *l, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void load_error(struct load *l, int line, const char *fmt, ...)
{
	char msg[512], reason[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s:%d: %s", l->path, line, reason);
	l->report(msg);
	l->errors++;
}

/* inih's line reader: fgets that counts lines and refuses over-long ones. */
static char *load_reader(char *str, int num, void *stream)
{
	struct load *l = stream;
	if (num > LINE_MAX_BYTES + 3)
		num = LINE_MAX_BYTES + 3;
	if (!fgets(str, num, l->f))
		return NULL;
	l->line++;
	size_t n = strlen(str);
	if (n > 0 && str[n - 1] != '\n' && !feof(l->f)) {
		int ch;
		while ((ch = fgetc(l->f)) != EOF && ch != '\n')
			;
		load_error(l, l->line, "line longer than %d bytes", LINE_MAX_BYTES);
		str[0] = '\0';       /* inih sees a blank line */
	}
	return str;
}

static int load_handler(void *user, const char *section, const char *name, const char *value)
{
	struct load *l = user;
	const char *why;
	if (*section && strcmp(section, "ipcd") != 0)
		load_error(l, l->line, "unknown section [%s] (keys go in [ipcd] or before any section)", section);
	else if (config_set(l->c, name, value, &why) < 0)
		load_error(l, l->line, "%s", why);
	return 1;                /* go on: report every bad line */
}

int config_load(struct config *c, const char *path, void (*report)(const char *msg))
{
	struct load l = { .c = c, .path = path, .report = report };
	l.f = fopen(path, "re");
	if (!l.f) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s: cannot read: %s", path, strerror(errno));
		report(msg);
		return -1;
	}
	int r = ini_parse_stream(load_reader, &l, load_handler, &l);
	fclose(l.f);
	if (r > 0)               /* the handler never fails: r is inih's first syntax error */
		load_error(&l, r, "syntax error (expected 'key = value' or '[section]')");
	else if (r < 0)
		load_error(&l, l.line, "cannot parse (out of memory)");
	return l.errors;
}

/* Room a reply needs around the largest value a request can carry (the
 * envelope of queue.get_ack's {id, value, deliveries} map, with margin). */
#define REPLY_ENVELOPE 1024

int config_check(const struct config *c, char *why, size_t whylen)
{
	/* A value taken by queue.get or list.pop is answered once: a reply
	 * too big to send would lose it. Every value came in a request frame,
	 * so a max_output that holds a frame and its envelope holds any
	 * single popped value. */
	if (c->max_output < c->max_frame + REPLY_ENVELOPE) {
		snprintf(why, whylen,
		         "max_output (%llu) must be at least max_frame (%llu) + %d, or a popped value "
		         "could be too big to send",
		         (unsigned long long)c->max_output, (unsigned long long)c->max_frame, REPLY_ENVELOPE);
		return -1;
	}
	return 0;
}

const char *config_default_path(void)
{
	return IPCD_SYSCONFDIR "/ipcd/ipcd.conf";
}

void config_print_keys(void *f)
{
	for (size_t i = 0; i < NKEYS; i++)
		fprintf(f, "  %-15s default %-6s %s\n", keys[i].name,
		        *keys[i].def ? keys[i].def : "\"\"", keys[i].help);
}
