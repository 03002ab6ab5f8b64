/*
 * state: the passwords rabbits keep, like the firmware keeps its own in
 * flash (conf.bin): one "MAC PASSWORD" line each in a file nabrabbit
 * reads at start and replaces (0600, atomically) at the end.
 */
#ifndef NAB_RABBIT_STATE_H
#define NAB_RABBIT_STATE_H

#include <stddef.h>

#define STATE_PW_MAX	64

struct state_entry {
	char	se_mac[13];
	char	se_pw[STATE_PW_MAX];
};

struct state {
	struct state_entry	*st_e;
	size_t			 st_n, st_cap;
};

/*
 * Reads path into st (a missing file is empty). Returns 0, or -1 with a
 * message in err (unreadable, a malformed line, group/other access).
 */
int		 state_load(struct state *st, const char *path, char *err,
		    size_t errlen);
/* The password kept for mac, or NULL. */
const char	*state_get(const struct state *st, const char *mac);
/* Set (pw "" removes) mac's password; -1 without memory. */
int		 state_set(struct state *st, const char *mac, const char *pw);
/* Writes st to path: PATH.tmp (0600), fsync, rename. 0, or -1 and err. */
int		 state_save(const struct state *st, const char *path, char *err,
		    size_t errlen);
void		 state_free(struct state *st);

#endif /* NAB_RABBIT_STATE_H */
