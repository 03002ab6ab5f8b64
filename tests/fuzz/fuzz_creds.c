/*
 * libFuzzer target for the credential store's parser: the input is the
 * store file, written 0600 in a private temporary directory and opened
 * with creds_open(). A store that loads must answer every listed JID and
 * survive a rewrite: creds_put() of one more account, then a reload from
 * disk, gives back the same accounts plus that one. Deterministic; it
 * writes nowhere but its temporary directory.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "fuzzutil.h"

#define NEWJID	"fuzz@example.com"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	check_store(struct creds *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*path = fz_write(0, "credentials", data, size);
	struct creds	*c;
	char		 err[512];
	size_t		 n;
	int		 had;

	if ((c = creds_open(path, err, sizeof(err))) == NULL) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	n = creds_count(c);
	check_store(c, n);
	/* Rewriting costs an fsync: only for small stores. */
	if (n <= 4) {
		had = creds_get(c, NEWJID) != NULL;
		if (creds_put(c, NEWJID, "pw d", err, sizeof(err)) == -1 ||
		    creds_reload(c, err, sizeof(err)) == -1)
			abort();
		if (creds_count(c) != n + !had ||
		    strcmp(creds_get(c, "FUZZ@example.com"), "pw d") != 0)
			abort();
		check_store(c, creds_count(c));
		if (creds_remove(c, NEWJID, err, sizeof(err)) == -1 ||
		    creds_count(c) != n - had)
			abort();
	}
	creds_close(c);
	return 0;
}

/* Every listed JID, in order, has a password; nothing past the end. */
static void
check_store(struct creds *c, size_t n)
{
	const char	*jid, *prev = NULL;
	size_t		 i;

	for (i = 0; i < n; i++) {
		if ((jid = creds_jid(c, i)) == NULL ||
		    creds_get(c, jid) == NULL ||
		    (prev != NULL && strcmp(prev, jid) >= 0))
			abort();
		prev = jid;
	}
	if (creds_jid(c, n) != NULL)
		abort();
}
