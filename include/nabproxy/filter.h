/*
 * nabproxy filter ABI, version 1.4. History:
 *  1.1 appended the services marked "ABI 1.1" at the end of struct nab_host;
 *  1.2 those marked "ABI 1.2", the `proof` field of struct nab_identity and
 *      the `transient` field of struct nab_login_result;
 *  1.3 rabbit_password and the proof "allow-register";
 *  1.4 appended to struct nab_filter: a declarative settings table that
 *      the host validates and fills into host-allocated filter state
 *      (`settings`, `state_size`), host-allocated per-session state
 *      (`session_size`) and `on_close`, which gets the reason the session
 *      ended. A 1.1 to 1.3 filter loads unchanged and keeps getting its
 *      `nab_kv` list in init().
 *
 * This is the only header a filter includes. A filter is a constant
 * descriptor, `struct nab_filter`; built-in filters are linked into the
 * daemon, external ones are shared objects exporting the descriptor under
 * the symbol NAB_FILTER_SYMBOL ("nab_filter"). Both are the same struct.
 *
 * Compatibility rules (nginx ngx_module.h, Redis redismodule.h):
 *  - abi_major must equal the host's NAB_ABI_MAJOR or the filter is refused;
 *  - abi_minor grows when fields are appended; the host reads only fields
 *    that lie within the filter's struct_size, and a filter reads only
 *    host services that lie within host->struct_size (NAB_HAS_SERVICE);
 *  - fields are appended, never reordered or removed within a major.
 *
 * Threading: everything runs on the daemon's single event-loop thread.
 * Hooks must not block (no disk, DNS or sleep); use timers.
 *
 * Memory: pointers passed to a hook are borrowed for that call only.
 * Stanzas a filter creates with stanza_new() belong to the host and are
 * freed after the hook returns unless handed to replace/inject, which
 * take ownership. Per-session filter data set with set_data() is the
 * filter's to free in close(); the block the host allocates for a
 * `session_size` (ABI 1.4) is the host's, freed after close/on_close.
 */
#ifndef NABPROXY_FILTER_H
#define NABPROXY_FILTER_H

#include <stddef.h>
#include <stdint.h>

#define NAB_FILTER_MAGIC	0x4e414246u	/* "NABF" */
#define NAB_ABI_MAJOR		1
#define NAB_ABI_MINOR		4
#define NAB_FILTER_SYMBOL	"nab_filter"
/* digest_verify's reason when it judged nothing (ABI 1.3). */
#define NAB_REASON_BACKOFF	"password attempts for this account or " \
				"address are backing off"

/* What the chain does with the unit after a hook returns. */
enum nab_verdict {
	NAB_PASS = 0,		/* let later filters see it, then forward */
	NAB_DROP = 1,		/* forget it silently */
	NAB_REPLACE = 2,	/* forward the stanza given to replace() */
	NAB_HANDLED = 3,	/* answered locally (inject); do not forward */
	NAB_CLOSE = 4		/* close the session, stream error set by close_with() */
};

/* Direction of a unit: who sent it. */
enum nab_dir {
	NAB_FROM_RABBIT = 0,	/* rabbit -> server */
	NAB_FROM_SERVER = 1	/* server -> rabbit */
};

enum nab_loglevel {
	NAB_LOG_ERR = 0,
	NAB_LOG_WARN = 1,
	NAB_LOG_INFO = 2,
	NAB_LOG_DEBUG = 3
};

/* Opaque handles: never defined for filters. */
struct nab_ctx;		/* one session as seen by one filter */
struct nab_stanza;	/* one element (or the root of a stanza tree) */
struct nab_timer;

/* One `key = value` line of the filter's config section. */
struct nab_kv {
	const char	*key;
	const char	*value;
	const char	*file;
	int		 line;
};

/* Who the rabbit is, as far as the session knows. Fields may be "". */
struct nab_identity {
	const char	*peer;		/* "192.0.2.7:50123" */
	const char	*mac;		/* 12 lowercase hex digits, once known */
	const char	*domain;	/* the stream's `to` */
	const char	*bare_jid;	/* mac@domain once known */
	const char	*firmware;	/* detected firmware: "simulator", ... */
	const char	*profile;	/* the profile chosen for this session */
	uint64_t	 session_id;
	/*
	 * ABI 1.2: how this connection proved the account's password, "" if
	 * it has not. Once set, mac and bare_jid name the proven account and
	 * never change for the rest of the connection: "stored" (matched the
	 * credential store), "probe" (a login probe with it succeeded),
	 * "digest" (DIGEST-MD5 verified here against the store), "server"
	 * (the server accepted the rabbit's own SASL exchange), ABI 1.3:
	 * "allow-register" (the password failed, but the operator opened a
	 * window for this account: it became the rabbit's own password,
	 * while the server's stays in the store for the upstream login). Only a
	 * proven session may log in upstream, store a password or repair
	 * anything on the account's behalf.
	 */
	const char	*proof;
};

/* Result of an upstream login or login probe. */
struct nab_login_result {
	int		 ok;		/* 1 on SASL success */
	const char	*mechanism;	/* e.g. "SCRAM-SHA-1" */
	const char	*reason;	/* on failure: human reason, no secrets */
	/*
	 * ABI 1.2: on failure, 1 when the password was not judged (server
	 * unreachable or restarting, TLS or protocol error, timeout, backoff
	 * or the probe cap): say nothing about the password to the rabbit.
	 */
	int		 transient;
};

typedef void nab_login_cb(struct nab_ctx *, const struct nab_login_result *,
    void *arg);
typedef void nab_timer_cb(struct nab_ctx *, void *arg);

/*
 * Services the host offers, passed to init(). Check NAB_HAS_SERVICE
 * before using a member added after ABI 1.0.
 */
struct nab_host {
	uint32_t	struct_size;
	uint16_t	abi_major;
	uint16_t	abi_minor;

	/* Log a line tagged with the session and filter. Never blocks. */
	void	(*log)(struct nab_ctx *, enum nab_loglevel, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
	const struct nab_identity *(*identity)(struct nab_ctx *);
	/* Record what was learned about the rabbit; NULL leaves a field. */
	void	(*set_identity)(struct nab_ctx *, const char *mac,
		    const char *domain, const char *firmware);

	/*
	 * Per-session data for this filter. ABI 1.4: with `session_size`
	 * set, get_data() returns the host's zeroed block until set_data()
	 * puts something else there.
	 */
	void	*(*get_data)(struct nab_ctx *);
	void	 (*set_data)(struct nab_ctx *, void *);
	/* Per-filter state returned by init() (ABI 1.4: or the host's block). */
	void	*(*filter_state)(struct nab_ctx *);

	/* Stanza access. Names keep their prefix ("stream:features"). */
	const char *(*name)(const struct nab_stanza *);
	/* Attribute value or NULL. */
	const char *(*attr)(const struct nab_stanza *, const char *name);
	/* Effective default namespace or NULL. */
	const char *(*xmlns)(const struct nab_stanza *);
	/* First direct child element with name (NULL: any) and xmlns (NULL: any). */
	struct nab_stanza *(*child)(const struct nab_stanza *,
		    const char *name, const char *xmlns);
	/* Next sibling element, NULL at the end. */
	struct nab_stanza *(*next)(const struct nab_stanza *);
	/* Concatenated direct text; "" if none; NULL on ENOMEM. Valid during the hook. */
	const char *(*text)(struct nab_ctx *, const struct nab_stanza *);

	/*
	 * Editing. The stanza passed to a hook may be edited in place; the
	 * host then serialises it instead of forwarding the original bytes.
	 * After editing, NAB_PASS lets later filters see the edited stanza;
	 * NAB_REPLACE sends it at once. Each returns 0, or -1 on ENOMEM or
	 * when the stanza is not editable.
	 */
	int	(*set_attr)(struct nab_ctx *, struct nab_stanza *,
		    const char *name, const char *value);
	int	(*del_attr)(struct nab_ctx *, struct nab_stanza *, const char *name);
	/* New stanza root (host-owned, freed after the hook unless handed on). */
	struct nab_stanza *(*stanza_new)(struct nab_ctx *, const char *name);
	/* New child element appended to parent (same tree). NULL on ENOMEM. */
	struct nab_stanza *(*add_child)(struct nab_ctx *, struct nab_stanza *parent,
		    const char *name);
	int	(*add_text)(struct nab_ctx *, struct nab_stanza *, const char *text);
	/* Deep copy into a new host-owned tree. NULL on ENOMEM. */
	struct nab_stanza *(*copy)(struct nab_ctx *, const struct nab_stanza *);
	/* Canonical serialisation into a host buffer valid during the hook. */
	const char *(*serialize)(struct nab_ctx *, const struct nab_stanza *,
		    size_t *len);

	/*
	 * Replace the current unit with st (a tree from stanza_new/copy or the
	 * hook's own stanza edited). Takes ownership. Use with NAB_REPLACE.
	 */
	int	(*replace)(struct nab_ctx *, struct nab_stanza *st);
	/*
	 * Send st as if `as_from` had sent it: NAB_FROM_SERVER goes to the
	 * rabbit, NAB_FROM_RABBIT to the server. Injected stanzas skip the
	 * chain and the hold queue, but not the serialisation: they leave in
	 * the same canonical, firmware-safe form as every edited or replaced
	 * unit (never self-closing, single quotes; what firmware-guard makes
	 * of a server stanza), logged the same way. Takes ownership. -1 on
	 * ENOMEM.
	 */
	int	(*inject)(struct nab_ctx *, enum nab_dir as_from, struct nab_stanza *st);
	/*
	 * Raw bytes variant of inject (for headers, keep-alives). The bytes
	 * go out as given, unchecked: toward the rabbit, build stanzas with
	 * inject() (or serialize() them) instead.
	 */
	int	(*inject_raw)(struct nab_ctx *, enum nab_dir as_from,
		    const char *bytes, size_t len);

	/*
	 * Hold: from now on, units from the rabbit that pass the chain are
	 * queued (bounded; reading from the rabbit pauses when full) instead
	 * of sent to the server. release() sends the queue in order and stops
	 * holding. Nested holds by several filters are counted.
	 */
	void	(*hold)(struct nab_ctx *);
	void	(*release)(struct nab_ctx *);

	/* One-shot timer; NULL on ENOMEM. Cancelled automatically at close. */
	struct nab_timer *(*timer_add)(struct nab_ctx *, unsigned msec,
		    nab_timer_cb *, void *arg);
	void	(*timer_del)(struct nab_ctx *, struct nab_timer *);

	/*
	 * Credential store: the password nabproxy logs in upstream with for
	 * a bare JID, or NULL (copy it now). To check what the rabbit proves
	 * itself with, use rabbit_password (ABI 1.3): the two differ only
	 * after an operator's allow-register.
	 */
	const char *(*cred_get)(struct nab_ctx *, const char *bare_jid);
	/*
	 * Store atomically the password this connection proved for its own
	 * account (any other is refused); -1 on failure (logged).
	 */
	int	(*cred_put)(struct nab_ctx *, const char *bare_jid,
		    const char *password);

	/*
	 * Upstream login: run SASL with this password on the session's own
	 * server stream (using the features the server sent last), restart
	 * the stream, hide the new header and features from the rabbit, then
	 * call cb. While it runs, server units go to the login, not the chain.
	 * -1 if a login cannot start (no features yet, already running).
	 */
	int	(*upstream_login)(struct nab_ctx *, const char *localpart,
		    const char *password, nab_login_cb *cb, void *arg);
	/*
	 * Login probe: a full SASL login on a separate server connection,
	 * answering cb asynchronously; the connection is closed after. The
	 * session stays valid; if it closes first, cb is never called.
	 */
	int	(*login_probe)(struct nab_ctx *, const char *localpart,
		    const char *password, nab_login_cb *cb, void *arg);
	/* 1 once the server stream is authenticated (by us or by the rabbit). */
	int	(*upstream_authenticated)(struct nab_ctx *);

	/*
	 * Close the session after this hook: `condition` is the RFC 6120
	 * stream error sent to the rabbit (e.g. "policy-violation"), reason
	 * goes to the log. Return NAB_CLOSE after calling it. Both strings
	 * are copied; a condition that is not lower-case letters and '-'
	 * becomes "undefined-condition". Outside a hook (a timer, a login
	 * callback) the session closes on the next turn of the loop.
	 */
	void	(*close_with)(struct nab_ctx *, const char *condition,
		    const char *reason);

	/* ---- ABI 1.1: check with NAB_HAS_SERVICE(host, member) ---- */

	/*
	 * The server's latest <stream:features>, as a host-owned copy freed
	 * after the hook (hand it to inject() to send it); NULL if none yet.
	 */
	struct nab_stanza *(*server_features)(struct nab_ctx *);
	/*
	 * The rabbit opens a new stream next (a filter answered its SASL
	 * with <success/>): its parser restarts at the current unit
	 * boundary, or at once outside a rabbit unit. The rabbit's new header
	 * then reaches on_header(NAB_FROM_RABBIT) like the first one.
	 */
	void	(*restart_rabbit)(struct nab_ctx *);
	/*
	 * DIGEST-MD5 server side (RFC 2831; qop=auth, algorithm=md5-sess,
	 * charset=utf-8, no realm, no spaces after commas: the form the
	 * Nabaztag firmware parses). digest_challenge writes a fresh nonce
	 * (NUL-terminated, needs 33 bytes) and the base64 challenge (for a
	 * <challenge> element); returns the base64 length or -1.
	 */
	int	(*digest_challenge)(struct nab_ctx *, char *nonce, size_t noncecap,
		    char *b64, size_t b64cap);
	/*
	 * From a base64 <response> text (short '=' padding tolerated, as the
	 * firmware sends it): the username. 0, or -1 if unreadable.
	 */
	int	(*digest_username)(struct nab_ctx *, const char *b64, char *user,
		    size_t usercap);
	/*
	 * Verify a base64 <response> text for user/password/nonce against
	 * digest-uri xmpp/DOMAIN (the session's domain). 0 with the base64 of
	 * "rspauth=..." (for the next <challenge>) in b64out; -1 with a
	 * static reason (never containing the password). ABI 1.3: attempts
	 * pass the guard of prove_password (a wrong one backs the account and
	 * the address off); while it backs off, nothing is judged and the
	 * reason is NAB_REASON_BACKOFF (compare with strcmp): answer with a
	 * stream close, not a SASL failure.
	 */
	int	(*digest_verify)(struct nab_ctx *, const char *b64,
		    const char *user, const char *password, const char *nonce,
		    char *b64out, size_t b64cap, const char **reason);

	/* ---- ABI 1.2: check with NAB_HAS_SERVICE(host, member) ---- */

	/*
	 * Prove that this connection knows the password of LOCALPART@domain
	 * (the session's domain): compared in constant time with the stored
	 * password, else proven upstream by a login probe (with per-account
	 * and per-source backoff and a global cap on concurrent probes);
	 * ABI 1.3: when it is not the stored one and the operator opened an
	 * allow-register window for the account, it becomes the rabbit's
	 * own, with no probe (proof and mechanism "allow-register"). On
	 * success the identity is fixed to that account (see `proof`) and cb
	 * gets ok=1; on failure ok=0 (transient=1 if nothing was judged). cb
	 * may run before prove_password returns. -1 if it cannot start
	 * (another account is already proven on this connection).
	 */
	int	(*prove_password)(struct nab_ctx *, const char *localpart,
		    const char *password, nab_login_cb *cb, void *arg);
	/*
	 * DIGEST-MD5 relayed between the rabbit and a server that offers it
	 * (bootcode-xmpp.md section 3, servers.md): rewrite the base64 text
	 * of the server's <challenge> into the form the firmware parses
	 * (qop="auth", algorithm=md5-sess, charset=utf-8, no ", "), or re-pad
	 * the base64 of the rabbit's <response> (the firmware's padding is
	 * one '=' short). Both write NUL-terminated base64 into out and
	 * return its length, or -1 (unreadable input, or out too small).
	 * The challenge comes out as [realm="R",]nonce="N",qop="auth",
	 * charset=utf-8,algorithm=md5-sess (realm only if the server gave
	 * one; -1 without a nonce, with a quote in it, without md5-sess or
	 * with a qop list lacking auth); a challenge carrying rspauth (the
	 * server's second one) comes out as rspauth=HEX. Contract in
	 * proxy/sasl_digestrelay.c.
	 */
	int	(*digest_relay_challenge)(struct nab_ctx *, const char *b64,
		    char *out, size_t outcap);
	int	(*digest_repad)(struct nab_ctx *, const char *b64, char *out,
		    size_t outcap);

	/* ---- ABI 1.3: check with NAB_HAS_SERVICE(host, member) ---- */

	/*
	 * The password the rabbit proves itself with for a bare JID (to
	 * verify its SASL response), or NULL: the stored one, or the
	 * rabbit's own when the operator let it register a new one with
	 * `nabproxy credentials allow-register` (cred_get then still gives
	 * the server's, for the upstream login). Borrowed as cred_get.
	 */
	const char *(*rabbit_password)(struct nab_ctx *, const char *bare_jid);
};

#define NAB_HAS_SERVICE(h, member)					\
	((h)->struct_size >= offsetof(struct nab_host, member) +	\
	    sizeof((h)->member))

/*
 * ABI 1.4: a declarative setting, one `key = value` line of the filter's
 * [filter NAME] section (the model is nginx's ngx_command_t: a name, a
 * type and an offset into the configuration struct). The host checks every
 * line of the section against the table before init() (unknown key, wrong
 * type, out of range, a required key missing, a key given twice: each
 * reported as `FILE:LINE: filter NAME: KEY: why`) and writes the value,
 * or the default, into the filter's state at `offset`:
 *
 *	type			stored as	value in the config
 *	NAB_SET_BOOL		int (0, 1)	yes|no, true|false, on|off, 1|0
 *	NAB_SET_INT		long long	decimal, min..max
 *	NAB_SET_DURATION	long long ms	NUMBER with unit ms, s, m, h or d
 *						("1500ms", "2s", "5m"; "0"
 *						alone needs none), min..max ms
 *	NAB_SET_STRING		char[size]	min..size-1 bytes (min is a
 *						length), no control characters
 *	NAB_SET_ENUM		int		the index of one of `words`
 *
 * `def` is the default as it would be written in the config, checked like
 * a configured value when the filter loads (a bad default refuses the
 * filter); NULL makes the key required. `check`, optional, refuses a value
 * the type alone lets through: it gets the text of the value (configured
 * or default) and returns 0, or -1 with a short reason in why ("is not a
 * list of element names"). `help` is one line for `nabproxy filters`.
 * The table ends with an entry whose name is NULL.
 */
enum nab_setting_type {
	NAB_SET_BOOL = 1,
	NAB_SET_INT = 2,
	NAB_SET_DURATION = 3,
	NAB_SET_STRING = 4,
	NAB_SET_ENUM = 5
};

struct nab_setting {
	const char		*name;		/* [a-z0-9-]+ */
	enum nab_setting_type	 type;
	size_t			 offset;	/* offsetof(your state, field) */
	size_t			 size;		/* NAB_SET_STRING: sizeof(field) */
	long long		 min, max;	/* INT, DURATION (ms); STRING: min length */
	const char		*def;		/* default, or NULL: required */
	const char *const	*words;		/* NAB_SET_ENUM: NULL-terminated */
	int			(*check)(const char *value, char *why,
				    size_t whylen);
	const char		*help;
};

/* Table entries; F is the field of the state struct T. */
#define NAB_SETTING_BOOL(name, T, F, def, help)				\
	{ name, NAB_SET_BOOL, offsetof(T, F), sizeof(int), 0, 1, def,	\
	    NULL, NULL, help }
#define NAB_SETTING_INT(name, T, F, min, max, def, help)		\
	{ name, NAB_SET_INT, offsetof(T, F), sizeof(long long), min, max,	\
	    def, NULL, NULL, help }
#define NAB_SETTING_DURATION(name, T, F, min, max, def, help)		\
	{ name, NAB_SET_DURATION, offsetof(T, F), sizeof(long long), min,	\
	    max, def, NULL, NULL, help }
#define NAB_SETTING_STRING(name, T, F, minlen, def, check, help)	\
	{ name, NAB_SET_STRING, offsetof(T, F), sizeof(((T *)0)->F),	\
	    minlen, 0, def, NULL, check, help }
#define NAB_SETTING_ENUM(name, T, F, words, def, help)			\
	{ name, NAB_SET_ENUM, offsetof(T, F), sizeof(int), 0, 0, def,	\
	    words, NULL, help }
#define NAB_SETTINGS_END	{ NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL }

struct nab_filter {
	uint32_t	 magic;		/* NAB_FILTER_MAGIC */
	uint16_t	 abi_major;	/* NAB_ABI_MAJOR */
	uint16_t	 abi_minor;	/* NAB_ABI_MINOR */
	uint32_t	 struct_size;	/* sizeof(struct nab_filter) */
	const char	*name;		/* [a-z0-9-]+, unique */
	const char	*version;
	const char	*description;

	/*
	 * Once per (re)load with the filter's config section (may be empty).
	 * Store the host pointer; it stays valid until fini. Return 0 and set
	 * *state, or -1 with a message in err (shown as file:line when the
	 * message names a key's line).
	 */
	int	(*init)(const struct nab_host *, const struct nab_kv *cfg,
		    size_t ncfg, void **state, char *err, size_t errlen);
	void	(*fini)(void *state);

	/* Per session. open() returning -1 closes the session. */
	int	(*open)(struct nab_ctx *);
	void	(*close)(struct nab_ctx *);

	/* Per unit, per direction. NULL hooks mean NAB_PASS. */
	enum nab_verdict (*on_header)(struct nab_ctx *, enum nab_dir,
		    struct nab_stanza *header);
	enum nab_verdict (*on_stanza)(struct nab_ctx *, enum nab_dir,
		    struct nab_stanza *stanza);
	enum nab_verdict (*on_end)(struct nab_ctx *, enum nab_dir);
	/* The stream in this direction restarted (after SASL or TLS). */
	void	(*on_restart)(struct nab_ctx *, enum nab_dir);
	/* Whitespace between stanzas; NAB_DROP removes it. */
	enum nab_verdict (*on_whitespace)(struct nab_ctx *, enum nab_dir,
		    const char *bytes, size_t len);

	/*
	 * ---- ABI 1.4. A filter that sets any of these runs only on a 1.4
	 * host: an older one ignores them (check h->abi_minor >= 4 in init()
	 * when the filter may meet one, as filters/examples/stamp.c does).
	 */

	/* The settings table (see struct nab_setting), or NULL. */
	const struct nab_setting *settings;
	/*
	 * With state_size > 0 the host allocates the filter's state (zeroed,
	 * the settings filled in), hands it to init() already in *state
	 * (init() may complete it but must not replace it), returns it from
	 * filter_state(), and frees it after fini(). init() may then be
	 * NULL. A settings table with entries needs state_size.
	 */
	size_t		 state_size;
	/*
	 * With session_size > 0 the host allocates that many zeroed bytes per
	 * session before open() and frees them (wiped) after the session's
	 * last hook; get_data() returns them. open() and close() may be NULL.
	 */
	size_t		 session_size;
	/*
	 * Called instead of close() when set: the session ended or left this
	 * profile. reason is "CATEGORY" or "CATEGORY: detail", the category
	 * one of: "rabbit closed", "server closed" (that side closed or reset
	 * its connection), "timeout" (idle, login or connect timeout),
	 * "kicked" (`nabproxy ctl kick`), "shutdown" (the daemon stops),
	 * "stream error" (nabproxy closed the stream; the detail starts with
	 * the condition: "stream error: policy-violation: ..."), "profile
	 * changed" (the session goes on with another profile's chain),
	 * "closed" (anything else). Compare the category as a prefix; the
	 * detail is for logs. Borrowed for the call.
	 */
	void	(*on_close)(struct nab_ctx *, const char *reason);
};

/* 1 if descriptor f (of any 1.x) has member. */
#define NAB_FILTER_HAS(f, member)					\
	((f)->struct_size >= offsetof(struct nab_filter, member) +	\
	    sizeof((f)->member))

/* Declare a descriptor with the header fields filled in. */
#define NAB_FILTER_INIT							\
	.magic = NAB_FILTER_MAGIC,					\
	.abi_major = NAB_ABI_MAJOR,					\
	.abi_minor = NAB_ABI_MINOR,					\
	.struct_size = sizeof(struct nab_filter)

#endif /* NABPROXY_FILTER_H */
