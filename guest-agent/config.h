/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.h - the agent's configuration, in nrpe.cfg syntax.
 *
 * config_load() reads a file (and what it includes) into a new struct
 * agent_config; nothing here keeps global state, the caller owns the
 * result (the agent keeps the one loaded configuration as its only global
 * and, on SIGHUP, swaps in a new one only if it loaded without error).
 * Every key, default and rule is documented for users in docs/agent.cfg.md.
 *
 * Syntax, as nrpe: one key=value per line; leading and trailing whitespace
 * is ignored, and so is whitespace around the key and before the value;
 * lines whose first non-blank character is '#' and blank lines are
 * skipped ('#' later in a line is ordinary text); command[NAME]=LINE
 * defines a command; include=FILE (or include_file=FILE) and
 * include_dir=DIR read other files at that point.  Where nrpe warns and
 * carries on (unknown key, bad value, missing include) we refuse: the
 * first problem fails the load with "FILE:LINE: reason".
 *
 * Adding a key (the data-tree publisher will add some): a field in struct
 * agent_config, its default in config_defaults(), one row in config_keys[]
 * (config.c; the generic kinds cover integers with a range, 0/1 flags and
 * absolute paths, a handler function anything else), a test in
 * tests/unit/test_config.c and a section in docs/agent.cfg.md.
 */
#ifndef XV_CONFIG_H
#define XV_CONFIG_H

#include <regex.h>
#include <stddef.h>
#include <sys/types.h>

#include "argv.h"
#include "log.h"

/* Limits on what a configuration may hold. */
#define CONFIG_LINE_MAX 8192	    /* bytes in one line, without its newline */
#define CONFIG_FILE_MAX (4 << 20)   /* bytes in one file */
#define CONFIG_INCLUDE_DEPTH_MAX 16 /* nested include / include_dir levels */
#define CONFIG_FILES_MAX 1024	    /* files read by one load */
#define CONFIG_DIR_ENTRIES_MAX 4096 /* entries in one include_dir directory */
#define CONFIG_COMMANDS_MAX 10000   /* command[...] definitions, counting redefinitions */
#define CONFIG_ENV_MAX 64	    /* names in keep_env_vars */
#define CONFIG_ENV_NAME_MAX 128	    /* bytes in one of those names */
#define CONFIG_ALLOWLIST_MAX 1024   /* bytes in the arg_allowlist pattern */
#define CONFIG_NOTICES_MAX 256	    /* notices kept, the last one may count the rest */
#define CONFIG_ERR_MAX 1024	    /* a good size for config_load's err buffer */

/* Defaults and ranges of the numeric keys. */
#define CONFIG_DEFAULT_COMMAND_TIMEOUT 60 /* seconds, as nrpe */
#define CONFIG_COMMAND_TIMEOUT_MIN 1
#define CONFIG_COMMAND_TIMEOUT_MAX 86400
#define CONFIG_DEFAULT_CONNECTION_TIMEOUT 30 /* seconds; nrpe: 300, see the docs */
#define CONFIG_CONNECTION_TIMEOUT_MIN 1
#define CONFIG_CONNECTION_TIMEOUT_MAX 86400
#define CONFIG_DEFAULT_MAX_CONCURRENT 8
#define CONFIG_MAX_CONCURRENT_MIN 1
#define CONFIG_MAX_CONCURRENT_MAX 256
#define CONFIG_DEFAULT_MAX_QUEUE 64
#define CONFIG_MAX_QUEUE_MIN 0
#define CONFIG_MAX_QUEUE_MAX 4096
/* An NRPE v4 response buffer is at most 65536 bytes including its NUL. */
#define CONFIG_DEFAULT_OUTPUT_CAP 65535
#define CONFIG_OUTPUT_CAP_MIN 256
#define CONFIG_OUTPUT_CAP_MAX 65535
#define CONFIG_DEFAULT_ARG_MAX_LENGTH 256
#define CONFIG_ARG_MAX_LENGTH_MIN 1
#define CONFIG_ARG_MAX_LENGTH_MAX 4096
/* The data tree's node budget: the guest's quota is 1000 nodes, of
 * which libxl's own directories and the vif frontends already use some;
 * a publish must also stay under xenstored's 1024 nodes per transaction. */
#define CONFIG_DEFAULT_PUBLISH_MAX_NODES 300
#define CONFIG_PUBLISH_MAX_NODES_MIN 64
#define CONFIG_PUBLISH_MAX_NODES_MAX 600
/* Nagios thresholds, ranges (@10:20, ~:5), sizes (80%), paths, names. */
#define CONFIG_DEFAULT_ARG_ALLOWLIST "[A-Za-z0-9 ._,:/%@=+~-]*"
#define CONFIG_DEFAULT_PROBE_USER "nobody"
#define CONFIG_DEFAULT_CHANNEL "vchan"

/* config_parse_buffer() flags */
#define CONFIG_PARSE_NO_INCLUDES 0x1 /* include lines are errors (fuzzing) */

/* One command[NAME]=LINE.  argv is command_prefix's words followed by
 * LINE's (argv_split rules); its first word, the program, is an absolute
 * path.  line is LINE as written; file:lineno is where the definition that
 * won was read. */
struct command {
	char *name;
	struct argv_template *argv;
	char *line;
	const char *file;
	unsigned lineno;
};

struct agent_config {
	/* commands, sorted by name (strcmp), names unique: use config_command() */
	struct command *commands;
	size_t ncommands;

	unsigned command_timeout;    /* seconds a probe may run (its group is then killed) */
	unsigned connection_timeout; /* seconds a partly received request may take */
	unsigned max_concurrent;     /* probes running at once (nrpe: max_commands) */
	unsigned max_queue;	     /* requests waiting for a slot; beyond: refused */
	unsigned output_cap;	     /* bytes of probe output kept */
	unsigned arg_max_length;     /* bytes per request argument (arg_policy.max_len) */

	/* request arguments: dont_blame_nrpe, arg_allowlist, arg_max_length.
	 * arg_policy.allowlist points at arg_allowlist_re. */
	struct argv_policy arg_policy;
	char *arg_allowlist;	  /* the pattern as written (not anchored) */
	regex_t arg_allowlist_re; /* compiled, anchored: argv_allowlist_compile() */

	/* probe credentials, resolved at load time (never root) */
	char *probe_user;  /* nrpe_user as written, or CONFIG_DEFAULT_PROBE_USER */
	char *probe_group; /* nrpe_group as written, or NULL (the user's group) */
	uid_t probe_uid;
	gid_t probe_gid;
	gid_t *probe_groups; /* supplementary groups (getgrouplist), probe_gid included */
	size_t nprobe_groups;

	char *command_prefix; /* as written, or NULL; already inside every command's argv */
	char **keep_env;      /* keep_env_vars: names passed through to probes, NULL-terminated
			       * (NULL when the key is not set) */
	size_t nkeep_env;

	char *channel;	  /* "vchan" or "socket:DIR" */
	char *pid_file;	  /* absolute path or NULL */
	char *log_file;	  /* absolute path or NULL (nrpe's log_file) */
	int log_facility; /* LOG_DAEMON etc. from <syslog.h> */
	int disable_syslog;
	int debug;		  /* debug=1 as written */
	enum log_level log_level; /* effective: LOG_LVL_DEBUG when debug=1 */

	/* the data tree (docs/DATA-TREE.md, guest-agent/datatree.h) */
	int publish_other_nics; /* NICs no Xen vif backs, under net/other/ */
	int publish_loopback;	/* lo among them */
	int publish_legacy;	/* XAPI / Xen Orchestra keys as well */
	unsigned publish_max_nodes; /* node budget of the tree */
	char *os_release_file;	    /* absolute path or NULL (os-release(5) paths) */
	char *sysfs_net_dir;	    /* absolute path or NULL (/sys/class/net) */
	/* "FILE:LINE: text" for keys accepted without effect and similar: the
	 * caller logs them (warning level) after a successful load. */
	char **notices;
	size_t nnotices;

	/* private to config.c */
	char **files; /* every file read; struct command.file points here */
	size_t nfiles;
	int allowlist_compiled;
};

/*
 * Loads the configuration in `path` into a new struct in *out.  Returns 0,
 * or -1 with err[errlen] holding "FILE:LINE: reason" (or "FILE: reason"
 * for a file that cannot be read) for the first problem found; *out is
 * then untouched.  Relative include paths are taken relative to the
 * directory of the file that names them.
 */
int config_load(const char *path, struct agent_config **out, char *err, size_t errlen);

/*
 * The same from a buffer of len bytes (need not be NUL-terminated) named
 * `name` in messages; includes are resolved relative to name's directory.
 * flags: CONFIG_PARSE_*.  config_load() is this on the file's contents.
 */
int config_parse_buffer(const char *name, const char *buf, size_t len, unsigned flags,
			struct agent_config **out, char *err, size_t errlen);

/* Frees a configuration (NULL is fine). */
void config_free(struct agent_config *cfg);

/* The command called `name`, or NULL (binary search). */
const struct command *config_command(const struct agent_config *cfg, const char *name);

/* The syslog facility value for a name ("daemon", "local0", ...; the names
 * nrpe accepts), or -1. */
int config_facility_parse(const char *name);

#endif
