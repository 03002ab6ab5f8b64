/*
 * state: nabrabbit's conf.bin (see state.h). The file holds passwords, so
 * it is written 0600 through a temporary file and rename(2), and a file
 * others may read is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"

const char *
state_get(const struct state *st, const char *mac)
{
	size_t	i;

	for (i = 0; i < st->st_n; i++)
		if (strcmp(st->st_e[i].se_mac, mac) == 0)
			return st->st_e[i].se_pw;
	return NULL;
}

int
state_set(struct state *st, const char *mac, const char *pw)
{
	struct state_entry	*ne;
	size_t			 i;

	for (i = 0; i < st->st_n; i++)
		if (strcmp(st->st_e[i].se_mac, mac) == 0)
			break;
	if (pw[0] == '\0') {
		if (i < st->st_n)
			st->st_e[i] = st->st_e[--st->st_n];
		return 0;
	}
	if (i == st->st_n) {
		if (st->st_n == st->st_cap) {
			ne = realloc(st->st_e, (st->st_cap * 2 + 16) *
			    sizeof(*ne));
			if (ne == NULL)
				return -1;
			st->st_e = ne;
			st->st_cap = st->st_cap * 2 + 16;
		}
		snprintf(st->st_e[st->st_n++].se_mac, 13, "%s", mac);
	}
	snprintf(st->st_e[i].se_pw, STATE_PW_MAX, "%s", pw);
	return 0;
}

int
state_load(struct state *st, const char *path, char *err, size_t errlen)
{
	FILE		*f;
	struct stat	 sb;
	char		 line[256], mac[64], pw[STATE_PW_MAX + 8];
	unsigned	 no = 0;

	memset(st, 0, sizeof(*st));
	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: group or others may read it "
		    "(chmod 600)", path);
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		no++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%63s %71s", mac, pw) != 2 ||
		    strlen(mac) != 12 || strlen(pw) >= STATE_PW_MAX ||
		    state_set(st, mac, pw) == -1) {
			snprintf(err, errlen, "%s:%u: expected \"MAC "
			    "PASSWORD\"", path, no);
			fclose(f);
			state_free(st);
			return -1;
		}
	}
	explicit_bzero(line, sizeof(line));
	explicit_bzero(pw, sizeof(pw));
	fclose(f);
	return 0;
}

int
state_save(const struct state *st, const char *path, char *err,
    size_t errlen)
{
	char	tmp[4096];
	FILE	*f;
	int	fd, bad = 0;
	size_t	i;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1 || (f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	fputs("# nabrabbit state: MAC PASSWORD (what each rabbit keeps in "
	    "flash)\n", f);
	for (i = 0; i < st->st_n; i++)
		fprintf(f, "%s %s\n", st->st_e[i].se_mac, st->st_e[i].se_pw);
	bad |= fflush(f) == EOF || fsync(fd) == -1;
	bad |= fclose(f) == EOF;
	if (bad || rename(tmp, path) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

void
state_free(struct state *st)
{
	if (st->st_e != NULL)
		explicit_bzero(st->st_e, st->st_cap * sizeof(*st->st_e));
	free(st->st_e);
	memset(st, 0, sizeof(*st));
}
