/*
 * config: nabproxy.conf, parsed in two layers.
 *
 * The generic layer reads an INI-style file and its includes into sections
 * ([nabproxy], [filter NAME], [profile NAME]), each an ordered list of
 * key/value entries that remember their file and line. The semantic layer
 * checks those sections and fills struct config: the [nabproxy] keys as
 * plain fields, the filters and the profiles. Every error found in one run
 * is reported as "file:line: what is wrong, what is allowed".
 */
#ifndef NAB_CONFIG_H
#define NAB_CONFIG_H

#include <stddef.h>

#include "attrib.h"

#define CONFIG_HOST_MAX		256	/* host name or address, with NUL */
#define CONFIG_INCLUDE_DEPTH	8	/* nested includes */
#define CONFIG_ERRORS_MAX	100	/* messages kept, the rest counted */

/*
 * Error list filled by config_load(). Each message is one line, without a
 * newline, "file:line: ..." (or "file: ..." when no line applies).
 */
struct config_errors {
	char		**ce_msg;
	size_t		  ce_count;	/* messages in ce_msg */
	size_t		  ce_dropped;	/* past the maximum, or ENOMEM */
};

enum config_kind {
	CONFIG_NABPROXY = 0,
	CONFIG_FILTER,
	CONFIG_PROFILE
};

/* One "key = value" line. Strings are owned by the config. */
struct config_entry {
	const char	*key;
	const char	*value;		/* trimmed, may be "" */
	const char	*file;
	unsigned int	 line;
};

/* One section, with its entries in file order. */
struct config_section {
	enum config_kind	 kind;
	const char		*name;		/* NULL for [nabproxy] */
	const char		*file;
	unsigned int		 line;
	struct config_entry	*entries;
	size_t			 nentries;
};

/* A filter a profile may name: built in, or loaded from path. */
struct config_filter {
	const char			*name;
	const char			*path;	  /* NULL for a built-in */
	const struct config_section	*section; /* NULL if none written */
};

/*
 * A profile: the filters run for a rabbit, in order, and the match lists
 * that select it. MACs are normalised to lower-case hex without
 * separators; a trailing '*' makes a prefix. JID and firmware patterns
 * are fnmatch(3) patterns, JIDs compared case-insensitively.
 */
struct config_profile {
	const char			 *name;
	const struct config_section	 *section;	/* NULL if implicit */
	const struct config_filter	**filters;
	size_t				  nfilters;
	char				**match_mac;
	size_t				  nmatch_mac;
	char				**match_jid;
	size_t				  nmatch_jid;
	char				**match_firmware;
	size_t				  nmatch_firmware;
};

struct config_addr {
	char		host[CONFIG_HOST_MAX];	/* no brackets around IPv6 */
	unsigned short	port;
};

enum config_log_format {
	CONFIG_LOG_VM = 0,
	CONFIG_LOG_RAW,
	CONFIG_LOG_BOTH,
	CONFIG_LOG_NONE
};

enum config_tls {
	CONFIG_TLS_NO = 0,	/* never STARTTLS upstream */
	CONFIG_TLS_STARTTLS,	/* when the server offers it */
	CONFIG_TLS_REQUIRED	/* refuse a server that does not */
};

/* upstream-verify; the same numbers as enum tls_verify (tls_pin.h). */
enum config_verify {
	CONFIG_VERIFY_NO = 0,	/* no check at all */
	CONFIG_VERIFY_CHAIN,	/* chain to upstream-ca, and the name ("yes") */
	CONFIG_VERIFY_PIN,	/* the key is one of upstream-pin */
	CONFIG_VERIFY_TOFU,	/* chain, else the key pinned at first use */
	CONFIG_VERIFY_YES	/* only while parsing: stored as CHAIN */
};

#define CONFIG_PIN_LEN		32	/* upstream-pin: SHA-256 */
#define CONFIG_PINS_MAX		16	/* upstream-pin lines */

struct config_private;

struct config {
	/* [nabproxy]; durations in seconds, sizes in bytes. */
	struct config_addr	*listen;	/* at least one */
	size_t			 nlisten;
	char			 upstream_host[CONFIG_HOST_MAX]; /* "" = demo */
	unsigned short		 upstream_port;	/* 0 in demo mode */
	int			 upstream_tls;	/* enum config_tls */
	char			*upstream_ca;	/* "" = system store */
	char			*upstream_tls_name; /* "" = stream domain */
	int			 upstream_verify; /* enum config_verify */
	unsigned char		(*upstream_pins)[CONFIG_PIN_LEN];
	size_t			 nupstream_pins;
	unsigned int		 connect_timeout;
	unsigned int		 idle_timeout;
	unsigned int		 login_timeout;	/* 0: none */
	unsigned int		 header_timeout;	/* accept to header */
	unsigned int		 write_timeout;	/* output stuck full */
	unsigned int		 memory_budget;	/* bytes, 0: none */
	unsigned int		 max_dials;	/* upstream streams opening */
	unsigned int		 drain_timeout;
	unsigned int		 max_connections;
	unsigned int		 max_probes;		/* login probes at once */
	unsigned int		 probe_backoff_min;	/* seconds */
	unsigned int		 probe_backoff_max;
	unsigned int		 max_per_source;	/* 0 = no limit */
	unsigned int		 max_stanza;
	unsigned int		 max_depth;
	unsigned int		 hold_queue;
	char			*log_file;	/* "" = stderr */
	char			*log_dir;	/* "" = no per-rabbit logs */
	char			*control_socket;	/* "" = default, "none" */
	char			*watch;		/* MACs, space separated */
	char			*http_listen;	/* "" = no /metrics */
	char			*http_token;	/* "" = none (webauth.c) */
	char			*http_token_file;	/* "" = none */
	int			 log_format;	/* enum config_log_format */
	int			 log_prefix;
	int			 redact;
	char			*state_dir;
	char			*credentials;	/* never "" */
	unsigned int		 scram_max_iterations;
	unsigned int		 scram_min_iterations;
	int			 allow_plain_cleartext;
	char			*profile;	/* default profile, exists */
	int			 verbose;
	char			*user;		/* "" = stay who started it */
	char			*pid_file;	/* "" = none */
	char			*chroot_dir;	/* "" = no chroot */
	const char		*path;		/* the main file, as given */

	/* Generic layer, and what the semantic layer made of it. */
	struct config_section	*sections;
	size_t			 nsections;
	struct config_filter	*filters;	/* built-ins first */
	size_t			 nfilters;
	struct config_profile	*profiles;	/* in file order */
	size_t			 nprofiles;

	struct config_private	*priv;		/* origins, file names */
};

void	config_errors_init(struct config_errors *) NONNULL(1);
/* Frees the messages and leaves the list empty, ready for reuse. */
void	config_errors_free(struct config_errors *) NONNULL(1);
/*
 * Appends "file:line: message" ("file: message" if line is 0, just the
 * message if file is NULL). Never fails: past CONFIG_ERRORS_MAX, or
 * without memory, the message is counted in ce_dropped instead.
 */
void	config_errors_add(struct config_errors *, const char *file,
	    unsigned int line, const char *fmt, ...) NONNULL(1, 4) PRINTF(4, 5);

/*
 * Reads path and its includes, then checks everything. builtin_filters
 * is a NULL-terminated list of the filter names compiled in; profiles may
 * name those and [filter NAME] sections that have a path.
 * Returns a new config the caller frees with config_free(), or NULL when
 * anything was wrong: then every error found is in errs (at least one).
 * Reading is blocking; call it before serving or from a reload path.
 */
struct config	*config_load(const char *path,
		    const char *const *builtin_filters,
		    struct config_errors *errs) NONNULL(1, 2, 3) WUNRES;
/* Frees cfg and everything reachable from it. NULL is accepted. */
void		 config_free(struct config *cfg);

/*
 * Sets one [nabproxy] key as a command-line override, through the same
 * parsing and the same cross-key checks as the file. The first "listen"
 * set this way replaces the file's list; later ones append.
 * Returns 0, or -1 with "key: what is wrong, what is allowed" in err and
 * cfg unchanged (ENOMEM says so in err).
 */
int		 config_set(struct config *cfg, const char *key,
		    const char *value, char *err, size_t errlen)
		    NONNULL(1, 2, 3, 4) WUNRES;

/*
 * Splits "HOST:PORT" or "[IPv6]:PORT" into host (brackets removed) and
 * port 0..65535 (decimal, at most 5 digits). HOST is letters, digits,
 * '-', '_' and '.'; a bracketed host must hold a ':' and may also have
 * '%' (zone). Does not resolve, nor check that host is an address.
 * Returns 0, or -1 if s is malformed or host does not fit in hostlen;
 * host and port are then unspecified.
 */
int		 config_parse_hostport(const char *s, char *host,
		    size_t hostlen, unsigned short *port)
		    NONNULL(1, 2, 4) WUNRES;

/*
 * Lookups; each returns a pointer into cfg (valid until config_free) or
 * NULL when there is no such thing. name is NULL for CONFIG_NABPROXY.
 */
const struct config_section *config_section_find(const struct config *,
		    enum config_kind, const char *name) NONNULL(1);
const struct config_filter *config_filter_find(const struct config *,
		    const char *name) NONNULL(1, 2);
const struct config_profile *config_profile_find(const struct config *,
		    const char *name) NONNULL(1, 2);
/* Value of the last entry with this key in the section, or NULL. */
const char	*config_section_get(const struct config_section *,
		    const char *key) NONNULL(1, 2);

/*
 * The profile for a rabbit: the first profile, in file order, that has
 * at least one match list and whose every non-empty list matches (any of
 * its patterns). A NULL mac, jid or firmware is unknown and matches no
 * list of that kind. Without a match, the default profile (cfg->profile;
 * for "auto", passthrough). Never NULL.
 */
const struct config_profile *config_profile_select(const struct config *,
		    const char *mac, const char *jid, const char *firmware)
		    NONNULL(1);

#endif /* NAB_CONFIG_H */
