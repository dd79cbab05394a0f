/* sockpath.c: where ipcd listens and where clients look for it. */
#include <stdio.h>
#include <stdlib.h>
#include "proto.h"

static const char *env_set(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static int fits(int n, size_t size)
{
	return n >= 0 && (size_t)n < size;
}

char *proto_default_socket(char *buf, size_t size)
{
	const char *env = env_set("IPCD_SOCKET"), *xdg = env_set("XDG_RUNTIME_DIR");
	int n;
	if (env)
		n = snprintf(buf, size, "%s", env);
	else if (xdg)
		n = snprintf(buf, size, "%s/ipcd.sock", xdg);
	else
		n = snprintf(buf, size, "%s", PROTO_SYSTEM_SOCKET);
	return fits(n, size) ? buf : NULL;
}

int proto_client_sockets(char paths[2][PROTO_SOCKET_PATH_MAX])
{
	const char *env = env_set("IPCD_SOCKET"), *xdg = env_set("XDG_RUNTIME_DIR");
	int count = 0;
	if (env)
		return fits(snprintf(paths[0], PROTO_SOCKET_PATH_MAX, "%s", env), PROTO_SOCKET_PATH_MAX);
	/* A logged-in user has XDG_RUNTIME_DIR whether or not a user daemon
	 * runs: the system daemon is the fallback, not hidden by it. */
	if (xdg && !fits(snprintf(paths[count++], PROTO_SOCKET_PATH_MAX, "%s/ipcd.sock", xdg), PROTO_SOCKET_PATH_MAX))
		return 0;
	snprintf(paths[count++], PROTO_SOCKET_PATH_MAX, "%s", PROTO_SYSTEM_SOCKET);
	return count;
}
