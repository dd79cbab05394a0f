/*
 * main.c: ipcd's options, the listening socket (its own, or one handed over
 * by systemd socket activation), readiness, signals and the event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <event2/event.h>
#include <systemd/sd-daemon.h>
#include "config.h"
#include "log.h"
#include "registry.h"
#include "server.h"
#include "value.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: ipcd [--socket PATH] [-o KEY=VALUE]...\n"
	        "Hosts named queues, lists, dicts and namespaces for the processes of this host.\n\n"
	        "  -s, --socket PATH   listen on PATH (default: $IPCD_SOCKET, else\n"
	        "                      $XDG_RUNTIME_DIR/ipcd.sock, else /run/ipcd/ipcd.sock)\n"
	        "  -o KEY=VALUE        set a config key (see below)\n"
	        "  -h, --help          this help\n"
	        "  -V, --version       print the version\n\n"
	        "Config keys:\n");
	config_print_keys(f);
}

/* True if something accepts connections on path. */
static int socket_is_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return live;
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
		if (socket_is_live(&sa)) {
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
	if (r < 0 || chmod(path, config.socket_mode) < 0 || listen(fd, SOMAXCONN) < 0) {
		log_err("cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void on_stop_signal(evutil_socket_t sig, short what, void *base)
{
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(base);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	config_defaults(&config);
	const char *socket_opt = NULL, *why;
	int opt;
	while ((opt = getopt_long(argc, argv, "s:o:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			socket_opt = optarg;
			break;
		case 'o': {
			char *eq = strchr(optarg, '=');
			if (!eq) {
				fprintf(stderr, "ipcd: -o takes KEY=VALUE, got '%s'\n", optarg);
				return 2;
			}
			*eq = '\0';
			if (config_set(&config, optarg, eq + 1, &why) < 0) {
				fprintf(stderr, "ipcd: -o %s: %s\n", optarg, why);
				return 2;
			}
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ipcd %s (protocol %d)\n", IPCD_VERSION, IPCD_PROTOCOL_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ipcd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	value_mem_limit = config.max_memory;
	value_max_depth = (unsigned)config.max_depth;

	char pathbuf[4096];
	const char *path = socket_opt ? socket_opt : config.socket ? config.socket
	                                           : proto_default_socket(pathbuf, sizeof(pathbuf));
	int activated = sd_listen_fds(1);
	int fd;
	if (activated > 0) {
		fd = SD_LISTEN_FDS_START;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		path = NULL; /* systemd owns the socket file */
	} else if (!path || (fd = listen_on(path)) < 0) {
		return 1;
	}

	signal(SIGPIPE, SIG_IGN);
	struct event_base *base = event_base_new();
	if (!base) {
		log_err("cannot create the event loop");
		return 1;
	}
	struct event *ev_term = evsignal_new(base, SIGTERM, on_stop_signal, base);
	struct event *ev_int = evsignal_new(base, SIGINT, on_stop_signal, base);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);

	registry_init();
	if (server_start(base, fd) < 0) {
		log_err("cannot watch the listening socket");
		return 1;
	}
	log_info("ipcd %s listening on %s", IPCD_VERSION, path ? path : "the socket systemd passed");
	sd_notify(0, "READY=1");

	event_base_dispatch(base);

	sd_notify(0, "STOPPING=1");
	server_stop();
	if (path)
		unlink(path);
	registry_free();
	event_free(ev_term);
	event_free(ev_int);
	event_base_free(base);
	free(config.socket);
	log_info("stopped");
	return 0;
}
