/*
 * fuzzutil.h: what the file-reading fuzz targets share. One private
 * temporary directory per process (mkdtemp under $TMPDIR, else /tmp),
 * removed with its files at exit; files are written there and nowhere
 * else. Header-only, like tests/nabtest.h.
 */
#ifndef NAB_FUZZUTIL_H
#define NAB_FUZZUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FZ_FILES_MAX	4

static char	fz_dir[512];
static char	fz_files[FZ_FILES_MAX][600];

static void
fz_cleanup(void)
{
	size_t	i;

	for (i = 0; i < FZ_FILES_MAX; i++)
		if (fz_files[i][0] != '\0')
			(void)unlink(fz_files[i]);
	if (fz_dir[0] != '\0')
		(void)rmdir(fz_dir);
}

/* The directory, made on the first call; exits if it cannot be made. */
__attribute__((unused)) static const char *
fz_tmpdir(void)
{
	const char	*t = getenv("TMPDIR");

	if (fz_dir[0] != '\0')
		return fz_dir;
	snprintf(fz_dir, sizeof(fz_dir), "%s/nabfuzz.XXXXXX",
	    t != NULL && *t == '/' ? t : "/tmp");
	if (mkdtemp(fz_dir) == NULL) {
		perror("fuzz: mkdtemp");
		exit(1);
	}
	atexit(fz_cleanup);
	return fz_dir;
}

/*
 * Write n bytes to the temp directory's file name (slot i names it for
 * the clean-up), mode 0600, replacing it. Returns the path; exits on an
 * I/O error, which is the machine's fault, not the input's.
 */
__attribute__((unused)) static const char *
fz_write(size_t i, const char *name, const void *p, size_t n)
{
	ssize_t	w;
	int	fd;

	if (i >= FZ_FILES_MAX)
		abort();
	snprintf(fz_files[i], sizeof(fz_files[i]), "%s/%s", fz_tmpdir(), name);
	if ((fd = open(fz_files[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		perror("fuzz: open");
		exit(1);
	}
	while (n > 0) {
		if ((w = write(fd, p, n)) == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			perror("fuzz: write");
			exit(1);
		}
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	close(fd);
	return fz_files[i];
}

#endif /* NAB_FUZZUTIL_H */
