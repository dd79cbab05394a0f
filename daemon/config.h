/*
 * config.h: the daemon's settings. Every setting is a named key with a
 * default and a line of help in config.c's table; the config file
 * (conf/ipcd.conf, INI, parsed with libinih) and `-o key=value` both go
 * through config_set, so a key is parsed and checked in exactly one place.
 * A reload builds a whole new struct config and swaps it in only if the file
 * had no error.
 */
#ifndef IPCD_CONFIG_H
#define IPCD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct config {
	char *socket;            /* socket path; NULL = default resolution */
	unsigned socket_mode;    /* permission bits of the socket file */
	char *socket_group;      /* group owning the socket file; NULL = the daemon's */
	int64_t socket_gid;      /* socket_group resolved, -1 = none */
	unsigned default_mode;   /* access mode of an object created without the mode option */
	uint64_t max_frame;      /* largest request frame, bytes */
	uint64_t max_name;       /* longest object name, bytes */
	uint64_t max_depth;      /* deepest nesting of a stored value */
	uint64_t max_array_bytes; /* largest value or array, bytes of elements */
	uint64_t max_arrays;     /* values and arrays at once: each holds a descriptor */
	uint64_t max_clients;    /* simultaneous connections */
	uint64_t max_output;     /* unsent reply bytes per client past which its requests wait; the largest reply */
	uint64_t output_timeout; /* seconds a client over max_output may read nothing before it is dropped */
	uint64_t hello_timeout;  /* seconds from connect to hello before the client is closed */
	uint64_t idle_timeout;   /* seconds a client may send nothing (not waiting) before it is closed; 0 = never */
	uint64_t max_memory;     /* bytes held for clients (values, objects, names, keys); 0 = no limit */
	uint64_t max_objects;    /* objects at once; 0 = no limit */
	uint64_t max_input;      /* input bytes buffered for a client whose requests wait */
	uint64_t max_input_total;/* input bytes buffered for all clients together; 0 = no limit */
	uint64_t queue_maxsize;  /* maxsize of a queue created without one; 0 = unbounded */
	uint64_t monitor_buffer; /* unsent event bytes per monitor before its events are dropped */
	uint64_t busy_poll;      /* microseconds to keep polling after a read before sleeping; 0 = never */
	int shm;                 /* 1: clients may move their frames to shared-memory rings (shm.open) */
	uint64_t shm_ring_size;  /* bytes of each of a channel's two rings (rounded up to a power of two) */
	int log_level;           /* LOG_ERR .. LOG_DEBUG */
	int watchdog;            /* 1: answer systemd's WatchdogSec with WATCHDOG=1 pings */
	uint64_t status_interval; /* seconds between STATUS= updates to systemd; 0 = only at start */
	char *state_dir;         /* where state is persisted; NULL = in memory only */
	int fsync;               /* enum persist_fsync: when the log reaches the disk */
	uint64_t compact_percent; /* log growth past the last snapshot, in %, that starts a compaction */
	uint64_t compact_min;    /* least log bytes before a compaction */
};

/* The live settings, read by every part of the daemon. */
extern struct config config;

/* Set built-in defaults into c (which holds nothing to free). */
void config_defaults(struct config *c);
/* Free c's strings. */
void config_free(struct config *c);
/* Set key to value (text). 0, or -1 with a reason in *why (static). */
int config_set(struct config *c, const char *key, const char *value, const char **why);
/*
 * Read the INI file at path into c: keys in no section or in [ipcd].
 * Every bad line (unknown key or section, bad value, syntax) is passed to
 * report as "path:line: reason". Returns the number of bad lines (0 = the
 * whole file applied), or -1 if the file cannot be read (reported too).
 * On error c holds a partial result: load into a scratch config.
 */
int config_load(struct config *c, const char *path, void (*report)(const char *msg));
/* Rules between keys, once all are set (file and command line): 0, or -1
 * with the reason in why. */
int config_check(const struct config *c, char *why, size_t whylen);
/* The default config file: <sysconfdir>/ipcd/ipcd.conf. */
const char *config_default_path(void);
/* Print every key with its default and help to f (a FILE *). */
void config_print_keys(void *f);

#endif
