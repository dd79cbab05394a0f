/*
 * config.c: settings as a table of named keys. Command-line `-o key=value`
 * goes through config_set, and so will the config file, so a key is
 * parsed, checked and documented in exactly one place.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include "config.h"
#include "proto.h"

struct config config;

enum key_kind { K_STR, K_MODE, K_SIZE, K_COUNT, K_LEVEL };

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
	{ "max_frame", K_SIZE, OFF(max_frame), 64, 1ull << 31, "16M",
	  "largest request frame; bounds the memory one request can take" },
	{ "max_name", K_COUNT, OFF(max_name), 1, 65535, "255",
	  "longest object name in bytes" },
	{ "max_depth", K_COUNT, OFF(max_depth), 1, 30, "24",
	  "deepest nesting of arrays and maps in a stored value (the parser stops at 32 per frame)" },
	{ "max_clients", K_COUNT, OFF(max_clients), 1, 1000000, "1024",
	  "simultaneous connections; one more is refused with MAXCLIENTS" },
	{ "max_output", K_SIZE, OFF(max_output), 4096, UINT64_MAX, "64M",
	  "unread reply bytes a client may accumulate before it is disconnected" },
	{ "max_memory", K_SIZE, OFF(max_memory), 0, UINT64_MAX, "0",
	  "bytes of stored values; writes past it fail with NOMEM, 0 = no limit" },
	{ "log_level", K_LEVEL, OFF(log_level), 0, 0, "info",
	  "least severe message logged: error, warning, notice, info or debug" },
};

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
	if (errno || end == s || *s == '-')
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

int config_set(struct config *c, const char *key, const char *value, const char **why)
{
	static char msg[160];
	const struct config_key *k = NULL;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
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
	case K_MODE:
		v = strtoul(value, &end, 8);
		if (*value == '\0' || *end || v > k->max)
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
	}
bad:
	snprintf(msg, sizeof(msg), "bad value '%s' for %s", value, k->name);
	*why = msg;
	return -1;
}

void config_defaults(struct config *c)
{
	const char *why;
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (config_set(c, keys[i].name, keys[i].def, &why) < 0)
			abort(); /* a bad built-in default is a programming error */
}

void config_print_keys(void *f)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		fprintf(f, "  %-12s default %-6s %s\n", keys[i].name,
		        *keys[i].def ? keys[i].def : "\"\"", keys[i].help);
}
