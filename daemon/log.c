/*
 * log.c: leveled messages to the journal (with structured fields) when
 * stderr is a journal stream, else plain lines on stderr. Every message
 * and name is escaped here, once, on its way out. See log.h.
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
#include "utf8.h"
#include "config.h"

/* Where sd_journal_send writes (fixed in libsystemd). */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static int to_journal;


/* Append an escape for byte ch to out at *o (cap bytes); 0 if it does not fit. */
static int log_put_escape(char *out, size_t cap, size_t *o, unsigned char ch)
{
	static const char hex[] = "0123456789abcdef";
	char e[4] = { '\\', 'x', hex[ch >> 4], hex[ch & 15] };
	size_t el = 4;
	if (ch == '\n' || ch == '\t' || ch == '\r' || ch == '\\') {
		e[1] = ch == '\n' ? 'n' : ch == '\t' ? 't' : ch == '\r' ? 'r' : '\\';
		el = 2;
	}
	if (*o + el >= cap)
		return 0;
	memcpy(out + *o, e, el);
	*o += el;
	return 1;
}

/*
 * Copy n bytes of s into out (cap bytes, NUL-terminated) so that a log
 * line is one line and says what its bytes were: control characters (C0,
 * DEL, C1), backslashes and bytes that are not UTF-8 become escapes (\n,
 * \t, \r, \\, \xHH). Names and messages come from clients, and a raw
 * newline in them would forge a log line. Returns the length written.
 */
static size_t log_escape(char *out, size_t cap, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, i = 0;
	while (i < n) {
		size_t len = utf8_len(p + i, n - i);
		int c1 = len == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0;   /* U+0080..U+009F */
		if (len == 0 || p[i] < 0x20 || p[i] == 0x7f || p[i] == '\\' || c1) {
			size_t k = c1 ? 2 : 1;
			for (size_t j = 0; j < k; j++)
				if (!log_put_escape(out, cap, &o, p[i + j]))
					goto full;
			i += k;
			continue;
		}
		if (o + len >= cap)
			break;
		memcpy(out + o, s + i, len);
		o += len;
		i += len;
	}
full:
	out[o] = '\0';
	return o;
}

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
	if (object && (obj = malloc(object_len * 4 + 8))) {
		/* The journal would take any bytes, but whoever reads the field
		 * sees it as text: escaped like the message. */
		memcpy(obj, "OBJECT=", 7);
		size_t len = log_escape(obj + 7, object_len * 4 + 1, object, object_len);
		iov[n++] = (struct iovec){ obj, len + 7 };
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
	char raw[1024], text[4 * sizeof(raw)];
	int len = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (len < 0)
		return;
	log_escape(text, sizeof(text), raw, (size_t)len < sizeof(raw) ? (size_t)len : sizeof(raw) - 1);
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
