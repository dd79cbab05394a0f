/* log.c: leveled log lines on stderr, "<level>ipcd: message" so that the
 * journal picks up the priority when stderr is a journal stream. */
#include <stdarg.h>
#include <stdio.h>
#include "log.h"
#include "config.h"

void log_msg(int level, const char *fmt, ...)
{
	if (level > config.log_level)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "<%d>ipcd: %s\n", level, line);
}
