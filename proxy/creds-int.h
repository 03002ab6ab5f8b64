/*
 * creds-int: what creds.c (the store's API) and creds_file.c (its file:
 * reading, the line format, atomic writing) share. Private to the two.
 */
#ifndef NAB_CREDS_INT_H
#define NAB_CREDS_INT_H

#include <sys/types.h>

#include <stddef.h>

#define CREDS_HEADER	"# nabproxy credential store: \"bare-jid password\"" \
			" per line, written by nabproxy.\n"

struct creds_entry {
	char		*ce_jid;	/* ASCII lower case */
	char		*ce_pw;		/* the server's password */
	char		*ce_rpw;	/* the rabbit's, if the operator let it differ */
	long long	 ce_allow;	/* allow-register window end, or 0 */
	unsigned int	 ce_line;	/* while loading, for messages */
};

#define X_RABBIT	"/rabbit "
#define X_ALLOW		"/allow-register "

struct creds_writer;

struct creds {
	char			*cr_path;
	uid_t			 cr_owner;	/* the file's required owner */
	struct creds_entry	*cr_ent;	/* sorted by ce_jid */
	size_t			 cr_n;
	size_t			 cr_cap;
	struct creds_writer	*cr_w;		/* after creds_async(), or NULL */
};

/* creds.c */
int	jid_norm(const char *, size_t, char *, size_t);
void	pw_free(char *);
void	ents_clear(struct creds *);
int	ent_find(const struct creds *, const char *, size_t *);
int	ent_insert(struct creds *, size_t, struct creds_entry *);
void	ent_take(struct creds *, size_t, struct creds_entry *);
int	ent_dup(struct creds_entry *, const struct creds_entry *);
/* jid's entry becomes *op (a copy), or goes if op->ce_pw is NULL; -1 ENOMEM. */
int	op_replay(struct creds *, const struct creds_entry *);

/* creds_file.c */
int	load(const char *, uid_t, struct creds *, char *, size_t);
void	resync(struct creds *);
int	store_write(const struct creds *, char *, size_t);
/* An exclusive flock(2) on path's directory: the fd to close, or -1. */
int	store_lock(const char *, char *, size_t);

/* creds_writer.c: queue "jid's entry becomes *e" (e NULL: removal). */
int	writer_queue(struct creds *, const struct creds_entry *, const char *);
/*
 * The thread's "written up to" (an operation sequence number). Read it
 * before reading the file: a write the thread finishes meanwhile may be
 * after the file was read.
 */
unsigned long long writer_written(struct creds *);
/* The operations after upto, replayed onto fresh; -1 on ENOMEM. */
int	writer_replay(struct creds *, struct creds *, unsigned long long upto);
/* Writes what is queued, stops the thread, reports; c->cr_w is NULL after. */
void	writer_stop(struct creds *);

#endif /* NAB_CREDS_INT_H */
