/* sockpath.c: the default socket path rule shared by daemon and clients. */
#include <stdio.h>
#include <stdlib.h>
#include "proto.h"

char *proto_default_socket(char *buf, size_t size)
{
	const char *env = getenv("IPCD_SOCKET");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;
	if (env && *env)
		n = snprintf(buf, size, "%s", env);
	else if (xdg && *xdg)
		n = snprintf(buf, size, "%s/ipcd.sock", xdg);
	else
		n = snprintf(buf, size, "/run/ipcd/ipcd.sock");
	return n < 0 || (size_t)n >= size ? NULL : buf;
}
