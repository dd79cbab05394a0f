/*
 * persist.h: the storage engine under ipcd's state: an append-only record log
 * in segment files plus snapshots, with group commit, crash recovery and
 * compaction in a forked child. It knows nothing of the protocol: a record is
 * opaque bytes (the caller's msgpack).
 *
 * Files in the state directory:
 *   log.NNNNNN       a segment: 16-byte header ("IPCDLOG\0", u32 version,
 *                    u32 0), then records
 *   snapshot.NNNNNN  the whole state as records, then an end mark; with the
 *                    segments numbered NNNNNN and later it is the full state
 *   snapshot.tmp     a snapshot being written (removed at open)
 * A record is u32 length, u32 CRC-32C over the length bytes and the payload,
 * then the payload (integers little-endian). A snapshot ends with a record
 * whose length is 0xFFFFFFFF and whose 8-byte payload is the record count, so
 * a cut-off snapshot is told from a complete one.
 *
 * The contract "answered means durable" (fsync=always), for the caller:
 *   1. Before applying a change, ask persist_healthy(). If 0, refuse the
 *      request with PERSIST: nothing was applied, nothing logged.
 *   2. Apply the change in memory, then persist_append() its record (this
 *      never does I/O). Queue the reply as usual, but do not send it yet.
 *   3. Once per loop iteration, before replies are flushed, call
 *      persist_commit(). 0: every record appended since the last commit is
 *      written (and, with fsync=always, on disk): send the replies. -1: none
 *      of them is on disk (the file is cut back to its last good offset).
 *      The records stay buffered in the engine, which writes them again,
 *      before anything newer, when the disk takes writes again; the memory
 *      state therefore stays the state that will be on disk. Answer this
 *      iteration's writes with PERSIST ("applied in memory, not yet durable:
 *      outcome unknown after a crash"); refuse later writes by rule 1.
 * With fsync=everysec a committed record is written to the kernel at once and
 * on disk within about a second (persist_stats' fsync_lag_ms says how far
 * behind); fsync=no leaves flushing to the kernel.
 *
 * Faults: a failed write or fdatasync is logged once per episode (and once
 * more when it ends); while it lasts persist_healthy() is 0 and a retry is
 * made at most every PERSIST_RETRY_MS by persist_commit() or
 * persist_healthy().
 *
 * Not thread-safe: everything is called from the event loop's thread. With
 * fsync=everysec one background thread calls fdatasync on the current
 * segment's fd (and syncs and closes a segment left behind by a rotation).
 */
#ifndef IPCD_PERSIST_H
#define IPCD_PERSIST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum persist_fsync { PERSIST_FSYNC_NO, PERSIST_FSYNC_EVERYSEC, PERSIST_FSYNC_ALWAYS };

/* Largest payload of one record (the frame limit is far below it). */
#define PERSIST_RECORD_MAX (1u << 30)
/* Least time between two tries of a disk that failed. */
#define PERSIST_RETRY_MS 1000

struct persist;
struct persist_writer;

struct persist_ops {
	/* Called for each record at open, in order. Nonzero stops the open
	 * with an error (the caller could not apply the record). */
	int (*replay)(void *ctx, const void *payload, size_t len);
	/* Optional: progress of the open, for sd_notify STATUS. */
	void (*progress)(void *ctx, const char *file, uint64_t bytes_done, uint64_t bytes_total);
	/* Writes the whole state with persist_writer_put. Runs in a forked
	 * child for a background snapshot (so it must not touch the loop, only
	 * read memory), or in the process itself after a --recover. 0 = done. */
	int (*snapshot)(void *ctx, struct persist_writer *w);
	void *ctx;
};

struct persist_options {
	enum persist_fsync fsync;
	/* Compact when the log written since the last snapshot exceeds
	 * compact_percent % of that snapshot's size and compact_min bytes;
	 * compact_percent 0 = never by itself. */
	uint64_t compact_percent;
	uint64_t compact_min;
	/* 1 = keep the intact part of damaged files and move them aside
	 * (--recover) instead of refusing to start. */
	int recover;
	/* Least ms between two tries of a failing disk; 0 = PERSIST_RETRY_MS. */
	uint64_t retry_ms;
};

/* Faults and counts tests can inject or observe; the defaults call the
 * system. Called for every segment write and data sync. */
struct persist_io {
	ssize_t (*write)(int fd, const void *buf, size_t len);
	int (*fdatasync)(int fd);
};
extern struct persist_io persist_io;

struct persist_stats {
	const char *dir;
	enum persist_fsync fsync;
	int healthy;
	int last_errno;            /* 0 = no error since open */
	const char *last_error;    /* what failed, "" = none */
	uint64_t log_bytes;        /* segments written since the last snapshot */
	uint64_t snapshot_bytes;   /* the last snapshot's size */
	int64_t snapshot_time;     /* unix seconds the last snapshot finished, 0 = none */
	uint64_t snapshot_ms;      /* how long it took */
	int snapshot_running;
	uint64_t fsync_lag_ms;     /* age of the oldest write not yet synced */
	uint64_t records_replayed; /* at open */
	uint64_t commits, writes, syncs;
};

/*
 * Open (creating it if needed) the state directory dir: load the newest
 * snapshot, replay the later segments through ops->replay, cut a torn last
 * record off the last segment, and start a new segment. On error returns NULL
 * with a message naming the file and offset in err (errlen bytes), e.g.
 * "dir/log.000003: CRC mismatch at offset 4096 (the log is damaged in the
 * middle; start with --recover to keep what precedes it)".
 */
struct persist *persist_open(const char *dir, const struct persist_options *opt,
                             const struct persist_ops *ops, char *err, size_t errlen);
/* Commit what is buffered (best effort), wait for a running snapshot, stop
 * the sync thread, close. NULL is fine. */
void persist_close(struct persist *p);

/* 1 if a change may be applied now (see the contract above). */
int persist_healthy(struct persist *p);
/* Buffer one record (copied). 0, or -1 with errno: EINVAL (too long), ENOMEM. */
int persist_append(struct persist *p, const void *payload, size_t len);
/* Write every buffered record (one write call), sync by policy. 0, or -1. */
int persist_commit(struct persist *p);
/* Whether appended records wait for persist_commit. */
int persist_staged(const struct persist *p);

/* Start a background snapshot now (ipcctl save). 0, or -1 with errno
 * (EBUSY: one is running; EIO: the disk is failing). */
int persist_snapshot_now(struct persist *p);
/* The fd to watch for readability while a snapshot runs (libevent), -1 when
 * none runs; on readiness call persist_snapshot_poll. */
int persist_snapshot_fd(struct persist *p);
/* Reap a finished snapshot child without blocking: 1 = finished (old files
 * removed if it succeeded), 0 = still running or none. */
int persist_snapshot_poll(struct persist *p);

/* For a snapshot writer: add one record. 0, or -1 (stop writing). */
int persist_writer_put(struct persist_writer *w, const void *payload, size_t len);

void persist_get_stats(struct persist *p, struct persist_stats *st);
/* The number of the segment appended records go to; it changes when a
 * snapshot starts a new one. */
unsigned persist_segment(const struct persist *p);
const char *persist_fsync_name(enum persist_fsync f);

#endif
