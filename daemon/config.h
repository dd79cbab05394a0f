/*
 * config.h: the daemon's settings. Every limit is a named key with a
 * default here, settable with `-o key=value` (and later the config file);
 * conf/ipcd.conf documents each key.
 */
#ifndef IPCD_CONFIG_H
#define IPCD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct config {
	char *socket;            /* socket path; NULL = default resolution */
	unsigned socket_mode;    /* permission bits of the socket file */
	uint64_t max_frame;      /* largest request frame, bytes */
	uint64_t max_name;       /* longest object name, bytes */
	uint64_t max_depth;      /* deepest nesting of a stored value */
	uint64_t max_clients;    /* simultaneous connections */
	uint64_t max_output;     /* unread reply bytes per client before it is dropped */
	uint64_t max_memory;     /* bytes of stored values; 0 = no limit */
	int log_level;           /* LOG_ERR .. LOG_DEBUG */
};

extern struct config config;

/* Set built-in defaults. */
void config_defaults(struct config *c);
/* Set key to value (text). 0, or -1 with a reason in *why (static). */
int config_set(struct config *c, const char *key, const char *value, const char **why);
/* Print every key with its default and help to f. */
void config_print_keys(void *f);
/* The default socket path: $IPCD_SOCKET, $XDG_RUNTIME_DIR/ipcd.sock, /run/ipcd/ipcd.sock.
 * Shared rule with libipcd: lives in proto/. */

#endif
