/*
 * log.c: leveled messages to the journal (with structured fields) when
 * stderr is a journal stream, else plain lines on stderr. See log.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#include "log.h"
#include "config.h"

/* Where sd_journal_send writes (fixed in libsystemd). */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static int to_journal;

static const char *const level_words[] = {
	[LOG_EMERG] = "emergency", [LOG_ALERT] = "alert", [LOG_CRIT] = "critical",
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void log_init(void)
{
	/* JOURNAL_STREAM=<dev>:<ino> of the stream systemd connected to our
	 * stdout/stderr; it only means something if stderr still is that stream. */
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	to_journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
	             (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int log_to_journal(void)
{
	return to_journal;
}

/* Send one message with its fields; -1 if the journal did not take it. */
static int log_journal(int level, pid_t pid, const char *object, size_t object_len, int err, const char *text)
{
	char prio[32], pidf[32], errf[32], *msg, *obj = NULL;
	struct iovec iov[6];
	int n = 0, r;
	/* libsystemd reports success when this socket does not exist ("no
	 * journal": ENOENT is not an error to it); then the message would be
	 * lost, so it goes to stderr instead. A socket nobody reads fails. */
	if (access(JOURNAL_SOCKET, F_OK) != 0)
		return -1;
	if (asprintf(&msg, "MESSAGE=%s", text) < 0)
		return -1;
	snprintf(prio, sizeof(prio), "PRIORITY=%d", level);
	iov[n++] = (struct iovec){ msg, strlen(msg) };
	iov[n++] = (struct iovec){ prio, strlen(prio) };
	iov[n++] = (struct iovec){ "SYSLOG_IDENTIFIER=ipcd", strlen("SYSLOG_IDENTIFIER=ipcd") };
	if (pid > 0) {
		snprintf(pidf, sizeof(pidf), "CLIENT_PID=%d", (int)pid);
		iov[n++] = (struct iovec){ pidf, strlen(pidf) };
	}
	if (object && (obj = malloc(object_len + 8))) {
		/* A field value may hold any bytes: the journal protocol frames
		 * values containing a newline itself. */
		memcpy(obj, "OBJECT=", 7);
		memcpy(obj + 7, object, object_len);
		iov[n++] = (struct iovec){ obj, object_len + 7 };
	}
	if (err) {
		snprintf(errf, sizeof(errf), "ERRNO=%d", err);
		iov[n++] = (struct iovec){ errf, strlen(errf) };
	}
	r = sd_journal_sendv(iov, n);
	free(msg);
	free(obj);
	return r < 0 ? -1 : 0;
}

static void log_vctx(int level, pid_t pid, const char *object, size_t object_len, int err, const char *fmt,
                     va_list ap)
{
	if (level > config.log_level)
		return;
	char text[1024];
	vsnprintf(text, sizeof(text), fmt, ap);
	if (to_journal && log_journal(level, pid, object, object_len, err, text) == 0)
		return;
	fprintf(stderr, "ipcd: %s: %s\n", level_words[level & 7], text);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vctx(level, 0, NULL, 0, 0, fmt, ap);
	va_end(ap);
}

void log_ctx(int level, pid_t pid, const char *object, size_t object_len, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vctx(level, pid, object, object_len, err, fmt, ap);
	va_end(ap);
}
