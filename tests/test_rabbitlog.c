/*
 * Unit tests for rabbitlog: lines wait for the MAC, then go to MAC.log;
 * a session without a MAC ends in unknown-ADDRESS.log; the pending buffer
 * is bounded and says what it dropped; files are 0640 and appended to;
 * an unwritable directory drops the lines with one warning in the daemon
 * log. Files are written by the writer thread: rabbitlog_sync() waits
 * for it before a file is read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "rabbitlog.h"

static char	dir[64];

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test_rabbitlog.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Content of dir/name, or NULL if it does not exist (caller frees). */
static char *
slurp(const char *name, mode_t *mode)
{
	char		 path[256], *buf;
	struct stat	 st;
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	rabbitlog_sync();
	if (stat(path, &st) == -1 || (f = fopen(path, "r")) == NULL)
		return NULL;
	*mode = st.st_mode & 0777;
	buf = calloc(1, (size_t)st.st_size + 1);
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), st.st_size);
	fclose(f);
	return buf;
}

static void
test_waits_for_mac(void **state)
{
	struct rabbitlog	*rl = rabbitlog_new(dir, "192.0.2.7");
	mode_t			 mode;
	char			*s;

	assert_non_null(rl);
	rabbitlog_add(rl, "", "[vm] one\n", 9);
	assert_null(slurp("f81edfee27c1.log", &mode));
	rabbitlog_add(rl, "f81edfee27c1", "[vm] two\n", 9);
	s = slurp("f81edfee27c1.log", &mode);
	assert_non_null(s);
	assert_string_equal(s, "[vm] one\n[vm] two\n");
	assert_int_equal(mode, 0640);
	free(s);
	rabbitlog_close(rl, "f81edfee27c1");
	/* A second session of the same rabbit appends. */
	rl = rabbitlog_new(dir, "192.0.2.7");
	rabbitlog_add(rl, "f81edfee27c1", "[vm] three\n", 11);
	rabbitlog_close(rl, "f81edfee27c1");
	s = slurp("f81edfee27c1.log", &mode);
	assert_string_equal(s, "[vm] one\n[vm] two\n[vm] three\n");
	free(s);
}

static void
test_unknown_and_bounded(void **state)
{
	struct rabbitlog	*rl = rabbitlog_new(dir, "192.0.2.9");
	char			*big, *s;
	mode_t			 mode;

	big = malloc(RABBITLOG_PENDING_MAX);
	memset(big, 'x', RABBITLOG_PENDING_MAX);
	rabbitlog_add(rl, "", "[vm] a\n", 7);
	rabbitlog_add(rl, "", big, RABBITLOG_PENDING_MAX);	/* dropped */
	rabbitlog_close(rl, "");
	s = slurp("unknown-192.0.2.9.log", &mode);
	assert_non_null(s);
	assert_string_equal(s, "[vm] a\n[vm] !! nabproxy: 262144 bytes of log "
	    "dropped (rabbit not identified yet)\n");
	free(s);
	free(big);
	/* Nothing logged: no file. */
	rl = rabbitlog_new(dir, "192.0.2.10");
	rabbitlog_close(rl, "");
	assert_null(slurp("unknown-192.0.2.10.log", &mode));
}

/*
 * A directory that does not exist: lines are dropped, no file appears,
 * and the daemon log says so once (not once per line), naming the path.
 */
static void
test_unwritable_dir(void **state)
{
	struct rabbitlog	*rl;
	char			 missing[128], logpath[128], want[512], *s;
	mode_t			 mode;

	snprintf(missing, sizeof(missing), "%s/missing", dir);
	snprintf(logpath, sizeof(logpath), "%s/daemon.log", dir);
	assert_int_equal(log_open(logpath, 0), 0);
	rl = rabbitlog_new(missing, "1.2.3.4");
	assert_non_null(rl);
	rabbitlog_add(rl, "aabbccddeeff", "[vm] x\n", 7);
	rabbitlog_add(rl, "aabbccddeeff", "[vm] y\n", 7);
	rabbitlog_close(rl, "aabbccddeeff");
	rabbitlog_sync();	/* the writer's error reaches the daemon log */
	log_close();
	assert_null(slurp("missing", &mode));
	s = slurp("daemon.log", &mode);
	assert_non_null(s);
	snprintf(want, sizeof(want), "nabproxy[warning]: rabbit log"
	    " %s/aabbccddeeff.log: No such file or directory\n", missing);
	/* One line: the timestamp, then exactly the warning. */
	assert_non_null(strstr(s, want));
	assert_int_equal(strlen(strstr(s, want)), strlen(want));
	assert_ptr_equal(strchr(s, '\n'), s + strlen(s) - 1);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_waits_for_mac, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unknown_and_bounded, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_dir, setup,
		    teardown),
	};

	/* The 0640 the module asks for, whatever the caller's umask. */
	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
