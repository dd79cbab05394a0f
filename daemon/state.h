/*
 * state.h: ipcd's state kept on disk (config state_dir), on top of the
 * storage engine (persist.h).
 *
 * What is logged: every request that changed something, as the frame it
 * arrived as, with the time it ran and the session that sent it; a
 * connection that closed holding deliveries; a timer that moved items (a
 * delay that ended, a lease that ran out). The handlers are deterministic
 * given the state and the time, so replaying the log through the same
 * handlers, with the clocks set back to each record's time, rebuilds the
 * state exactly: one place logs every change, and no type writes code of its
 * own for it. A snapshot is the other way round: each type writes its
 * content (object_type.save) and reads it back (object_type.restore).
 *
 * Sessions: a connection is a session id (sid) that is unique across
 * restarts. When the log is replayed, each session gets a stand-in
 * connection that holds what it held; once the log is read they all close,
 * as the real ones did when the daemon went: their deliveries come back at
 * the head of their queues with their counts kept (those with an explicit
 * lease run on to their deadline, as after any disconnect).
 */
#ifndef IPCD_STATE_H
#define IPCD_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <msgpack.h>

struct client;
struct object;
struct request;
struct persist;

/* The open engine, NULL when state is kept in memory only. */
extern struct persist *state_persist;
/* 1 while the log is replayed: nothing is logged, no limit refuses. */
extern int state_replaying;
/* True if requests that change something are logged now. */
static inline int state_logging(void) { return state_persist && !state_replaying; }

/*
 * Open dir and rebuild the state from it (before anyone connects). recover:
 * keep what is intact of damaged files (--recover). 0, or -1 with a message
 * in err.
 */
int state_open(const char *dir, int recover, char *err, size_t errlen);
/* Commit, wait for a running snapshot, close. */
void state_close(void);

/* A request is about to run its handler: 1 if it is a write that may run,
 * 0 if it was refused with PERSIST (the disk is failing). Every write ends
 * with state_request_end, whether it ran or not. */
int state_request_begin(struct request *rq);
/* The handler returned: log the request if it changed something. */
void state_request_end(struct request *rq);
/* The running write rq changes nothing the log holds (it deletes an object
 * that only parked requests kept, which the log never had): not logged,
 * since a replay could not run it again. */
void state_request_unlogged(struct request *rq);
/* rq changed the state and parks without answering yet (a condition wait
 * gave its lock up, a barrier party arrived): log it now. Replayed, its
 * handler must then answer rather than park (sync.h). */
void state_request_changed(struct request *rq);
/* A connection is closing (before what it holds is given back). */
void state_client_gone(struct client *c);
/* A timer is about to move n items of o. */
enum state_timer { STATE_TIMER_DELAY = 1, STATE_TIMER_LEASE = 2 };
void state_timer(enum state_timer what, const struct object *o, uint64_t n);
/* The loop's commit point, before replies are flushed: make this
 * iteration's changes durable as fsync says; if the disk refuses, their
 * replies become PERSIST. */
void state_commit(void);
/* Whether a reply already made may depend on the next state_commit: while
 * one may, no reply is sent before it. */
int state_uncommitted(void);

/* ipcctl save: start a snapshot now. 0, or -1 with *why. */
int state_save_now(const char **why);
/* The persistence section of info: a map. */
void state_pack_info(msgpack_packer *pk);

/* ---- for the types' save and restore ---- */

/* A session's id, for a delivery's consumer; 0 for none. */
uint64_t state_sid(const struct client *c);
/* The stand-in connection of session sid while a snapshot is restored
 * (made on first use); NULL for sid 0 or on ENOMEM. */
struct client *state_session(uint64_t sid, pid_t pid);
/* Monotonic ms as unix ms and back (a snapshot stores unix time). */
int64_t state_unix_ms(uint64_t mono_ms);
uint64_t state_mono_ms(int64_t unix_ms);

/* Snapshot writing: pack one record [STATE_REC_CONTENT, name, ...] with the
 * packer, then end it. -1: stop (the snapshot failed). */
struct state_saver;
msgpack_packer *state_save_begin(struct state_saver *s);
int state_save_end(struct state_saver *s);
/* Begin the content record [STATE_REC_CONTENT, o's name, kind, [n entries]]:
 * the caller packs the n entries, then calls state_save_end. */
msgpack_packer *state_save_content(struct state_saver *s, const struct object *o, unsigned kind, uint32_t n);
/* Records a snapshot holds: a header, then per object its creation and
 * content records. */
enum { STATE_REC_REQUEST = 1, STATE_REC_CLOSE = 2, STATE_REC_TIMER = 3, STATE_REC_SESSION = 4,
       STATE_REC_ACCESS = 5,
       STATE_REC_HEADER = 10, STATE_REC_OBJECT = 11, STATE_REC_CONTENT = 12 };
/* Entries a content record holds at most: a big object is many records. */
#define STATE_CONTENT_CHUNK 1024

#endif
