/*
 * log.h: leveled logging (syslog levels), filtered by config.log_level.
 *
 * When stderr is the journal (systemd sets JOURNAL_STREAM to stderr's
 * device:inode), each message goes to the journal with sd_journal_send:
 * PRIORITY, MESSAGE, SYSLOG_IDENTIFIER and the structured fields given to
 * log_ctx (CLIENT_PID, OBJECT, ERRNO). Otherwise it is a plain line on
 * stderr: "ipcd: warning: message".
 *
 * Messages and OBJECT names may hold client bytes: control characters,
 * backslashes and bytes that are not UTF-8 are written as escapes (\n, \t,
 * \r, \\, \xHH), so that one message is one line that cannot be forged.
 *
 * What is logged at which level: client connect/disconnect at debug, a
 * refused request at info, a limit breach at warning, a failure of the
 * daemon itself at error.
 */
#ifndef IPCD_LOG_H
#define IPCD_LOG_H

#include <stddef.h>
#include <sys/types.h>
#include <syslog.h>

/* Decide between journal and plain lines (reads JOURNAL_STREAM). Call once,
 * early; before it, lines are plain. */
void log_init(void);
/* 1 if messages go to the journal. */
int log_to_journal(void);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * log_msg with structured fields for the journal: pid (CLIENT_PID, 0 = none),
 * object name of object_len bytes (OBJECT, NULL = none), err (ERRNO, 0 = none).
 */
void log_ctx(int level, pid_t pid, const char *object, size_t object_len, int err, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

#define log_err(...)    log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
