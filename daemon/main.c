/*
 * main.c: ipcd's options and config file, the listening socket (its own, or
 * one handed over by systemd socket activation), signals (TERM/INT: stop;
 * HUP: reload the config) and the event loop.
 *
 * Settings come from, last one winning: built-in defaults, the config file
 * (--config PATH, else the default path when it exists), then the command
 * line (-o KEY=VALUE, --socket). A reload repeats exactly that into a new
 * struct config, and swaps it in only if the file had no error.
 *
 * The request path, bottom to top: server.c reads a connection's bytes and
 * takes whole frames (proto/frame.c); dispatch.c decodes each once
 * (proto/decode.c), checks it and calls its op's handler in the type's file
 * (queue.c, list.c, dict.c, ns.c; session_ops.c and client_ops.c for the
 * server's ops); the handler answers through reply.c or parks the request
 * (waiters.c), which is dispatched again through the same handler when its
 * object changes; state.c logs what succeeded; once per loop iteration
 * loop.c commits the log (persist.c) and then writes every reply out.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <event2/event.h>
#include <systemd/sd-daemon.h>
#include "config.h"
#include "dispatch.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "registry.h"
#include "state.h"
#include "server.h"
#include "value.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: ipcd [--config PATH] [--socket PATH] [--recover] [-o KEY=VALUE]...\n"
	        "       ipcd --check-config PATH\n"
	        "Hosts named queues, lists, dicts and namespaces for the processes of this host.\n\n"
	        "  -c, --config PATH        read settings from PATH (default: %s\n"
	        "                           when it exists, else built-in defaults)\n"
	        "      --check-config PATH  check PATH, print each bad line as FILE:LINE: REASON;\n"
	        "                           exit 0 if it is valid, 1 if not\n"
	        "  -s, --socket PATH        listen on PATH (default: the socket key, else $IPCD_SOCKET,\n"
	        "                           else $XDG_RUNTIME_DIR/ipcd.sock, else /run/ipcd/ipcd.sock)\n"
	        "      --recover            start even if the state in state_dir is damaged: keep what\n"
	        "                           is intact and move the damaged files aside\n"
	        "  -o KEY=VALUE             set a config key, over the file (see below)\n"
	        "  -h, --help               this help\n"
	        "  -V, --version            print the version\n\n"
	        "SIGHUP reloads the config file; SIGTERM or SIGINT stops.\n\n"
	        "Config keys:\n", config_default_path());
	config_print_keys(f);
}

/* 1 if something accepts connections on path, 0 if the socket is stale
 * (nobody listens: ECONNREFUSED), -1 if connect() failed otherwise (errno
 * says why): then whether a daemon lives there is unknown, and the socket
 * must not be touched. */
static int socket_is_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	int err = errno;
	close(fd);
	if (r == 0)
		return 1;
	errno = err;
	return err == ECONNREFUSED ? 0 : -1;
}

/* Bind and listen on path; refuses a path a live daemon owns, removes a stale one. */
static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("socket path too long (%zu bytes, at most %zu): %s", strlen(path), sizeof(sa.sun_path) - 1, path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_err("%s exists and is not a socket; not touching it", path);
			return -1;
		}
		int live = socket_is_live(&sa);
		if (live < 0) {
			log_err("cannot tell whether %s is in use (connect: %s); not touching it", path, strerror(errno));
			return -1;
		}
		if (live) {
			log_err("another ipcd is already listening on %s", path);
			return -1;
		}
		log_info("removing stale socket %s", path);
		unlink(path);
	}
	char dir[sizeof(sa.sun_path)];
	strcpy(dir, path);
	if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST) {
		log_err("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("socket: %s", strerror(errno));
		return -1;
	}
	mode_t old = umask(0777 & ~config.socket_mode);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || chmod(path, config.socket_mode) < 0 ||
	    (config.socket_gid >= 0 && chown(path, (uid_t)-1, (gid_t)config.socket_gid) < 0) ||
	    listen(fd, SOMAXCONN) < 0) {
		log_err("cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- settings ----------------------------------------------------------- */

/* The command line's settings, applied over the file at start and at every
 * reload: each -o as key and value, and --socket. */
static struct override {
	const char *key, *value;
} *overrides;
static size_t n_overrides;
static const char *socket_opt;
static const char *config_path;  /* the file in use, NULL = none */
static int config_path_given;    /* --config: the file must exist */
static char *listen_path;        /* the socket file we bound (owned), NULL if systemd's */

static void report_stderr(const char *msg)
{
	fprintf(stderr, "ipcd: %s\n", msg);
}

static void report_log(const char *msg)
{
	log_err("%s", msg);
}

/* Build settings into c: defaults, the file, the command line. 0 or -1
 * (each error reported). */
static int settings_build(struct config *c, void (*report)(const char *))
{
	const char *why;
	config_defaults(c);
	if (config_path && config_load(c, config_path, report) != 0)
		return -1;
	for (size_t i = 0; i < n_overrides; i++)
		if (config_set(c, overrides[i].key, overrides[i].value, &why) < 0) {
			char msg[300];
			snprintf(msg, sizeof(msg), "-o %s: %s", overrides[i].key, why);
			report(msg);
			return -1;
		}
	if (socket_opt) {
		free(c->socket);
		c->socket = strdup(socket_opt);
	}
	char msg[300];
	if (config_check(c, msg, sizeof(msg)) < 0) {
		report(msg);
		return -1;
	}
	return 0;
}

/* Descriptors the daemon holds besides its clients' (stdio, the listener,
 * the spare one for refusing clients, the event loop's, the journal's,
 * systemd's notify socket), with some room. */
#define FDS_BESIDES_CLIENTS 32

/* Give max_clients (and max_arrays, a memfd each) the descriptors they need: raise the soft RLIMIT_NOFILE
 * up to the hard limit, and warn if that is not enough (the clients past
 * it are refused with MAXCLIENTS). */
static void fd_limit_fit(void)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)config.max_clients + (rlim_t)config.max_arrays + FDS_BESIDES_CLIENTS;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		struct rlimit raised = rl;
		raised.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
		if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
			rl = raised;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		log_warn("max_clients is %llu, but RLIMIT_NOFILE allows only %llu descriptors (hard limit %llu): "
		         "about %llu clients can connect, the others get MAXCLIENTS; raise the limit (LimitNOFILE=) "
		         "or lower max_clients", (unsigned long long)config.max_clients,
		         (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
		         rl.rlim_cur > FDS_BESIDES_CLIENTS ? (unsigned long long)(rl.rlim_cur - FDS_BESIDES_CLIENTS) : 0ull);
}

/* Where state is kept: state_dir, else the first directory systemd made
 * for StateDirectory=, else nowhere (NULL: in memory only). */
static const char *state_dir_of_config(void)
{
	static char dir[4096];
	if (config.state_dir)
		return config.state_dir;
	const char *env = getenv("STATE_DIRECTORY");
	if (!env || !*env)
		return NULL;
	size_t n = strcspn(env, ":");
	if (n >= sizeof(dir))
		return NULL;
	memcpy(dir, env, n);
	dir[n] = '\0';
	return dir;
}

/* Make the settings in config live where the code reads copies of them. */
static void settings_apply(void)
{
	value_mem_limit = config.max_memory;
	value_max_depth = (unsigned)config.max_depth;
	fd_limit_fit();
}

static int str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* SIGHUP: read the config again. A bad file changes nothing; a new socket
 * path is logged and ignored; the rest applies at once. */
static void settings_reload(void)
{
	struct config c;
	notify_reloading();
	if (!config_path_given) {
		config_path = config_default_path();
		if (access(config_path, F_OK) != 0)
			config_path = NULL;
	}
	if (settings_build(&c, report_log) < 0) {
		log_err("reload: config %s rejected; the settings in force are kept", config_path);
		config_free(&c);
		notify_reloaded();
		return;
	}
	if (!str_eq(c.socket, config.socket)) {
		log_warn("reload: the socket path cannot change while running (restart ipcd for it); still %s",
		         listen_path ? listen_path : "the socket systemd passed");
		free(c.socket);
		c.socket = config.socket ? strdup(config.socket) : NULL;
	}
	if (c.socket_mode != config.socket_mode || c.socket_gid != config.socket_gid) {
		if (!listen_path) {
			log_warn("reload: socket_mode and socket_group of a socket systemd passed are systemd's; unchanged");
		} else if (chmod(listen_path, c.socket_mode) < 0 ||
		           (c.socket_gid >= 0 && chown(listen_path, (uid_t)-1, (gid_t)c.socket_gid) < 0)) {
			log_warn("reload: cannot change %s's mode or group: %s", listen_path, strerror(errno));
		}
	}
	if (!str_eq(c.state_dir, config.state_dir) || c.fsync != config.fsync ||
	    c.compact_percent != config.compact_percent || c.compact_min != config.compact_min)
		log_warn("reload: state_dir, fsync and compaction settings apply at the next start; unchanged");
	free(c.state_dir);
	c.state_dir = config.state_dir ? strdup(config.state_dir) : NULL;
	c.fsync = config.fsync;
	c.compact_percent = config.compact_percent;
	c.compact_min = config.compact_min;
	config_free(&config);
	config = c;
	settings_apply();
	server_config_path = config_path;
	log_info("config reloaded from %s", config_path ? config_path : "defaults and the command line");
	notify_reloaded();
}

static void on_stop_signal(evutil_socket_t sig, short what, void *base)
{
	log_info("signal %d: stopping", (int)sig);
	loop_stop(base);
}

static void on_reload_signal(evutil_socket_t sig, short what, void *base)
{
	settings_reload();
}

/* --check-config PATH: 0 if valid, 1 if not (each bad line on stderr). */
static int check_config(const char *path)
{
	struct config c;
	config_defaults(&c);
	int r = config_load(&c, path, report_stderr);
	char msg[300];
	if (r == 0 && config_check(&c, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "ipcd: %s: %s\n", path, msg);
		r = 1;
	}
	config_free(&c);
	if (r != 0)
		return 1;
	printf("%s: ok\n", path);
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_RECOVER };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", required_argument, NULL, OPT_CHECK },
		{ "socket", required_argument, NULL, 's' },
		{ "recover", no_argument, NULL, OPT_RECOVER },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	config_defaults(&config);
	log_init();
	const char *why;
	int opt, rc = 1, recover = 0;
	overrides = calloc((size_t)argc, sizeof(*overrides));
	if (!overrides)
		return 1;
	while ((opt = getopt_long(argc, argv, "c:s:o:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			config_path_given = 1;
			break;
		case OPT_CHECK:
			rc = check_config(optarg);
			goto out;
		case 's':
			socket_opt = optarg;
			break;
		case OPT_RECOVER:
			recover = 1;
			break;
		case 'o': {
			char *eq = strchr(optarg, '=');
			if (!eq) {
				fprintf(stderr, "ipcd: -o takes KEY=VALUE, got '%s'\n", optarg);
				rc = 2;
				goto out;
			}
			*eq = '\0';
			if (config_set(&config, optarg, eq + 1, &why) < 0) {
				fprintf(stderr, "ipcd: -o %s: %s\n", optarg, why);
				rc = 2;
				goto out;
			}
			overrides[n_overrides++] = (struct override){ optarg, eq + 1 };
			break;
		}
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		case 'V':
			printf("ipcd %s (protocol %d)\n", IPCD_VERSION, IPCD_PROTOCOL_VERSION);
			rc = 0;
			goto out;
		default:
			usage(stderr);
			rc = 2;
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ipcd: unexpected argument '%s'\n", argv[optind]);
		rc = 2;
		goto out;
	}
	if (!config_path && access(config_default_path(), F_OK) == 0)
		config_path = config_default_path();
	config_free(&config);
	if (settings_build(&config, report_stderr) < 0) {
		fprintf(stderr, "ipcd: not starting: bad config\n");
		goto out;
	}
	settings_apply();

	char pathbuf[4096];
	const char *path = config.socket ? config.socket : proto_default_socket(pathbuf, sizeof(pathbuf));
	int activated = sd_listen_fds(1);
	int fd;
	if (activated > 1) {
		log_err("systemd passed %d sockets; ipcd takes exactly one", activated);
		goto out;
	} else if (activated == 1) {
		fd = SD_LISTEN_FDS_START;
		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
			log_err("the socket systemd passed is not a listening Unix stream socket");
			goto out;
		}
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		path = NULL; /* systemd owns the socket file */
	} else if (!path || (fd = listen_on(path)) < 0) {
		goto out;
	}
	if (path && !(listen_path = strdup(path))) {
		log_err("out of memory");
		goto out;
	}
	/* Activated: the path systemd bound, for info (ours to show, not to unlink). */
	static struct sockaddr_un passed;
	socklen_t passed_len = sizeof(passed) - 1;
	if (!listen_path && getsockname(fd, (struct sockaddr *)&passed, &passed_len) == 0 &&
	    passed_len > offsetof(struct sockaddr_un, sun_path) && passed.sun_path[0])
		server_socket_path = passed.sun_path;
	else
		server_socket_path = listen_path;
	server_config_path = config_path;

	signal(SIGPIPE, SIG_IGN);
	/* A precise clock: libevent's default on Linux is CLOCK_MONOTONIC_COARSE,
	 * up to a tick (4 ms) behind, which made timeouts fire that much early. */
	struct event_config *ecfg = event_config_new();
	if (ecfg)
		event_config_set_flag(ecfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	struct event_base *base = ecfg ? event_base_new_with_config(ecfg) : NULL;
	if (ecfg)
		event_config_free(ecfg);
	if (!base) {
		log_err("cannot create the event loop");
		goto out;
	}
	struct event *ev_term = evsignal_new(base, SIGTERM, on_stop_signal, base);
	struct event *ev_int = evsignal_new(base, SIGINT, on_stop_signal, base);
	struct event *ev_hup = evsignal_new(base, SIGHUP, on_reload_signal, base);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_hup, NULL);

	registry_init();
	server_base = base;
	const char *state_dir = state_dir_of_config();
	if (state_dir) {
		char err[1024];
		if (state_open(state_dir, recover, err, sizeof(err)) < 0) {
			log_err("not starting: state in %s: %s", state_dir, err);
			sd_notifyf(0, "STATUS=not starting: state in %s: %s", state_dir, err);
			goto out;
		}
	}
	if (dispatch_start(base, fd) < 0) {
		log_err("cannot watch the listening socket");
		goto out;
	}
	log_info("ipcd %s listening on %s%s%s", IPCD_VERSION, listen_path ? listen_path : "the socket systemd passed",
	         config_path ? ", config " : "", config_path ? config_path : "");
	notify_ready(base);

	loop_run(base);

	notify_stopping();
	dispatch_stop();
	if (listen_path)
		unlink(listen_path);
	state_close();
	registry_free();
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_base_free(base);
	log_info("stopped");
	rc = 0;
out:
	config_free(&config);
	free(listen_path);
	free(overrides);
	return rc;
}
