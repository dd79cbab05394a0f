/*
 * state.c: the daemon's state on disk (see state.h): what is logged, how the
 * log is replayed, snapshots written and read, and what a failing disk does
 * to the replies of the writes it could not take.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>
#include <systemd/sd-daemon.h>
#include "state.h"
#include "shared_array.h"
#include "access.h"
#include "clock.h"
#include "config.h"
#include "dispatch.h"
#include "log.h"
#include "object.h"
#include "omap.h"
#include "persist.h"
#include "registry.h"
#include "reply.h"
#include "server.h"
#include "value.h"

struct persist *state_persist;
int state_replaying;
int64_t clock_shift_us;

/* Sessions: sid = sid_base + connection number; sid_base is past every sid
 * the state on disk names. */
static uint64_t sid_base;
static uint64_t sid_seen;
/* The stand-ins of the sessions named on disk, while the state is read:
 * sid (8 bytes) -> struct client *. */
static struct omap sessions;

/* A write whose record waits for its handler to say whether it changed
 * anything. Retries run inside a handler, so these nest (shallowly). */
struct staged {
	struct request *rq;
	uint64_t ok_before;    /* reply_ok_count when it began */
	int appended;
	int unlogged;          /* state_request_unlogged */
};
#define STAGED_MAX 8
static struct staged staged[STAGED_MAX];
static int nstaged;

/* The success replies of this iteration's logged writes, to turn into
 * PERSIST errors if the commit fails. */
struct sent {
	struct client *c;
	size_t pos, len;       /* in c->out, from its off */
	uint64_t id;
};
static struct sent *sent;
static size_t nsent, capsent;

static struct event *snapshot_ev;
static msgpack_sbuffer recbuf;
static msgpack_packer recpk;

/* ---- records ------------------------------------------------------------- */

static int64_t now_unix_us(void)
{
	return (int64_t)(clock_unix() * 1e6);
}

/*
 * Record times (unix microseconds) cost 1 to 3 bytes, not 9: a record
 * carries the difference from the record before it, except the first in a
 * segment the process writes to, and one a second at least, which carry the
 * time itself. A reader tells them apart by size (TIME_IS_ABSOLUTE): no
 * difference between two records comes near a unix time.
 */
#define TIME_ABSOLUTE_MIN ((int64_t)1 << 40)      /* about 12.7 days in us; unix times are far above */
#define TIME_ABSOLUTE_EVERY_US 1000000
static inline int time_is_absolute(int64_t t) { return t >= TIME_ABSOLUTE_MIN || t <= -TIME_ABSOLUTE_MIN; }

static int64_t time_last_us, time_absolute_us;   /* of the last record written, of its last absolute time */
static unsigned time_segment;                    /* where the last record went; 0 = none yet */

static void pack_time(msgpack_packer *pk)
{
	int64_t now = now_unix_us();
	unsigned seg = persist_segment(state_persist);
	int64_t d = now - time_last_us;
	if (seg != time_segment || now - time_absolute_us >= TIME_ABSOLUTE_EVERY_US || time_is_absolute(d) ||
	    now - time_absolute_us < 0) {
		msgpack_pack_int64(pk, now);
		time_absolute_us = now;
		time_segment = seg;
	} else {
		msgpack_pack_int64(pk, d);
	}
	time_last_us = now;
}

static msgpack_packer *rec_begin(void)
{
	recbuf.size = 0;
	return &recpk;
}

/* Append the packed record; a failure to buffer it is a failing disk as
 * far as the writer is concerned: the next commit reports it. */
static void rec_end(void)
{
	if (persist_append(state_persist, recbuf.data, recbuf.size) < 0)
		log_err("state: cannot buffer a log record: %s", strerror(errno));
}

/* A session's pid, uid and gid go into the log once, before its first
 * request, rather than with every request. */
static void pack_session(msgpack_packer *pk, const struct client *c)
{
	msgpack_pack_array(pk, 5);
	msgpack_pack_uint32(pk, STATE_REC_SESSION);
	msgpack_pack_uint64(pk, state_sid(c));
	msgpack_pack_int64(pk, c->pid);
	msgpack_pack_uint32(pk, c->uid);   /* owner of what it creates */
	msgpack_pack_uint32(pk, c->gid);
}

static void session_known(struct client *c)
{
	if (c->state_known)
		return;
	pack_session(rec_begin(), c);
	rec_end();
	c->state_known = 1;
}

/* rq's write stores an object made for another connection's waiting
 * request (provisional): that connection's uid owns it, while a replay,
 * which has no such request, would make rq's the owner. The object's
 * access goes into the log after rq. */
static void log_access_if_not_writers(const struct request *rq)
{
	const struct object *o = rq->obj;
	if (!o || !o->provisional || !(rq->op->flags & OPF_WRITE) || o->owner == rq->client->uid)
		return;
	msgpack_packer *pk = rec_begin();
	msgpack_pack_array(pk, 5);
	msgpack_pack_uint32(pk, STATE_REC_ACCESS);
	pack_str(pk, o->name, o->name_len);
	msgpack_pack_uint32(pk, o->owner);
	msgpack_pack_uint32(pk, o->group);
	msgpack_pack_uint32(pk, o->mode);
	rec_end();
}

/* Log what is staged and not yet logged, outermost first: something nested
 * is about to change the state, so each of them already has. */
static void staged_flush(void)
{
	for (int i = 0; i < nstaged; i++) {
		struct staged *s = &staged[i];
		if (s->appended || s->unlogged)
			continue;
		struct request *rq = s->rq;
		session_known(rq->client);
		msgpack_packer *pk = rec_begin();
		msgpack_pack_array(pk, 4);
		msgpack_pack_uint32(pk, STATE_REC_REQUEST);
		msgpack_pack_uint64(pk, state_sid(rq->client));
		pack_time(pk);
		msgpack_pack_bin(pk, rq->frame_len);
		msgpack_pack_bin_body(pk, rq->frame, rq->frame_len);
		rec_end();
		s->appended = 1;
		log_access_if_not_writers(rq);
	}
}

/* reply.c's hook: a success reply while a logged write runs. */
static void note_sent(struct client *c, size_t pos, size_t len, uint64_t id)
{
	if (!nstaged)
		return;
	if (nsent == capsent) {
		size_t cap = capsent ? capsent * 2 : 64;
		struct sent *g = realloc(sent, cap * sizeof(*g));
		if (!g)
			return;   /* such a reply then goes out as it is */
		sent = g;
		capsent = cap;
	}
	sent[nsent++] = (struct sent){ c, pos, len, id };
}

int state_request_begin(struct request *rq)
{
	if (!state_persist || state_replaying || !(rq->op->flags & OPF_WRITE) || rq->op->code == IPCD_OP_KILL_CLIENT)
		return 1;
	if (!persist_healthy(state_persist)) {
		struct persist_stats st;
		persist_get_stats(state_persist, &st);
		reply_error(&rq->reply, IPCD_EPERSIST, "the state directory %s cannot take writes (%s: %s): writes are "
		            "refused until it can, reads go on", st.dir, st.last_error, strerror(st.last_errno));
		return 0;
	}
	staged_flush();
	if (nstaged == STAGED_MAX) {   /* cannot happen: retries do not nest deeper */
		reply_error(&rq->reply, IPCD_EINTERNAL, "writes nested too deep");
		return 0;
	}
	staged[nstaged++] = (struct staged){ rq, reply_ok_count, 0, 0 };
	return 1;
}

void state_request_unlogged(struct request *rq)
{
	if (nstaged && staged[nstaged - 1].rq == rq)
		staged[nstaged - 1].unlogged = 1;
}

void state_request_end(struct request *rq)
{
	if (!nstaged || staged[nstaged - 1].rq != rq)
		return;
	struct staged *s = &staged[nstaged - 1];
	if (!s->appended && reply_ok_count != s->ok_before)
		staged_flush();
	nstaged--;
}

void state_request_changed(struct request *rq)
{
	if (nstaged && staged[nstaged - 1].rq == rq)
		staged_flush();
}

void state_client_gone(struct client *c)
{
	for (size_t i = 0; i < nsent; i++)
		if (sent[i].c == c)
			sent[i].c = NULL;
	if (!state_persist || state_replaying || !LIST_FIRST(&c->holds))
		return;
	staged_flush();
	msgpack_packer *pk = rec_begin();
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint32(pk, STATE_REC_CLOSE);
	msgpack_pack_uint64(pk, state_sid(c));
	pack_time(pk);
	rec_end();
}

void state_timer(enum state_timer what, const struct object *o, uint64_t n)
{
	if (!state_persist || state_replaying || !n)
		return;
	staged_flush();
	msgpack_packer *pk = rec_begin();
	msgpack_pack_array(pk, 5);
	msgpack_pack_uint32(pk, STATE_REC_TIMER);
	msgpack_pack_uint32(pk, what);
	pack_time(pk);
	pack_str(pk, o->name, o->name_len);
	msgpack_pack_uint64(pk, n);   /* how many: the clocks of a replay are not exact */
	rec_end();
}

/* ---- commit -------------------------------------------------------------- */

/* The commit failed: each reply of this iteration's writes becomes PERSIST
 * (the change is in memory and will reach the disk when it takes writes
 * again, but a crash before that loses it). Later replies first, so that
 * the positions of earlier ones hold. */
static void replies_to_persist(void)
{
	for (size_t i = nsent; i-- > 0;) {
		struct sent *s = &sent[i];
		struct client *c = s->c;
		if (!c || c->out.off + s->pos + s->len > c->out.len)
			continue;
		size_t tail_len = c->out.len - (c->out.off + s->pos + s->len);
		char *tail = tail_len ? malloc(tail_len) : NULL;
		if (tail_len && !tail) {
			c->closing = 2;   /* cannot rewrite it: the client must not see it succeed */
			continue;
		}
		if (tail_len)
			memcpy(tail, c->out.data + c->out.off + s->pos + s->len, tail_len);
		c->out.len = c->out.off + s->pos;
		struct reply r;
		reply_init(&r, c, s->id);
		reply_error(&r, IPCD_EPERSIST,
		            "applied in memory but the disk refused to store it: its outcome after a crash is unknown");
		if (tail_len && buf_append(&c->out, tail, tail_len) < 0)
			c->closing = 2;
		free(tail);
	}
}

static void on_snapshot_done(evutil_socket_t fd, short what, void *arg)
{
	if (persist_snapshot_poll(state_persist)) {
		event_free(snapshot_ev);
		snapshot_ev = NULL;
	}
}

/* A snapshot child runs: watch for its end. */
static void snapshot_watch(void)
{
	int fd = persist_snapshot_fd(state_persist);
	if (fd < 0 || snapshot_ev)
		return;
	snapshot_ev = event_new(server_base, fd, EV_READ | EV_PERSIST, on_snapshot_done, NULL);
	if (snapshot_ev)
		event_add(snapshot_ev, NULL);
}

void state_commit(void)
{
	if (!state_persist)
		return;
	if (persist_commit(state_persist) < 0)
		replies_to_persist();
	nsent = 0;
	snapshot_watch();
}

int state_uncommitted(void)
{
	return state_persist && (nsent || nstaged || persist_staged(state_persist));
}

int state_save_now(const char **why)
{
	if (!state_persist) {
		*why = "state is in memory only (no state_dir)";
		return -1;
	}
	if (persist_snapshot_now(state_persist) < 0) {
		*why = errno == EBUSY ? "a snapshot is being written already" : "the state directory cannot take writes";
		return -1;
	}
	snapshot_watch();
	return 0;
}

void state_pack_info(msgpack_packer *pk)
{
	struct persist_stats st = { 0 };
	if (state_persist)
		persist_get_stats(state_persist, &st);
	msgpack_pack_map(pk, 12);
	pack_key_bool(pk, "enabled", state_persist != NULL);
	pack_key_str(pk, "state_dir", st.dir ? st.dir : "");
	pack_key_str(pk, "fsync", state_persist ? persist_fsync_name(st.fsync) : "");
	pack_key_bool(pk, "healthy", state_persist ? st.healthy : 1);
	pack_key_uint(pk, "log_bytes", st.log_bytes);
	pack_key_uint(pk, "snapshot_bytes", st.snapshot_bytes);
	pack_key_int(pk, "last_snapshot", st.snapshot_time);
	pack_key_double(pk, "last_snapshot_seconds", (double)st.snapshot_ms / 1000.0);
	pack_key_bool(pk, "snapshot_running", st.snapshot_running);
	pack_key_double(pk, "fsync_lag", (double)st.fsync_lag_ms / 1000.0);
	pack_key_uint(pk, "records_replayed", st.records_replayed);
	pack_key_str(pk, "last_error", st.last_errno ? st.last_error : "");
}

/* ---- sessions and clocks ------------------------------------------------- */

uint64_t state_sid(const struct client *c)
{
	if (!c)
		return 0;
	/* A stand-in keeps its own sid in cid (it is no connection). */
	return c->fd < 0 ? c->cid : sid_base + c->cid;
}

struct client *state_session(uint64_t sid, pid_t pid)
{
	if (!sid)
		return NULL;
	if (sid > sid_seen)
		sid_seen = sid;
	int created;
	struct omap_entry *e = omap_upsert(&sessions, &sid, sizeof(sid), &created);
	if (!e)
		return NULL;
	if (!created)
		return e->val;
	struct client *c = calloc(1, sizeof(*c));
	if (!c) {
		omap_remove(&sessions, e);
		return NULL;
	}
	c->cid = sid;
	c->fd = -1;
	c->pid = pid;
	c->hello_done = 1;
	c->pending_flush = 1;   /* never on the flush list: its replies are dropped */
	c->waiter.client = c;
	buf_init(&c->in);
	buf_init(&c->out);
	LIST_INIT(&c->holds);
	e->val = c;
	return c;
}

int64_t state_unix_ms(uint64_t mono_ms)
{
	int64_t off = now_unix_us() / 1000 - (int64_t)(clock_mono_us() / 1000);
	return (int64_t)mono_ms + off;
}

uint64_t state_mono_ms(int64_t unix_ms)
{
	int64_t off = now_unix_us() / 1000 - (int64_t)(clock_mono_us() / 1000);
	int64_t m = unix_ms - off;
	return m > 0 ? (uint64_t)m : 0;
}

/* ---- snapshot ------------------------------------------------------------ */

struct state_saver {
	struct persist_writer *w;
	msgpack_sbuffer buf;
	msgpack_packer pk;
};

msgpack_packer *state_save_begin(struct state_saver *s)
{
	s->buf.size = 0;
	return &s->pk;
}

msgpack_packer *state_save_content(struct state_saver *s, const struct object *o, unsigned kind, uint32_t n)
{
	msgpack_packer *pk = state_save_begin(s);
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint32(pk, STATE_REC_CONTENT);
	pack_str(pk, o->name, o->name_len);
	msgpack_pack_uint32(pk, kind);
	msgpack_pack_array(pk, n);
	return pk;
}

int state_save_end(struct state_saver *s)
{
	return persist_writer_put(s->w, s->buf.data, s->buf.size);
}

/* The largest sid a record may name from now on. */
static uint64_t sid_max(void)
{
	uint64_t m = sid_base;
	struct client *c;
	TAILQ_FOREACH(c, &server_clients, link)
		if (sid_base + c->cid > m)
			m = sid_base + c->cid;
	return m;
}

/* Runs in the snapshot child (or in the daemon after a --recover). */
static int snapshot_write(void *ctx, struct persist_writer *w)
{
	struct state_saver s = { .w = w };
	msgpack_sbuffer_init(&s.buf);
	msgpack_packer_init(&s.pk, &s.buf, msgpack_sbuffer_write);
	msgpack_packer *pk = state_save_begin(&s);
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint32(pk, STATE_REC_HEADER);
	msgpack_pack_uint64(pk, sid_max());
	msgpack_pack_int64(pk, now_unix_us());
	int rc = state_save_end(&s);
	/* The log after the snapshot names these sessions without their ids. */
	struct client *c;
	TAILQ_FOREACH(c, &server_clients, link) {
		if (c->state_known && rc == 0) {
			pack_session(state_save_begin(&s), c);
			rc = state_save_end(&s);
		}
	}
	const struct omap *m = registry_map();
	for (const struct omap_entry *e = omap_seek(m, 0); e && rc == 0; e = omap_next(m, e)) {
		const struct object *o = e->val;
		const struct object_type *t = object_type_of(o->type);
		if (o->provisional)   /* exists for a parked request only, which is not kept */
			continue;
		pk = state_save_begin(&s);
		msgpack_pack_array(pk, 8);
		msgpack_pack_uint32(pk, STATE_REC_OBJECT);
		pack_str(pk, o->name, o->name_len);
		msgpack_pack_uint32(pk, o->type);
		t->pack_options(o, pk);
		msgpack_pack_double(pk, o->created);
		msgpack_pack_uint32(pk, o->owner);
		msgpack_pack_uint32(pk, o->group);
		msgpack_pack_uint32(pk, o->mode);
		rc = state_save_end(&s);
		if (rc == 0)
			rc = t->save(o, &s);
	}
	msgpack_sbuffer_destroy(&s.buf);
	return rc;
}

/* ---- replay -------------------------------------------------------------- */

struct replay {
	msgpack_zone zone;
	uint64_t records;
	int64_t time_us;            /* of the last record with a time */
	char *err;
	size_t errlen;
};

/* A record's time field as unix us (see pack_time), or -1 if it is none. */
static int64_t replay_time(struct replay *r, const msgpack_object *t)
{
	if (t->type != MSGPACK_OBJECT_POSITIVE_INTEGER && t->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return -1;
	if (t->type == MSGPACK_OBJECT_POSITIVE_INTEGER && t->via.u64 > INT64_MAX)
		return -1;
	if (time_is_absolute(t->via.i64))
		r->time_us = t->via.i64;
	else if (r->time_us)
		r->time_us += t->via.i64;
	else
		return -1;   /* a difference with nothing before it */
	return r->time_us;
}

static int replay_fail(struct replay *r, const char *what)
{
	snprintf(r->err, r->errlen, "record %llu: %s", (unsigned long long)r->records, what);
	return -1;
}

/* Run the clocks at unix time us while a record is applied. */
static void clock_at(int64_t us)
{
	clock_shift_us = 0;
	clock_shift_us = us - now_unix_us();
}

static struct object *replay_object(const msgpack_object *name)
{
	return name->type == MSGPACK_OBJECT_STR ? registry_find(name->via.str.ptr, name->via.str.size) : NULL;
}

static int replay_record(void *ctx, const void *payload, size_t len)
{
	struct replay *r = ctx;
	msgpack_object rec;
	size_t off = 0;
	r->records++;
	msgpack_zone_clear(&r->zone);
	if (msgpack_unpack(payload, len, &off, &r->zone, &rec) != MSGPACK_UNPACK_SUCCESS ||
	    rec.type != MSGPACK_OBJECT_ARRAY || rec.via.array.size < 2 ||
	    rec.via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return replay_fail(r, "not a state record");
	const msgpack_object *f = rec.via.array.ptr;
	uint32_t n = rec.via.array.size;
	switch (f[0].via.u64) {
	case STATE_REC_REQUEST: {
		int64_t t = n == 4 ? replay_time(r, &f[2]) : -1;
		if (t < 0 || f[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[3].type != MSGPACK_OBJECT_BIN)
			return replay_fail(r, "bad request record");
		struct client *c = state_session(f[1].via.u64, 0);
		if (!c)
			return replay_fail(r, "out of memory");
		clock_at(t);
		uint64_t ok_before = reply_ok_count;
		dispatch_replay(c, f[3].via.bin.ptr, f[3].via.bin.size);
		c->out.off = c->out.len = 0;
		/* It succeeded when it ran (or it would not be logged): here it
		 * fails or waits, so the state it ran on was not this one. */
		if (c->waiter.wq || reply_ok_count == ok_before)
			return replay_fail(r, "a logged request did not succeed again (the log does not fit the state before it)");
		c->closing = 0;
		return 0;
	}
	case STATE_REC_SESSION: {
		if (n != 5 || f[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    f[4].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return replay_fail(r, "bad session record");
		struct client *c = state_session(f[1].via.u64, (pid_t)f[2].via.i64);
		if (!c)
			return replay_fail(r, "out of memory");
		c->pid = (pid_t)f[2].via.i64;
		c->uid = (uid_t)f[3].via.u64;
		c->gid = (gid_t)f[4].via.u64;
		return 0;
	}
	case STATE_REC_CLOSE: {
		int64_t t = n == 3 ? replay_time(r, &f[2]) : -1;
		if (t < 0 || f[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return replay_fail(r, "bad close record");
		uint64_t sid = f[1].via.u64;
		struct omap_entry *e = omap_find(&sessions, &sid, sizeof(sid));
		if (e) {
			struct client *c = omap_remove(&sessions, e);
			clock_at(t);
			dispatch_forget_client(c);
			buf_free(&c->in);
			buf_free(&c->out);
			free(c);
		}
		return 0;
	}
	case STATE_REC_TIMER: {
		int64_t t = n == 5 ? replay_time(r, &f[2]) : -1;
		if (t < 0 || f[4].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return replay_fail(r, "bad timer record");
		struct object *o = replay_object(&f[3]);
		if (!o || o->type != PROTO_T_QUEUE)
			return replay_fail(r, "a timer record names no queue");
		clock_at(t);
		object_type_of(o->type)->on_timer(o, (int)f[1].via.u64, f[4].via.u64);
		return 0;
	}
	case STATE_REC_ACCESS: {
		if (n != 5 || f[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    f[4].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return replay_fail(r, "bad access record");
		struct object *o = replay_object(&f[1]);
		if (!o)
			return replay_fail(r, "an access record names no object");
		object_set_access(o, (uid_t)f[2].via.u64, (gid_t)f[3].via.u64, (unsigned)f[4].via.u64);
		return 0;
	}
	case STATE_REC_HEADER:
		if (n != 3 || f[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return replay_fail(r, "bad snapshot header");
		if (f[1].via.u64 > sid_seen)
			sid_seen = f[1].via.u64;
		return 0;
	case STATE_REC_OBJECT: {
		if (n != 8 || f[1].type != MSGPACK_OBJECT_STR || f[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    f[5].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[6].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    f[7].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return replay_fail(r, "bad object record");
		struct object *o;
		const char *why = "";
		const msgpack_object *opts = f[3].type == MSGPACK_OBJECT_MAP ? &f[3] : NULL;
		if (registry_create(f[1].via.str.ptr, f[1].via.str.size, (enum proto_type)f[2].via.u64, opts, &o, &why))
			return replay_fail(r, why);
		if (f[4].type == MSGPACK_OBJECT_FLOAT64 || f[4].type == MSGPACK_OBJECT_FLOAT32)
			o->created = f[4].via.f64;
		object_set_access(o, (uid_t)f[5].via.u64, (gid_t)f[6].via.u64, (unsigned)f[7].via.u64);
		return 0;
	}
	case STATE_REC_CONTENT: {
		if (n != 4 || f[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[3].type != MSGPACK_OBJECT_ARRAY)
			return replay_fail(r, "bad content record");
		struct object *o = replay_object(&f[1]);
		if (!o)
			return replay_fail(r, "a content record names no object");
		clock_at(now_unix_us());
		if (object_type_of(o->type)->restore(o, (unsigned)f[2].via.u64, &f[3]) < 0)
			return replay_fail(r, "a content record does not fit its object");
		registry_count_spare(o);
		return 0;
	}
	default:
		return replay_fail(r, "unknown record kind");
	}
}

static void replay_progress(void *ctx, const char *file, uint64_t done, uint64_t total)
{
	static uint64_t last_ms;
	uint64_t now = clock_mono_real_us() / 1000;
	if (now - last_ms < 500 && done < total)
		return;
	last_ms = now;
	sd_notifyf(0, "STATUS=loading state: %s %llu%%", file,
	           total ? (unsigned long long)(done * 100 / total) : 100ull);
}

/* The log is read: every stand-in closes, as its connection did. */
static void sessions_close(void)
{
	struct omap_entry *e;
	while ((e = omap_seek(&sessions, 0))) {
		struct client *c = omap_remove(&sessions, e);
		state_client_gone(c);
		dispatch_forget_client(c);
		buf_free(&c->in);
		buf_free(&c->out);
		free(c);
	}
	omap_free(&sessions, NULL);
	omap_init(&sessions);
}

int state_open(const char *dir, int recover, char *err, size_t errlen)
{
	struct replay r = { .err = err, .errlen = errlen };
	time_segment = 0;   /* the first record written carries its time itself */
	struct persist_options opt = {
		.fsync = (enum persist_fsync)config.fsync,
		.compact_percent = config.compact_percent,
		.compact_min = config.compact_min,
		.recover = recover,
	};
	struct persist_ops ops = { .replay = replay_record, .progress = replay_progress,
	                           .snapshot = snapshot_write, .ctx = &r };
	msgpack_sbuffer_init(&recbuf);
	msgpack_packer_init(&recpk, &recbuf, msgpack_sbuffer_write);
	msgpack_zone_init(&r.zone, 4096);
	omap_init(&sessions);
	size_t mem_limit = value_mem_limit;
	uint64_t t0 = clock_mono_real_us();
	value_mem_limit = 0;   /* what was stored once is stored again, whatever the limit is now */
	state_replaying = 1;
	state_persist = persist_open(dir, &opt, &ops, err, errlen);
	state_replaying = 0;
	clock_shift_us = 0;
	value_mem_limit = mem_limit;
	msgpack_zone_destroy(&r.zone);
	if (!state_persist) {
		sessions_close();
		return -1;
	}
	sid_base = sid_seen;
	reply_watch = note_sent;
	sessions_close();
	state_commit();
	log_info("state: %s: %zu objects from %llu records in %.3f s (fsync %s)", dir, registry_count(),
	         (unsigned long long)r.records, (double)(clock_mono_real_us() - t0) / 1e6,
	         persist_fsync_name(opt.fsync));
	return 0;
}

void state_close(void)
{
	if (!state_persist)
		return;
	/* Writes through shared memory are in no log: save them (persist_close
	 * waits for the snapshot). */
	if (shared_array_unsaved_mapped_writes() && persist_snapshot_now(state_persist) < 0 && errno != EBUSY)
		log_warn("state: no snapshot at stop (%s): writes through shared memory since the last one are lost",
		         strerror(errno));
	persist_close(state_persist);
	state_persist = NULL;
	if (snapshot_ev)
		event_free(snapshot_ev);
	snapshot_ev = NULL;
	reply_watch = NULL;
	msgpack_sbuffer_destroy(&recbuf);
	free(sent);
	sent = NULL;
	nsent = capsent = 0;
}
