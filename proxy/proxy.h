/*
 * proxy: the process-wide context every session points at (no mutable
 * globals besides the log). main.c fills the options from the validated
 * config; sessions hold a shared snapshot of the options taken at accept
 * (proxy_opts_hold), so a reload never changes a running session.
 */
#ifndef NAB_PROXY_H
#define NAB_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "counters.h"

struct event_base;
struct evdns_base;
struct event;
struct session;
struct chainset;
struct creds;
struct listener;
struct ctlreg;
struct ctl;
struct metrics;

enum { LOGFMT_NONE = 0, LOGFMT_VM = 1, LOGFMT_RAW = 2, LOGFMT_BOTH = 3 };
enum { UPSTREAM_TLS_NO = 0, UPSTREAM_TLS_STARTTLS, UPSTREAM_TLS_REQUIRED };

struct proxy_opts {
	char		upstream_host[256];
	unsigned short	upstream_port;
	unsigned	connect_timeout;	/* seconds */
	unsigned	idle_timeout;
	unsigned	login_timeout;		/* seconds to log in, 0 = none */
	unsigned	header_timeout;		/* accept to stream header */
	unsigned	write_timeout;		/* output full that long: close */
	size_t		memory_budget;		/* session bytes, 0 = none */
	unsigned	max_dials;		/* upstream opening, 0 = any */
	unsigned	drain_timeout;
	unsigned	max_connections;
	unsigned	max_per_source;
	size_t		max_stanza;
	unsigned	max_depth;
	size_t		hold_queue;		/* bytes held per session */
	int		log_format;		/* LOGFMT_* bitmask */
	int		log_prefix;		/* rabbit id before [vm] */
	char		log_dir[256];		/* per-rabbit files, "" = none */
	int		redact;			/* hide passwords in logs */
	unsigned	scram_max_iterations;
	unsigned	scram_min_iterations;	/* process-wide, see sasl.h */
	int		allow_plain_cleartext;
	int		upstream_tls;		/* UPSTREAM_TLS_* */
	char		upstream_tls_name[256];	/* "" = the stream domain */
	int		upstream_verify;	/* enum tls_verify */
	unsigned char	upstream_pins[16][32];	/* upstream-pin, SHA-256 */
	size_t		nupstream_pins;
	char		pin_file[512];		/* state-dir/upstream-pins */
	char		conf_path[512];		/* for commands in messages */
};

TAILQ_HEAD(session_list, session);

struct probe;
struct optsnap;

struct proxy {
	struct event_base	*base;
	struct evdns_base	*dns;
	struct proxy_opts	 opt;
	struct optsnap		*optsnap;	/* sessions' copy of opt (optsnap.c) */
	struct chainset		*chains;	/* current filter chains */
	struct creds		*creds;		/* may be NULL */
	struct ssl_ctx_st	*tls_ctx;	/* upstream STARTTLS, may be NULL */
	/* What the credential file looked like when last read. */
	unsigned long long	 creds_ino;
	long long		 creds_mtime_ns;
	long long		 creds_size;
	struct idguard		*guard;		/* login probe backoff, cap */
	struct kdf_pool		*kdf;		/* SCRAM Hi() threads, may be NULL */
	unsigned		 nprobes;	/* probe connections open */
	struct probe		*probe_wait;	/* probes waiting for a slot */
	unsigned		 nprobe_wait;
	int			 unparking;
	struct listener		*lst;
	struct ctlreg		*reg;		/* what the control socket shows */
	struct ctl		*ctl;		/* control socket, may be NULL */
	struct metrics		*metrics;	/* http-listen, may be NULL */
	struct session_list	 sessions;
	unsigned		 nsessions;
	uint64_t		 next_id;
	int			 draining;
	struct event		*drain_ev;
	/* Counters, for the shutdown summary and benchmarks. */
	uint64_t		 n_accepted;
	uint64_t		 n_refused;
	struct counters		 cnt;		/* /metrics (counters.h) */
	/* Upstream streams being opened (max-dials), and who waits (FIFO). */
	unsigned		 ndialing;
	struct session		*dial_head, *dial_tail;
	struct event		*doze_ev;	/* idle sweep (session_io.c) */
};

/*
 * optsnap.c: a reference to an immutable copy of px->opt as it is now,
 * shared by everyone who took it under the same options (NULL: ENOMEM);
 * px->opt may change afterwards without touching it. Release it with the
 * same proxy (NULL is a no-op).
 */
const struct proxy_opts *proxy_opts_hold(struct proxy *);
void	proxy_opts_release(struct proxy *, const struct proxy_opts *);

/* Called by session.c when a session is freed (drain bookkeeping). */
void	proxy_session_gone(struct proxy *);
/* session_io.c: the idle sweep's timer goes with the last session. */
void	proxy_doze_gone(struct proxy *);
/*
 * session_io.c: put to sleep the parsers of every session quiet for at
 * least `quiet` seconds (xs_doze); the number of streams now dozing.
 * The sweep timer calls it; tests call it with 0.
 */
unsigned session_doze_idle(struct proxy *, unsigned quiet);

#endif /* NAB_PROXY_H */
