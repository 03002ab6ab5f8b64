/*
 * chain internals shared by chain.c (registry, dispatch) and chain_host.c
 * (the services table). Not included anywhere else.
 */
#ifndef NAB_CHAIN_INT_H
#define NAB_CHAIN_INT_H

#include <nabproxy/filter.h>

#include "chain.h"

struct evbuffer;

extern const struct nab_filter nab_builtin_auth;
extern const struct nab_filter nab_builtin_register;
extern const struct nab_filter nab_builtin_bind;
extern const struct nab_filter nab_builtin_firmware_guard;
extern const struct nab_filter nab_builtin_digest_server;
extern const struct nab_filter nab_builtin_presence_echo;
extern const struct nab_filter nab_builtin_sources;
extern const struct nab_filter nab_builtin_iq_answer;

struct cs_filter {
	const struct nab_filter	*f;
	char			*name;
	void			*state;
	void			*dl;		/* dlopen handle or NULL */
	int			 inited;
	int			 host_state;	/* state is ours (state_size) */
};

struct cs_profile {
	char				*name;
	struct cs_filter		**filters;
	size_t				 nfilters;
	char				**mac;	/* copied match lists */
	size_t				 nmac;
	char				**jid;
	size_t				 njid;
	char				**fw;
	size_t				 nfw;
};

struct chainset {
	int			 refs;
	struct cs_filter	*filters;
	size_t			 nfilters;
	struct cs_profile	*profiles;
	size_t			 nprofiles;
	char			*default_profile;
};

struct chain_slot;

struct nab_ctx {
	struct chain		*ch;
	struct chain_slot	*slot;
};

struct chain_slot {
	struct cs_filter	*cf;
	struct nab_ctx		 ctx;
	void			*data;		/* set_data() */
	uint64_t		*repairs;	/* counters_filter(), or NULL */
	void			*sdata;		/* session_size block or NULL */
};

struct nab_timer;
struct chain_cbw;

#define CHAIN_SCRATCH	16

struct chain {
	struct chainset		*cs;
	struct session		*se;
	char			 profile[64];
	struct chain_slot	*slots;
	size_t			 nslots;
	size_t			 nopened;
	struct stanza		*cur;		/* unit tree during a hook */
	struct stanza		*repl;		/* replacement given */
	int			 edited;	/* cur was edited */
	struct stanza		*scratch[CHAIN_SCRATCH];
	struct stanza		*tmp;		/* text() results */
	struct evbuffer		*ser;		/* serialize() results */
	struct nab_timer	*timers;
	struct chain_cbw	*cbws;		/* pending login callbacks */
	/*
	 * Filter code on the stack: a hook, a timer or a login callback,
	 * possibly nested (a service that calls back before it returns).
	 * Per-hook memory is freed only when the outermost one returns.
	 */
	int			 running;
};

const struct nab_host	*chain_host(void);
const struct cs_profile	*chainset_profile(const struct chainset *,
			    const char *);
/* Free per-hook scratch memory. */
void			 chain_host_after_unit(struct chain *);
/* Cancel timers and callbacks at close. */
void			 chain_host_cleanup(struct chain *);

/* chain_host.c, for chain_digest.c and chain_proof.c */
struct creds	*chain_creds(struct nab_ctx *);
const char	*chain_cred_get(struct nab_ctx *, const char *jid);
struct chain_cbw *chain_wrap(struct nab_ctx *, nab_login_cb *, void *);
void		 chain_unwrap_failed(struct chain *, struct chain_cbw *);
void		 chain_login_cb(void *, int, int, const char *, const char *);

/* chain_proof.c: who a connection may act for. */
int		 chain_secret_eq(const char *, const char *);
const char	*chain_rabbit_password(struct nab_ctx *, const char *jid);
int		 h_cred_put(struct nab_ctx *, const char *, const char *);
int		 h_prove_password(struct nab_ctx *, const char *,
		    const char *, nab_login_cb *, void *);
const char	*h_rabbit_password(struct nab_ctx *, const char *);

/* chain_settings.c: the declarative settings of ABI 1.4. */
const struct nab_setting *settings_of(const struct nab_filter *);
int	settings_check_desc(const struct nab_filter *, const char *where,
	    char *err, size_t errlen);
int	settings_apply(const struct nab_filter *, void *state,
	    const struct chain_filter_conf *, const char *who, char *err,
	    size_t errlen);
void	settings_print(FILE *, const struct nab_filter *, const char *origin);

/* chain_digest.c: the DIGEST-MD5 services of the host table. */
int	h_digest_challenge(struct nab_ctx *, char *, size_t, char *, size_t);
int	h_digest_username(struct nab_ctx *, const char *, char *, size_t);
int	h_digest_verify(struct nab_ctx *, const char *, const char *,
	    const char *, const char *, char *, size_t, const char **);
int	h_digest_relay_challenge(struct nab_ctx *, const char *, char *,
	    size_t);
int	h_digest_repad(struct nab_ctx *, const char *, char *, size_t);

#endif /* NAB_CHAIN_INT_H */
