/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config_load / config_parse_buffer: every key, includes, commands, and
 * Debian's own nrpe.cfg.  Fixtures: tests/fixtures/config/ under $XV_TOP. */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../guest-agent/config.h"

static char errbuf[CONFIG_ERR_MAX];

static struct agent_config *parse_ok(const char *text)
{
	struct agent_config *c = NULL;

	if (config_parse_buffer("t.cfg", text, strlen(text), 0, &c, errbuf, sizeof errbuf) != 0)
		fail_msg("unexpected error: %s\n--- config:\n%s", errbuf, text);
	assert_non_null(c);
	return c;
}

static void parse_err(const char *text, const char *want)
{
	struct agent_config *c = NULL;
	int rc;

	errbuf[0] = '\0';
	rc = config_parse_buffer("t.cfg", text, strlen(text), 0, &c, errbuf, sizeof errbuf);
	if (rc != -1 || c != NULL)
		fail_msg("accepted:\n%s", text);
	if (strcmp(errbuf, want) != 0)
		fail_msg("config <%s>:\n  error '%s'\n  want  '%s'", text, errbuf, want);
}

/* Path of a fixture under tests/fixtures/config/. */
static const char *fx(const char *rel)
{
	static char path[PATH_MAX];
	const char *top = getenv("XV_TOP");

	snprintf(path, sizeof path, "%s/tests/fixtures/config/%s", top ? top : ".", rel);
	return path;
}

/* Joined notices, one per line, for easy comparison. */
static const char *notices(const struct agent_config *c)
{
	static char out[1 << 16];
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < c->nnotices; i++)
		o += (size_t)snprintf(out + o, sizeof out - o, "%s\n", c->notices[i]);
	return out;
}

/* The argv of command `name` as text, words in []. */
static const char *cmdline(const struct agent_config *c, const char *name)
{
	static char out[4096];
	const struct command *cmd = config_command(c, name);
	size_t o = 0;

	if (cmd == NULL)
		return "(undefined)";
	out[0] = '\0';
	for (size_t i = 0; i < cmd->argv->nwords; i++)
		o += (size_t)snprintf(out + o, sizeof out - o, "[%s]", cmd->argv->words[i]);
	return out;
}

/* ------------------------------------------------------------ syntax */

static void test_defaults(void **state)
{
	struct agent_config *c = parse_ok("");
	struct passwd *pw = getpwnam(CONFIG_DEFAULT_PROBE_USER);

	assert_int_equal(c->ncommands, 0);
	assert_null(config_command(c, "x"));
	assert_int_equal(c->command_timeout, 60);
	assert_int_equal(c->connection_timeout, 30);
	assert_int_equal(c->max_concurrent, 8);
	assert_int_equal(c->max_queue, 64);
	assert_int_equal(c->output_cap, 65535);
	assert_int_equal(c->arg_max_length, 256);
	assert_int_equal(c->arg_policy.allow_args, 0);
	assert_int_equal(c->arg_policy.max_len, 256);
	assert_ptr_equal(c->arg_policy.allowlist, &c->arg_allowlist_re);
	assert_string_equal(c->arg_allowlist, CONFIG_DEFAULT_ARG_ALLOWLIST);
	assert_string_equal(c->channel, "vchan");
	assert_string_equal(c->probe_user, "nobody");
	assert_null(c->probe_group);
	assert_non_null(pw);
	assert_int_equal(c->probe_uid, pw->pw_uid);
	assert_int_equal(c->probe_gid, pw->pw_gid);
	assert_true(c->nprobe_groups >= 1);
	assert_null(c->command_prefix);
	assert_int_equal(c->nkeep_env, 0);
	assert_null(c->pid_file);
	assert_null(c->log_file);
	assert_int_equal(c->log_facility, LOG_DAEMON);
	assert_int_equal(c->disable_syslog, 0);
	assert_int_equal(c->debug, 0);
	assert_int_equal(c->log_level, LOG_LVL_INFO);
	assert_int_equal(c->nnotices, 0);
	assert_int_equal(c->publish_other_nics, 1);
	assert_int_equal(c->publish_loopback, 0);
	assert_int_equal(c->publish_legacy, 0);
	assert_int_equal(c->publish_max_nodes, 300);
	assert_null(c->os_release_file);
	assert_null(c->sysfs_net_dir);
	config_free(c);
	config_free(NULL);
}

static void test_syntax(void **state)
{
	struct agent_config *c;

	/* comments, blank lines, whitespace, CRLF, '=' inside the value */
	c = parse_ok("# comment\n\n   \t\n  # indented comment\n"
		     "  command_timeout  =   7  \r\n"
		     "command[eq]=/bin/echo a=b # not a comment\n"
		     "max_queue=3");
	assert_int_equal(c->command_timeout, 7);
	assert_int_equal(c->max_queue, 3);
	assert_string_equal(cmdline(c, "eq"), "[/bin/echo][a=b][#][not][a][comment]");
	config_free(c);

	/* a later value replaces an earlier one */
	c = parse_ok("command_timeout=7\ncommand_timeout=9\n");
	assert_int_equal(c->command_timeout, 9);
	config_free(c);

	parse_err("just text\n", "t.cfg:1: expected key=value");
	parse_err("\n\n=x\n", "t.cfg:3: missing key before '='");
	parse_err("  = x\n", "t.cfg:1: missing key before '='");
	parse_err("debug=\n", "t.cfg:1: 'debug' has no value");
	parse_err("debug=   \n", "t.cfg:1: 'debug' has no value");
	parse_err("#\nfoo=1\n", "t.cfg:2: unknown key 'foo'");
	parse_err("Command_timeout=5\n", "t.cfg:1: unknown key 'Command_timeout'");
	parse_err("command _timeout=5\n", "t.cfg:1: unknown key 'command _timeout'");

	/* NUL bytes and line length */
	struct agent_config *cc = NULL;
	assert_int_equal(
	    config_parse_buffer("t.cfg", "debug=0\ndeb\0ug=1\n", 17, 0, &cc, errbuf, sizeof errbuf),
	    -1);
	assert_string_equal(errbuf, "t.cfg:2: NUL byte in line");
	char *big = malloc(CONFIG_LINE_MAX + 3);
	memset(big, ' ', CONFIG_LINE_MAX + 2);
	big[0] = '#';
	big[CONFIG_LINE_MAX] = '\n';
	big[CONFIG_LINE_MAX + 1] = '\0';
	c = parse_ok(big); /* exactly CONFIG_LINE_MAX bytes */
	config_free(c);
	big[CONFIG_LINE_MAX] = ' ';
	big[CONFIG_LINE_MAX + 1] = '\n';
	big[CONFIG_LINE_MAX + 2] = '\0';
	parse_err(big, "t.cfg:1: line longer than 8192 bytes");
	free(big);

	/* the last line needs no newline; err may be NULL */
	c = parse_ok("debug=1");
	assert_int_equal(c->debug, 1);
	config_free(c);
	assert_int_equal(config_parse_buffer("t.cfg", "x", 1, 0, &cc, NULL, 0), -1);
}

/* ------------------------------------------------------------ keys */

static const struct {
	const char *text;
	const char *err;
} bad_values[] = {
    {"command_timeout=0", "t.cfg:1: command_timeout: 0 is out of range 1..86400"},
    {"command_timeout=86401", "t.cfg:1: command_timeout: 86401 is out of range 1..86400"},
    {"command_timeout=abc", "t.cfg:1: command_timeout: 'abc' is not a number"},
    {"command_timeout=-1", "t.cfg:1: command_timeout: '-1' is not a number"},
    {"command_timeout=5s", "t.cfg:1: command_timeout: '5s' is not a number"},
    {"command_timeout=0x10", "t.cfg:1: command_timeout: '0x10' is not a number"},
    {"command_timeout=99999999999", "t.cfg:1: command_timeout: '99999999999' is not a number"},
    {"connection_timeout=0", "t.cfg:1: connection_timeout: 0 is out of range 1..86400"},
    {"connection_timeout=86401", "t.cfg:1: connection_timeout: 86401 is out of range 1..86400"},
    {"connection_timeout=x", "t.cfg:1: connection_timeout: 'x' is not a number"},
    {"dont_blame_nrpe=2", "t.cfg:1: dont_blame_nrpe: '2' is not 0 or 1"},
    {"dont_blame_nrpe=yes", "t.cfg:1: dont_blame_nrpe: 'yes' is not 0 or 1"},
    {"debug=x", "t.cfg:1: debug: 'x' is not 0 or 1"},
    {"disable_syslog=01", "t.cfg:1: disable_syslog: '01' is not 0 or 1"},
    {"nrpe_user=nosuchuser_xv", "t.cfg:1: nrpe_user: unknown user 'nosuchuser_xv'"},
    {"nrpe_user=root", "t.cfg:1: nrpe_user: 'root' is root: probes never run as root"},
    {"#\nnrpe_user=0", "t.cfg:2: nrpe_user: '0' is root: probes never run as root"},
    {"nrpe_user=nobody\nnrpe_group=nosuchgroup_xv",
     "t.cfg:2: nrpe_group: unknown group 'nosuchgroup_xv'"},
    {"nrpe_group=root", "t.cfg:1: nrpe_group: group 0 (root): probes never run with group root"},
    {"nrpe_group=0", "t.cfg:1: nrpe_group: group 0 (root): probes never run with group root"},
    {"command_prefix=$ARG1$", "t.cfg:1: command_prefix: column 16: $ARG1$ in the program name: "
			      "the program must be fixed"},
    {"command_prefix=/usr/bin/sudo $ARG1$",
     "t.cfg:1: command_prefix: $ARGn$ placeholders are not allowed here"},
    {"command_prefix=sudo -n", "t.cfg:1: command_prefix: program 'sudo' is not an absolute path"},
    {"command_prefix=/usr/bin/sudo 'x", "t.cfg:1: command_prefix: column 30: unterminated "
					"single quote"},
    {"keep_env_vars=A,,B", "t.cfg:1: keep_env_vars: name 2 is empty"},
    {"keep_env_vars=A, ", "t.cfg:1: keep_env_vars: name 2 is empty"},
    {"keep_env_vars=1A", "t.cfg:1: keep_env_vars: '1A' is not a variable name "
			 "([A-Za-z_][A-Za-z0-9_]*)"},
    {"keep_env_vars=PATH,A-B", "t.cfg:1: keep_env_vars: 'A-B' is not a variable name "
			       "([A-Za-z_][A-Za-z0-9_]*)"},
    {"log_facility=bogus", "t.cfg:1: log_facility: unknown facility 'bogus' (kern, user, mail, "
			   "daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, "
			   "local0..local7)"},
    {"log_facility=LOCAL0", "t.cfg:1: log_facility: unknown facility 'LOCAL0' (kern, user, "
			    "mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, "
			    "local0..local7)"},
    {"log_level=loud", "t.cfg:1: log_level: 'loud' is not one of err, warn, info, debug"},
    {"log_level=4", "t.cfg:1: log_level: '4' is not one of err, warn, info, debug"},
    {"pid_file=nrpe.pid", "t.cfg:1: pid_file: 'nrpe.pid' is not an absolute path"},
    {"log_file=../x.log", "t.cfg:1: log_file: '../x.log' is not an absolute path"},
    {"max_commands=-1", "t.cfg:1: max_commands: '-1' is not a number"},
    {"max_commands=many", "t.cfg:1: max_commands: 'many' is not a number"},
    {"channel=tcp", "t.cfg:1: channel: expected 'vchan' or 'socket:DIR' with DIR an absolute "
		    "path"},
    {"channel=socket:", "t.cfg:1: channel: expected 'vchan' or 'socket:DIR' with DIR an "
			"absolute path"},
    {"channel=socket:run/x", "t.cfg:1: channel: expected 'vchan' or 'socket:DIR' with DIR an "
			     "absolute path"},
    {"channel=VCHAN", "t.cfg:1: channel: expected 'vchan' or 'socket:DIR' with DIR an absolute "
		      "path"},
    {"publish_max_nodes=63", "t.cfg:1: publish_max_nodes: 63 is out of range 64..600"},
    {"publish_max_nodes=601", "t.cfg:1: publish_max_nodes: 601 is out of range 64..600"},
    {"os_release_file=etc/os-release",
     "t.cfg:1: os_release_file: 'etc/os-release' is not an absolute path"},
    {"sysfs_net_dir=sys", "t.cfg:1: sysfs_net_dir: 'sys' is not an absolute path"},
    {"max_concurrent=0", "t.cfg:1: max_concurrent: 0 is out of range 1..256"},
    {"max_concurrent=257", "t.cfg:1: max_concurrent: 257 is out of range 1..256"},
    {"max_queue=4097", "t.cfg:1: max_queue: 4097 is out of range 0..4096"},
    {"max_queue=-0", "t.cfg:1: max_queue: '-0' is not a number"},
    {"output_cap=255", "t.cfg:1: output_cap: 255 is out of range 256..65535"},
    {"output_cap=65536", "t.cfg:1: output_cap: 65536 is out of range 256..65535"},
    {"arg_max_length=0", "t.cfg:1: arg_max_length: 0 is out of range 1..4096"},
    {"arg_max_length=4097", "t.cfg:1: arg_max_length: 4097 is out of range 1..4096"},
    {"arg_allowlist=[a-z", "t.cfg:1: arg_allowlist: invalid regular expression: Unmatched [, "
			   "[^, [:, [., or [="},
    {"arg_allowlist=(a{1,999}){1,999}", "t.cfg:1: arg_allowlist: pattern too complex: its "
					"repetitions expand to more than 5000 elements"},
    {"arg_allowlist=[0-9]++", "t.cfg:1: arg_allowlist: byte 7: adjacent repetition operators "
			      "(undefined in POSIX regular expressions)"},
    {"arg_allowlist=a{2,1}", "t.cfg:1: arg_allowlist: invalid regular expression: Invalid "
			     "content of \\{\\}"},
};

static void test_bad_values(void **state)
{
	for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++)
		parse_err(bad_values[i].text, bad_values[i].err);

	/* too long allowlist */
	char *line = malloc(CONFIG_ALLOWLIST_MAX + 32);
	int n = sprintf(line, "arg_allowlist=");
	memset(line + n, 'a', CONFIG_ALLOWLIST_MAX + 1);
	line[n + CONFIG_ALLOWLIST_MAX + 1] = '\0';
	parse_err(line, "t.cfg:1: arg_allowlist: longer than 1024 bytes");
	line[n + CONFIG_ALLOWLIST_MAX] = '\0';
	config_free(parse_ok(line));
	free(line);

	/* too many keep_env_vars names */
	char env[CONFIG_ENV_MAX * 8 + 32];
	n = sprintf(env, "keep_env_vars=V0");
	for (int i = 1; i < CONFIG_ENV_MAX; i++)
		n += sprintf(env + n, ",V%d", i);
	struct agent_config *c = parse_ok(env);
	assert_int_equal(c->nkeep_env, CONFIG_ENV_MAX);
	assert_null(c->keep_env[CONFIG_ENV_MAX]);
	config_free(c);
	sprintf(env + n, ",VX");
	parse_err(env, "t.cfg:1: keep_env_vars: more than 64 names");
}

static void test_good_values(void **state)
{
	struct agent_config *c;
	struct passwd *pw = getpwnam("nobody");
	struct group *gr = getgrnam("nogroup");
	uid_t nobody_uid;
	gid_t nogroup_gid;

	c = parse_ok("command_timeout=1\nconnection_timeout=86400\ndont_blame_nrpe=1\n"
		     "debug=0\nlog_facility=local3\nlog_level=warn\npid_file=/run/x.pid\n"
		     "log_file=/var/log/xv.log\ndisable_syslog=1\nchannel=socket:/tmp/xv\n"
		     "max_concurrent=256\nmax_queue=0\noutput_cap=256\narg_max_length=4096\n"
		     "arg_allowlist=[0-9]+\nkeep_env_vars= LANG , TZ,LANG,_X1\n");
	assert_int_equal(c->command_timeout, 1);
	assert_int_equal(c->connection_timeout, 86400);
	assert_int_equal(c->arg_policy.allow_args, 1);
	assert_int_equal(c->log_facility, LOG_LOCAL3);
	assert_int_equal(c->log_level, LOG_LVL_WARN);
	assert_string_equal(c->pid_file, "/run/x.pid");
	assert_string_equal(c->log_file, "/var/log/xv.log");
	assert_int_equal(c->disable_syslog, 1);
	assert_string_equal(c->channel, "socket:/tmp/xv");
	assert_int_equal(c->max_concurrent, 256);
	assert_int_equal(c->max_queue, 0);
	assert_int_equal(c->output_cap, 256);
	assert_int_equal(c->arg_max_length, 4096);
	assert_int_equal(c->arg_policy.max_len, 4096);
	assert_string_equal(c->arg_allowlist, "[0-9]+");
	assert_int_equal(regexec(c->arg_policy.allowlist, "123", 0, NULL, 0), 0);
	assert_int_not_equal(regexec(c->arg_policy.allowlist, "12a", 0, NULL, 0), 0);
	assert_int_equal(c->nkeep_env, 3); /* duplicates dropped */
	assert_string_equal(c->keep_env[0], "LANG");
	assert_string_equal(c->keep_env[1], "TZ");
	assert_string_equal(c->keep_env[2], "_X1");
	assert_null(c->keep_env[3]);
	assert_int_equal(c->nnotices, 0);
	config_free(c);

	/* a later keep_env_vars replaces the earlier list, as in nrpe */
	c = parse_ok("keep_env_vars=A,B\nkeep_env_vars=C\n");
	assert_int_equal(c->nkeep_env, 1);
	assert_string_equal(c->keep_env[0], "C");
	config_free(c);

	/* debug=1 wins over log_level, in any order; debug=0 changes nothing */
	c = parse_ok("debug=1\nlog_level=err\n");
	assert_int_equal(c->log_level, LOG_LVL_DEBUG);
	config_free(c);
	c = parse_ok("log_level=err\ndebug=0\n");
	assert_int_equal(c->log_level, LOG_LVL_ERR);
	config_free(c);
	c = parse_ok("log_level=debug\n");
	assert_int_equal(c->log_level, LOG_LVL_DEBUG);
	config_free(c);
	c = parse_ok("log_level=info\n");
	assert_int_equal(c->log_level, LOG_LVL_INFO);
	config_free(c);

	/* every facility name */
	static const char *const fac[] = {"kern",     "user",	"mail",	  "daemon", "auth",
					  "syslog",   "lpr",	"news",	  "uucp",   "cron",
					  "authpriv", "ftp",	"local0", "local1", "local2",
					  "local3",   "local4", "local5", "local6", "local7"};
	for (size_t i = 0; i < sizeof fac / sizeof fac[0]; i++) {
		char line[64];
		snprintf(line, sizeof line, "log_facility=%s", fac[i]);
		c = parse_ok(line);
		assert_int_equal(c->log_facility, config_facility_parse(fac[i]));
		config_free(c);
	}
	assert_int_equal(config_facility_parse("daemon"), LOG_DAEMON);
	assert_int_equal(config_facility_parse("lrp"), -1);

	/* probe user and group */
	assert_non_null(pw);
	assert_non_null(gr);
	nobody_uid = pw->pw_uid;
	nogroup_gid = gr->gr_gid;
	c = parse_ok("nrpe_user=nobody\nnrpe_group=nogroup\n");
	assert_string_equal(c->probe_user, "nobody");
	assert_string_equal(c->probe_group, "nogroup");
	assert_int_equal(c->probe_uid, nobody_uid);
	assert_int_equal(c->probe_gid, nogroup_gid);
	assert_true(c->nprobe_groups >= 1);
	assert_int_equal(c->probe_groups[0], nogroup_gid);
	config_free(c);
	c = parse_ok("nrpe_user=65534\n"); /* numeric, as nrpe accepts */
	assert_int_equal(c->probe_uid, 65534);
	config_free(c);
	if (getpwuid(4242424) == NULL) {
		parse_err("nrpe_user=4242424\n", "t.cfg:1: nrpe_user: uid 4242424 has no passwd "
						 "entry: set nrpe_group as well");
		c = parse_ok("nrpe_user=4242424\nnrpe_group=4242425\n");
		assert_int_equal(c->probe_uid, 4242424);
		assert_int_equal(c->probe_gid, 4242425);
		assert_int_equal(c->nprobe_groups, 1);
		assert_int_equal(c->probe_groups[0], 4242425);
		config_free(c);
	}
	if ((pw = getpwnam("nagios")) != NULL) {
		uid_t uid = pw->pw_uid;
		gid_t gid = pw->pw_gid;
		c = parse_ok("nrpe_user=nagios\n");
		assert_int_equal(c->probe_uid, uid);
		assert_int_equal(c->probe_gid, gid);
		config_free(c);
	}

	/* max_commands is nrpe's name for max_concurrent */
	c = parse_ok("max_commands=4\n");
	assert_int_equal(c->max_concurrent, 4);
	assert_string_equal(notices(c), "t.cfg:1: 'max_commands' is nrpe's name for "
					"max_concurrent: max_concurrent=4\n");
	config_free(c);
	c = parse_ok("max_commands=0\n");
	assert_int_equal(c->max_concurrent, 256);
	assert_string_equal(
	    notices(c), "t.cfg:1: 'max_commands' is nrpe's name for max_concurrent: "
			"max_concurrent=256 (nrpe's 0, no limit, becomes the agent's ceiling)\n");
	config_free(c);
	c = parse_ok("max_commands=1000\n");
	assert_int_equal(c->max_concurrent, 256);
	assert_string_equal(notices(c), "t.cfg:1: 'max_commands' is nrpe's name for "
					"max_concurrent: max_concurrent=256 (the agent's "
					"ceiling)\n");
	config_free(c);
}

/* the data tree's keys (guest-agent/datatree.h) */
static void test_datatree_keys(void **state)
{
	struct agent_config *c;

	c = parse_ok("publish_other_nics=0\npublish_loopback=1\npublish_legacy=1\n"
		     "publish_max_nodes=600\nos_release_file=/etc/os-release\n"
		     "sysfs_net_dir=/tmp/net\n");
	assert_int_equal(c->publish_other_nics, 0);
	assert_int_equal(c->publish_loopback, 1);
	assert_int_equal(c->publish_legacy, 1);
	assert_int_equal(c->publish_max_nodes, 600);
	assert_string_equal(c->os_release_file, "/etc/os-release");
	assert_string_equal(c->sysfs_net_dir, "/tmp/net");
	config_free(c);
}

static void test_ignored_keys(void **state)
{
	static const char *const net[] = {
	    "server_port",	    "server_address",
	    "allowed_hosts",	    "listen_queue_size",
	    "ssl_version",	    "ssl_use_adh",
	    "ssl_cipher_list",	    "ssl_cert_file",
	    "ssl_cacert_file",	    "ssl_privatekey_file",
	    "ssl_client_certs",	    "ssl_logging",
	    "ssl_shutdown_timeout", "allow_weak_random_seed",
	};
	struct agent_config *c;
	char text[128], want[256];

	for (size_t i = 0; i < sizeof net / sizeof net[0]; i++) {
		snprintf(text, sizeof text, "#\n%s=whatever it was\n", net[i]);
		snprintf(want, sizeof want, "t.cfg:2: '%s' has no meaning over vchan, ignored\n",
			 net[i]);
		c = parse_ok(text);
		assert_string_equal(notices(c), want);
		config_free(c);
	}
	c = parse_ok("allow_bash_command_substitution=1\nallow_bash_command_substitution=0\n"
		     "nasty_metachars=|`&><'\\\"\\\\[]{};\\r\\n\n");
	assert_string_equal(notices(c),
			    "t.cfg:1: 'allow_bash_command_substitution': nothing ever runs through "
			    "a shell, ignored\n"
			    "t.cfg:2: 'allow_bash_command_substitution': nothing ever runs through "
			    "a shell, ignored\n"
			    "t.cfg:3: 'nasty_metachars': arguments are checked against "
			    "arg_allowlist instead, ignored\n");
	config_free(c);

	/* the notice list is capped; the last entry counts the rest */
	char *many = malloc(300 * 16);
	size_t n = 0;
	for (int i = 0; i < 300; i++)
		n += (size_t)sprintf(many + n, "server_port=1\n");
	c = parse_ok(many);
	assert_int_equal(c->nnotices, CONFIG_NOTICES_MAX);
	assert_string_equal(c->notices[CONFIG_NOTICES_MAX - 2],
			    "t.cfg:255: 'server_port' has no meaning over vchan, ignored");
	assert_string_equal(c->notices[CONFIG_NOTICES_MAX - 1], "t.cfg: 45 more notices not shown");
	config_free(c);
	free(many);

	/* includes can be switched off (fuzzing) */
	struct agent_config *cc = NULL;
	static const char *const inc[] = {"include=x.cfg", "include_file=x.cfg", "include_dir=x.d"};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(config_parse_buffer("t.cfg", inc[i], strlen(inc[i]),
						     CONFIG_PARSE_NO_INCLUDES, &cc, errbuf,
						     sizeof errbuf),
				 -1);
		snprintf(want, sizeof want, "t.cfg:1: '%.*s' is disabled here",
			 (int)(strchr(inc[i], '=') - inc[i]), inc[i]);
		assert_string_equal(errbuf, want);
	}
}

/* ------------------------------------------------------------ commands */

static void test_commands(void **state)
{
	struct agent_config *c;
	const struct command *cmd;

	c = parse_ok("command[check_disk]=/usr/lib/nagios/plugins/check_disk -w $ARG1$ -c $ARG2$ "
		     "-p $ARG3$\n"
		     "command[x.y-z_1]=/bin/true\n");
	cmd = config_command(c, "check_disk");
	assert_non_null(cmd);
	assert_string_equal(cmd->name, "check_disk");
	assert_string_equal(cmd->line,
			    "/usr/lib/nagios/plugins/check_disk -w $ARG1$ -c $ARG2$ -p $ARG3$");
	assert_string_equal(cmd->file, "t.cfg");
	assert_int_equal(cmd->lineno, 1);
	assert_int_equal(cmd->argv->nwords, 7);
	assert_int_equal(cmd->argv->nph, 3);
	assert_int_equal(cmd->argv->args_used, 7);
	assert_non_null(config_command(c, "x.y-z_1"));
	assert_null(config_command(c, "check_dis"));
	assert_null(config_command(c, ""));
	config_free(c);

	parse_err("command[]=/bin/true",
		  "t.cfg:1: malformed key 'command[]': expected command[NAME]");
	parse_err("command[x=/bin/true",
		  "t.cfg:1: malformed key 'command[x': expected command[NAME]");
	parse_err("command[a b]=/bin/true", "t.cfg:1: command[a b]: command name: byte 2 (0x20) is "
					    "not allowed (allowed: A-Z a-z 0-9 _ . -)");
	parse_err("command[a]b]=/bin/true", "t.cfg:1: command[a]b]: command name: byte 2 (0x5d) "
					    "is not allowed (allowed: A-Z a-z 0-9 _ . -)");
	parse_err("command[x]=/bin/echo 'oops", "t.cfg:1: command[x]: column 22: unterminated "
						"single quote");
	parse_err("\ncommand[x]= $ARG1$", "t.cfg:2: command[x]: column 13: $ARG1$ in the program "
					  "name: the program must be fixed");
	parse_err("command[x]=/bin/echo $ARG17$", "t.cfg:1: command[x]: column 22: $ARG17$: "
						  "placeholder number out of range 1..16");
	parse_err("command[x]=", "t.cfg:1: 'command[x]' has no value");
	/* no PATH search: the program is named in full */
	parse_err("command[a]=/bin/true\ncommand[b]=check_load -w 1\n",
		  "t.cfg:2: command[b]: program 'check_load' is not an absolute path");
	parse_err("command[a]=./check_x\n", "t.cfg:1: command[a]: program './check_x' is not an "
					    "absolute path");
	/* with a prefix, the prefix's program is the one that runs */
	c = parse_ok("command_prefix=/usr/bin/sudo\ncommand[a]=check_x\n");
	assert_string_equal(cmdline(c, "a"), "[/usr/bin/sudo][check_x]");
	config_free(c);

	/* name length */
	char line[ARGV_NAME_MAX + 32], want[ARGV_NAME_MAX + 96];
	int n = sprintf(line, "command[");
	memset(line + n, 'n', ARGV_NAME_MAX);
	strcpy(line + n + ARGV_NAME_MAX, "]=/bin/true");
	config_free(parse_ok(line));
	memset(line + n, 'n', ARGV_NAME_MAX + 1);
	strcpy(line + n + ARGV_NAME_MAX + 1, "]=/bin/true");
	snprintf(want, sizeof want, "t.cfg:1: command[%.*s]: command name longer than 128 bytes",
		 ARGV_NAME_MAX, line + n);
	parse_err(line, want);
}

static void test_command_redefined(void **state)
{
	struct agent_config *c;

	/* as nrpe: the definition read last wins */
	c = parse_ok("command[x]=/bin/echo one\ncommand[y]=/bin/true\ncommand[x]=/bin/echo two\n"
		     "command[x]=/bin/echo three\n");
	assert_int_equal(c->ncommands, 2);
	assert_string_equal(cmdline(c, "x"), "[/bin/echo][three]");
	assert_int_equal(config_command(c, "x")->lineno, 4);
	assert_string_equal(notices(c), "t.cfg:3: command 'x' redefined (previous definition at "
					"t.cfg:1): the later definition wins, as in nrpe\n"
					"t.cfg:4: command 'x' redefined (previous definition at "
					"t.cfg:3): the later definition wins, as in nrpe\n");
	config_free(c);
}

static void test_command_prefix(void **state)
{
	struct agent_config *c;

	/* prepended to every command, wherever it appears in the file */
	c = parse_ok("command[a]=/bin/echo $ARG1$\ncommand_prefix=/usr/bin/sudo -n\n"
		     "command[b]=/bin/true\n");
	assert_string_equal(c->command_prefix, "/usr/bin/sudo -n");
	assert_string_equal(cmdline(c, "a"), "[/usr/bin/sudo][-n][/bin/echo][]");
	assert_string_equal(cmdline(c, "b"), "[/usr/bin/sudo][-n][/bin/true]");
	assert_int_equal(config_command(c, "a")->argv->ph[0].word, 3);
	config_free(c);

	/* the later prefix replaces the earlier */
	c = parse_ok("command_prefix=/a\ncommand_prefix=/b 'x y'\ncommand[c]=/bin/true\n");
	assert_string_equal(cmdline(c, "c"), "[/b][x y][/bin/true]");
	config_free(c);

	/* prefix + command beyond ARGV_MAX_WORDS */
	char *text = malloc(4096);
	int n = sprintf(text, "command_prefix=/p");
	for (int i = 0; i < 200; i++)
		n += sprintf(text + n, " w");
	n += sprintf(text + n, "\n\ncommand[c]=/c");
	for (int i = 0; i < 56; i++)
		n += sprintf(text + n, " w");
	parse_err(text, "t.cfg:3: command[c]: more than 256 words with the command prefix");
	free(text);
}

static void test_many_commands(void **state)
{
	enum { N = 2000 };
	char *text = malloc(N * 64), name[32];
	struct agent_config *c;
	size_t n = 0;

	/* defined in a scrambled order */
	for (unsigned i = 0; i < N; i++) {
		unsigned k = (i * 7919u) % N;
		n += (size_t)sprintf(text + n, "command[cmd_%u]=/bin/echo %u\n", k, k);
	}
	c = parse_ok(text);
	assert_int_equal(c->ncommands, N);
	for (unsigned k = 0; k < N; k++) {
		const struct command *cmd;
		char want[32];
		snprintf(name, sizeof name, "cmd_%u", k);
		cmd = config_command(c, name);
		assert_non_null(cmd);
		assert_string_equal(cmd->name, name);
		snprintf(want, sizeof want, "%u", k);
		assert_string_equal(cmd->argv->words[1], want);
	}
	/* sorted, unique */
	for (size_t i = 1; i < c->ncommands; i++)
		assert_true(strcmp(c->commands[i - 1].name, c->commands[i].name) < 0);
	assert_null(config_command(c, "cmd_2000"));
	assert_null(config_command(c, "cmd_"));
	assert_null(config_command(c, "a"));
	assert_null(config_command(c, "zzz"));
	config_free(c);
	free(text);

	/* CONFIG_COMMANDS_MAX definitions, redefinitions included */
	text = malloc((CONFIG_COMMANDS_MAX + 1) * 24);
	n = 0;
	for (unsigned i = 0; i <= CONFIG_COMMANDS_MAX; i++)
		n += (size_t)sprintf(text + n, "command[c%u]=/b\n", i % 10);
	parse_err(text, "t.cfg:10001: more than 10000 command definitions");
	free(text);
}

/* ------------------------------------------------------------ files */

static void test_include_tree(void **state)
{
	struct agent_config *c;
	char err[CONFIG_ERR_MAX], want[PATH_MAX + 64];

	if (config_load(fx("include/main.cfg"), &c, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(c->command_timeout, 42);
	/* files, relative includes, and the directory recursion */
	assert_string_equal(cmdline(c, "main"), "[/bin/echo][main]");
	assert_string_equal(cmdline(c, "a"), "[/bin/echo][a]");
	assert_string_equal(cmdline(c, "b"), "[/bin/echo][b]");
	assert_string_equal(cmdline(c, "first"), "[/bin/echo][first]");
	assert_string_equal(cmdline(c, "nested"), "[/bin/echo][nested]");
	/* only *.cfg, no hidden entries */
	assert_null(config_command(c, "ignored_conf"));
	assert_null(config_command(c, "ignored_hidden"));
	assert_null(config_command(c, "ignored_bak"));
	assert_int_equal(c->ncommands, 6);
	/* sorted by name, subdirectories in place: 10-first, 15-nested/, 20-second */
	assert_string_equal(cmdline(c, "order"), "[/bin/echo][20-second]");
	snprintf(want, sizeof want, "%s", fx("include/conf.d/20-second.cfg"));
	assert_string_equal(config_command(c, "order")->file, want);
	snprintf(want, sizeof want, "%s", fx("include/sub/b.cfg"));
	assert_string_equal(config_command(c, "b")->file, want);
	/* one notice per redefinition of "order", in the order read */
	assert_int_equal(c->nnotices, 3);
	snprintf(want, sizeof want, "%s:2: command 'order' redefined (previous definition at ",
		 fx("include/conf.d/10-first.cfg"));
	assert_true(strncmp(c->notices[0], want, strlen(want)) == 0);
	snprintf(want, sizeof want, "%s:2: command 'order' redefined",
		 fx("include/conf.d/15-nested/x.cfg"));
	assert_true(strncmp(c->notices[1], want, strlen(want)) == 0);
	snprintf(want, sizeof want, "%s:1: command 'order' redefined",
		 fx("include/conf.d/20-second.cfg"));
	assert_true(strncmp(c->notices[2], want, strlen(want)) == 0);
	config_free(c);
}

static void load_err(const char *rel, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* fmt: the expected message, with %s standing for fixture paths. */
static void load_err(const char *rel, const char *fmt, ...)
{
	struct agent_config *c = NULL;
	char err[CONFIG_ERR_MAX], want[CONFIG_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof want, fmt, ap);
	va_end(ap);
	if (config_load(fx(rel), &c, err, sizeof err) != -1)
		fail_msg("%s loaded", rel);
	assert_null(c);
	if (strcmp(err, want) != 0)
		fail_msg("%s:\n  error '%s'\n  want  '%s'", rel, err, want);
}

static void test_include_errors(void **state)
{
	char a[PATH_MAX], b[PATH_MAX];

	snprintf(a, sizeof a, "%s", fx("loop/self.cfg"));
	load_err("loop/self.cfg", "%s:2: include loop: '%s' is already being read", a, a);

	snprintf(a, sizeof a, "%s", fx("loop/b.cfg"));
	snprintf(b, sizeof b, "%s", fx("loop/a.cfg"));
	load_err("loop/a.cfg", "%s:2: include loop: '%s' is already being read", a, b);

	snprintf(a, sizeof a, "%s", fx("dirloop/main.cfg"));
	snprintf(b, sizeof b, "%s", fx("dirloop/./main.cfg"));
	load_err("dirloop/main.cfg", "%s:2: include loop: '%s' is already being read", a, b);

	snprintf(a, sizeof a, "%s", fx("missing/main.cfg"));
	snprintf(b, sizeof b, "%s", fx("missing/nothere.cfg"));
	load_err("missing/main.cfg", "%s:2: cannot open '%s': No such file or directory", a, b);

	snprintf(a, sizeof a, "%s", fx("missing/dir.cfg"));
	snprintf(b, sizeof b, "%s", fx("missing/nothere.d"));
	load_err("missing/dir.cfg", "%s:2: cannot open directory '%s': No such file or directory",
		 a, b);

	/* a problem inside an included file is reported where it is */
	snprintf(a, sizeof a, "%s", fx("errors/bad.cfg"));
	load_err("errors/main.cfg", "%s:3: command[broken]: column 27: unterminated double quote",
		 a);

	snprintf(a, sizeof a, "%s", fx("nothere.cfg"));
	load_err("nothere.cfg", "%s: cannot open: No such file or directory", a);
	snprintf(a, sizeof a, "%s", fx("include"));
	load_err("include", "%s: not a regular file", a);
}

/* A scratch directory for files the test makes itself. */
static char scratch[256];

static int scratch_setup(void **state)
{
	snprintf(scratch, sizeof scratch, "%s/xv-config-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(scratch) == NULL ? -1 : 0;
}

static int scratch_teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const char *text, size_t len, mode_t mode)
{
	static char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", scratch, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void test_include_depth(void **state)
{
	char name[32], text[64], err[CONFIG_ERR_MAX], want[PATH_MAX * 2], top[PATH_MAX];
	struct agent_config *c;

	/* f0 includes f1 ... includes fN: 16 nested levels are fine */
	for (int i = 0; i <= CONFIG_INCLUDE_DEPTH_MAX + 1; i++) {
		snprintf(name, sizeof name, "f%d.cfg", i);
		snprintf(text, sizeof text, "command[c%d]=/bin/true\ninclude=f%d.cfg\n", i, i + 1);
		write_file(name, text, strlen(text), 0644);
	}
	snprintf(name, sizeof name, "f%d.cfg", CONFIG_INCLUDE_DEPTH_MAX);
	write_file(name, "command[last]=/bin/true\n", 24, 0644);
	snprintf(top, sizeof top, "%s/f0.cfg", scratch);
	if (config_load(top, &c, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(c->ncommands, CONFIG_INCLUDE_DEPTH_MAX + 1);
	assert_int_equal(c->nfiles, CONFIG_INCLUDE_DEPTH_MAX + 1);
	config_free(c);

	/* one more level is refused */
	snprintf(text, sizeof text, "include=f%d.cfg\n", CONFIG_INCLUDE_DEPTH_MAX + 1);
	write_file(name, text, strlen(text), 0644);
	assert_int_equal(config_load(top, &c, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s/f%d.cfg:1: includes nested deeper than 16 levels", scratch,
		 CONFIG_INCLUDE_DEPTH_MAX);
	assert_string_equal(err, want);
}

static void test_file_checks(void **state)
{
	char err[CONFIG_ERR_MAX], want[PATH_MAX * 2], path[PATH_MAX];
	struct agent_config *c;

	/* world-writable files load, with a notice */
	snprintf(path, sizeof path, "%s", write_file("ww.cfg", "debug=0\n", 8, 0666));
	if (config_load(path, &c, err, sizeof err) != 0)
		fail_msg("%s", err);
	snprintf(want, sizeof want, "%s: file is writable by everyone\n", path);
	assert_string_equal(notices(c), want);
	config_free(c);

	/* a symbolic link back up the tree is a loop */
	char d[PATH_MAX], l[PATH_MAX];
	snprintf(d, sizeof d, "%s/d", scratch);
	snprintf(l, sizeof l, "%s/d/loop", scratch);
	assert_int_equal(mkdir(d, 0755), 0);
	assert_int_equal(symlink("..", l), 0);
	snprintf(path, sizeof path, "%s", write_file("top.cfg", "#\ninclude_dir=d\n", 15, 0644));
	assert_int_equal(config_load(path, &c, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:2: include loop: '%s/d/loop/d' is already being read", path,
		 scratch);
	assert_string_equal(err, want);

	/* size limit */
	char *big = malloc(CONFIG_FILE_MAX + 1);
	for (size_t i = 0; i < CONFIG_FILE_MAX + 1; i += 2) {
		big[i] = '#';
		if (i + 1 < CONFIG_FILE_MAX + 1)
			big[i + 1] = '\n';
	}
	snprintf(path, sizeof path, "%s", write_file("big.cfg", big, CONFIG_FILE_MAX, 0644));
	if (config_load(path, &c, err, sizeof err) != 0)
		fail_msg("%s", err);
	config_free(c);
	snprintf(path, sizeof path, "%s", write_file("big.cfg", big, CONFIG_FILE_MAX + 1, 0644));
	assert_int_equal(config_load(path, &c, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: larger than 4194304 bytes", path);
	assert_string_equal(err, want);
	free(big);
}

static void test_debian_nrpe_cfg(void **state)
{
	struct agent_config *c;
	char err[CONFIG_ERR_MAX], want[PATH_MAX * 4];
	const char *f = fx("debian-nrpe.cfg");
	struct passwd *pw;

	if (getpwnam("nagios") == NULL)
		skip(); /* the user comes with nagios-nrpe-server */
	if (config_load(f, &c, err, sizeof err) != 0)
		fail_msg("%s", err);
	pw = getpwnam("nagios");
	assert_int_equal(c->probe_uid, pw->pw_uid);
	assert_string_equal(c->probe_user, "nagios");
	assert_string_equal(c->probe_group, "nagios");
	assert_int_equal(c->command_timeout, 60);
	assert_int_equal(c->connection_timeout, 300);
	assert_int_equal(c->arg_policy.allow_args, 0);
	assert_int_equal(c->debug, 0);
	assert_int_equal(c->log_facility, LOG_DAEMON);
	assert_string_equal(c->pid_file, "/run/nagios/nrpe.pid");
	assert_int_equal(c->ncommands, 5);
	assert_string_equal(cmdline(c, "check_load"), "[/usr/lib/nagios/plugins/check_load][-r][-w]"
						      "[.15,.10,.05][-c][.30,.25,.20]");
	assert_string_equal(
	    cmdline(c, "check_hda1"),
	    "[/usr/lib/nagios/plugins/check_disk][-w][20%][-c][10%][-p][/dev/hda1]");
	assert_string_equal(cmdline(c, "check_users"),
			    "[/usr/lib/nagios/plugins/check_users][-w][5][-c][10]");
	assert_string_equal(cmdline(c, "check_zombie_procs"),
			    "[/usr/lib/nagios/plugins/check_procs][-w][5][-c][10][-s][Z]");
	assert_string_equal(cmdline(c, "check_total_procs"),
			    "[/usr/lib/nagios/plugins/check_procs][-w][150][-c][200]");
	snprintf(want, sizeof want,
		 "%s:52: 'server_port' has no meaning over vchan, ignored\n"
		 "%s:106: 'allowed_hosts' has no meaning over vchan, ignored\n"
		 "%s:140: 'allow_bash_command_substitution': nothing ever runs through a shell, "
		 "ignored\n",
		 f, f, f);
	assert_string_equal(notices(c), want);
	config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_syntax),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_good_values),
	    cmocka_unit_test(test_datatree_keys),
	    cmocka_unit_test(test_ignored_keys),
	    cmocka_unit_test(test_commands),
	    cmocka_unit_test(test_command_redefined),
	    cmocka_unit_test(test_command_prefix),
	    cmocka_unit_test(test_many_commands),
	    cmocka_unit_test(test_include_tree),
	    cmocka_unit_test(test_include_errors),
	    cmocka_unit_test_setup_teardown(test_include_depth, scratch_setup, scratch_teardown),
	    cmocka_unit_test_setup_teardown(test_file_checks, scratch_setup, scratch_teardown),
	    cmocka_unit_test(test_debian_nrpe_cfg),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
