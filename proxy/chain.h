/*
 * chain: the filter registry and the per-session filter chain.
 *
 * A chainset is built from the config: every filter (built-in or loaded
 * from a .so) initialised with its section, and every profile's ordered
 * list. It is immutable and reference counted, so a reload builds a new
 * one while open sessions keep the chain they started with. chain.c also
 * implements the public host services table (include/nabproxy/filter.h)
 * on top of session.h.
 */
#ifndef NAB_CHAIN_H
#define NAB_CHAIN_H

#include <stddef.h>
#include <stdio.h>

#include <nabproxy/filter.h>

#include "attrib.h"

struct session;
struct stanza;
struct xs_unit;

struct chainset;
struct chain;

/* One filter to load: name, optional .so path, its config lines. */
struct chain_filter_conf {
	const char		*name;
	const char		*path;		/* NULL: built-in */
	const struct nab_kv	*kv;
	size_t			 nkv;
	const char		*file;		/* where it was configured */
	int			 line;
};

struct chain_profile_conf {
	const char		*name;
	const char *const	*filters;	/* ordered names */
	size_t			 nfilters;
	const char *const	*match_mac;	/* MACs or prefixes ending in '*' */
	size_t			 nmatch_mac;
	const char *const	*match_jid;
	size_t			 nmatch_jid;
	const char *const	*match_firmware;
	size_t			 nmatch_firmware;
};

/* Names of the built-in filters, NULL-terminated. */
const char *const *chain_builtin_names(void);
/* Descriptor of a built-in filter or NULL. */
const struct nab_filter *chain_builtin(const char *name);
/*
 * `nabproxy filters`: print a filter's name, version, description and
 * settings to out: the built-in NAME when path is NULL, else the .so at
 * path (loaded, never initialised). 0, or -1 with why in err.
 */
int	chain_describe(FILE *out, const char *name, const char *path,
	    char *err, size_t errlen);

/*
 * Load and initialise filters and profiles. Returns a chainset with one
 * reference, or NULL with every problem appended to err (lines separated
 * by '\n', each naming the file). Nothing stays loaded on failure.
 */
struct chainset *chainset_build(const struct chain_filter_conf *, size_t,
    const struct chain_profile_conf *, size_t, const char *default_profile,
    char *err, size_t errlen) WUNRES;
void	chainset_ref(struct chainset *);
void	chainset_unref(struct chainset *);

/*
 * Pick the profile for a rabbit: first profile whose MAC, JID or firmware
 * rule matches, else the default. Never NULL.
 */
const char *chainset_select(const struct chainset *, const char *mac,
    const char *jid, const char *firmware);

/* Instantiate a profile's chain for one session. NULL on failure. */
struct chain *chain_open(struct chainset *, const char *profile,
    struct session *) WUNRES;
/*
 * Close every filter of the chain, last first: on_close(reason) for a
 * filter that has it (ABI 1.4), close() otherwise; reason as filter.h
 * documents it ("rabbit closed", "stream error: COND: why", ...).
 */
void	chain_close(struct chain *, const char *reason);
const char *chain_profile(const struct chain *);

/*
 * Run a unit through the chain in order. For XS_HEADER and XS_STANZA the
 * tree is u->st (filters may edit it). Returns the verdict; for
 * NAB_REPLACE *repl is the stanza to send (caller frees). Invalid
 * verdicts become NAB_CLOSE and are logged with the filter's name.
 */
enum nab_verdict chain_unit(struct chain *, enum nab_dir,
    const struct xs_unit *u, const char *bytes, struct stanza **repl);
void	chain_restart(struct chain *, enum nab_dir);
/* 1 if a filter of the chain has a stanza hook (it reads every stanza). */
int	chain_reads_stanzas(const struct chain *);

#endif /* NAB_CHAIN_H */
