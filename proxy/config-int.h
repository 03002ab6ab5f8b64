/*
 * config internals shared by config.c (what the sections mean: the
 * [nabproxy] keys and cross-key rules), config_profile.c (filters and
 * profiles) and config_parse.c
 * (the syntax: error list, string pool, files and includes read into
 * sections, and the value types). Not a public interface: nothing else
 * includes it but tests/test_config_parse.c.
 */
#ifndef NAB_CONFIG_INT_H
#define NAB_CONFIG_INT_H

#include <sys/stat.h>

#include <stddef.h>
#include <stdlib.h>

#include "attrib.h"
#include "config.h"

/* Value types of the [nabproxy] keys. */
enum config_type {
	CT_STR = 0,
	CT_LISTEN,
	CT_UPSTREAM,
	CT_UINT,
	CT_SIZE,	/* bytes, K and M suffixes */
	CT_DURATION,	/* seconds, s, m and h suffixes */
	CT_BOOL,
	CT_ENUM,	/* one of k_words */
	CT_PIN		/* sha256:HEX, a list */
};

/* One [nabproxy] key; the default goes through the same parser. */
struct config_key {
	const char		*k_name;
	enum config_type	 k_type;
	unsigned long		 k_min;
	unsigned long		 k_max;
	const char		*k_def;
	int			 k_repeat;
	size_t			 k_off;		/* field in struct config */
	const char *const	*k_words;	/* CT_ENUM: NULL-terminated */
};

/* A parsed value, before it is stored into its field. */
union config_val {
	unsigned int		 u;
	int			 i;
	char			*s;
	struct config_addr	 a;
	unsigned char		 pin[CONFIG_PIN_LEN];
};

/*
 * Every string a config owns (section names, keys, values, file names,
 * joined paths), freed in one go with config_pool_free().
 */
struct config_pool {
	char		**cp_str;
	size_t		  cp_n;
	size_t		  cp_cap;
};

/* One config_load() run. */
struct config_parse {
	struct config		*cfg;	/* sections are appended here */
	struct config_pool	*pool;	/* their strings are kept here */
	struct config_errors	*errs;
	const char		*path;	/* the main file */
	struct stat		 open[CONFIG_INCLUDE_DEPTH + 1];
	size_t			 depth;	/* files in open[] */
};

/*
 * Grows a malloc'd array of n elements of size bytes to n + 1. Returns
 * the new array, or NULL on ENOMEM with arr still valid and unchanged.
 */
static inline void *
config_push(void *arr, size_t n, size_t size)
{
	return reallocarray(arr, n + 1, size);
}

/*
 * Hands the malloc'd string s to pool. Returns s, or NULL on ENOMEM
 * after freeing s. NULL s is passed through, so
 * config_pool_keep(asprintf...) chains work.
 */
char	*config_pool_keep(struct config_pool *, char *) NONNULL(1);
/* Copy of the first n bytes of s, owned by pool. NULL on ENOMEM. */
char	*config_pool_dup(struct config_pool *, const char *, size_t)
	    NONNULL(1, 2);
/* Frees every string in pool and leaves it empty, ready for reuse. */
void	 config_pool_free(struct config_pool *) NONNULL(1);

/*
 * rel taken relative to the directory of file: rel itself if it is
 * absolute or file has no directory part, else "dir/rel" in pool.
 * NULL on ENOMEM.
 */
const char *config_path_join(struct config_pool *, const char *file,
	    const char *rel) NONNULL(1, 2, 3);

/*
 * Reads one file into p->cfg->sections, following its includes. from and
 * fromline name the include line, or are NULL and 0 for the main file.
 * Errors go to p->errs as "file:line: ..."; reading goes on past bad
 * lines so that all of them are reported. Strings go to p->pool. Keys
 * are not checked against any section: that is config.c's job.
 */
void	 config_parse_file(struct config_parse *p, const char *path,
	    const char *from, unsigned int fromline) NONNULL(1, 2);
/*
 * Frees cfg->sections and their entries (not the strings, which the pool
 * owns) and leaves cfg with no sections.
 */
void	 config_sections_free(struct config *) NONNULL(1);

/*
 * Next white-space separated word of *sp: returns its start and sets
 * *len, advancing *sp past it. NULL when no word is left.
 */
const char *config_next_word(const char **sp, size_t *len) NONNULL(1, 2);
/*
 * Normalises the len bytes at s, a MAC or, with prefix_ok, a prefix
 * ending in '*', into out (16 bytes): ':' and '-' dropped, hex in lower
 * case. Returns 0, or -1 if s is neither.
 */
int	 config_mac_norm(const char *s, size_t len, char *out, int prefix_ok)
	    NONNULL(1, 3) WUNRES;
/*
 * Parses s for key k into *v (a new string for CT_STR, which the caller
 * then owns). Returns 0, or -1 with "key: 's' what, allowed ..." in err.
 */
int	 config_val_parse(const struct config_key *k, const char *s,
	    union config_val *v, char *err, size_t errlen)
	    NONNULL(1, 2, 3, 4) WUNRES;
/*
 * Puts *in into k's field of cfg and the previous value into *out; a
 * CT_STR string changes hands both ways. Not for CT_LISTEN nor CT_PIN,
 * lists.
 */
void	 config_val_store(struct config *cfg, const struct config_key *k,
	    union config_val *in, union config_val *out) NONNULL(1, 2, 3, 4);

/*
 * config_profile.c. cfg->filters from the built-ins (a NULL-terminated
 * list) and the [filter NAME] sections; errors go to p->errs.
 */
void	 config_build_filters(struct config_parse *p,
	    const char *const *builtin) NONNULL(1, 2);
/* One [profile NAME] section into p->cfg->profiles; errors to p->errs. */
void	 config_build_profile(struct config_parse *p,
	    struct config_section *sec) NONNULL(1, 2);
/*
 * Appends a profile called name (a string the pool owns) for section sec
 * (NULL if implicit). Returns it, or NULL on ENOMEM with cfg->profiles
 * unchanged.
 */
struct config_profile *config_profile_add(struct config *cfg,
	    const char *name, const struct config_section *sec) NONNULL(1, 2);

#endif /* NAB_CONFIG_INT_H */
