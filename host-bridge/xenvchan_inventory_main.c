/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xenvchan-inventory - print the guests' data trees (docs/DATA-TREE.md)
 * from dom0, as a table, as JSON, or as Nagios 4 / Icinga 2 host objects
 * (invconf.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>
#include <xenstore.h>

#include "invconf.h"
#include "inventory.h"
#include "xvsafe.h"

enum inv_exit {
	INV_EXIT_OK = 0,    /* everything asked for was shown */
	INV_EXIT_GUEST = 1, /* a guest named on the command line is missing or has no usable tree */
	INV_EXIT_USAGE = 2, /* bad command line */
	INV_EXIT_XENSTORE = 3, /* xenstore unreachable, or /local/domain unreadable */
	INV_EXIT_INTERNAL = 4  /* out of memory, or the output could not be written */
};

/* at most this many guests named on the command line */
#define INV_MAX_ARGS 1024

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: xenvchan-inventory [-j | --nagios | --icinga2] [--dom0 NAME]\n"
		"                          [--template NAME] [GUEST...]\n"
		"Print what the guests' xenvchan agents publish in xenstore: OS, kernel,\n"
		"hostname, NICs with their addresses and link state.\n"
		"\n"
		"  GUEST          a domain name or domid; default: every domain (dom0 only\n"
		"                 when it has a data tree)\n"
		"  -j, --json     JSON instead of the table (format in docs/DATA-TREE.md)\n"
		"  --nagios       Nagios 4 host objects, one per guest (contrib/nagios)\n"
		"  --icinga2      Icinga 2 Host objects, one per guest (contrib/nagios/icinga2)\n"
		"  --dom0 NAME    with --nagios: _DOM0 (the address check_nrpe connects to);\n"
		"                 with --icinga2: the dom0's Icinga agent Endpoint, which\n"
		"                 runs the guests' checks (command_endpoint)\n"
		"  --template NAME  the host template (default xen-guest)\n"
		"  -h, --help     this text\n"
		"  -V, --version  the program's version and the data tree layout it reads\n"
		"\n"
		"Every value comes from the guest and is shown escaped: a byte that is not\n"
		"printable UTF-8 as \\xNN, an invisible or bidirectional character as\n"
		"\\u{XXXX}, a backslash as \\\\, and an over-long value cut with \"...\".\n"
		"A guest with no data tree, a newer layout major version or malformed data\n"
		"gets a line of its own that says so.  Host objects are written for the\n"
		"guests with a usable tree whose domain name is a valid object name\n"
		"(A-Z a-z 0-9 . _ -, at most 64); the others are named on stderr.\n"
		"\n"
		"Exit status: 0 shown; 1 a GUEST named was not found or has no usable data\n"
		"tree (absent, unreadable, incompatible, malformed); 2 usage error;\n"
		"3 xenstore cannot be reached or /local/domain cannot be listed; 4 out of\n"
		"memory or the output cannot be written.  A GUEST that is all digits is a\n"
		"domid.\n"
		"Uses XENSTORED_PATH when set (libxenstore).\n");
}

struct inv_out {
	int json;
	struct json_object *array;
	int header_done;
	struct invconf *conf; /* --nagios, --icinga2 */
};

static void inv_emit(struct inv_out *o, const struct inv_guest *g)
{
	if (o->conf != NULL) {
		char why[INV_MAX_TEXT + 320];
		if (!invconf_guest(o->conf, g, why, sizeof why) && why[0] != '\0')
			fprintf(stderr, "xenvchan-inventory: domid %d: no host object: %s\n",
				g->domid, why);
		return;
	}
	if (o->json) {
		struct json_object *j = inventory_json_guest(g);
		if (j != NULL)
			json_object_array_add(o->array, j);
		return;
	}
	if (!o->header_done) {
		inventory_print_table_header(stdout);
		o->header_done = 1;
	}
	inventory_print_table_guest(stdout, g);
}

static void inv_emit_missing(struct inv_out *o, const char *query)
{
	char safe[INV_MAX_TEXT];

	xvsafe_text(safe, sizeof safe, query, strlen(query), NULL);
	fprintf(stderr, "xenvchan-inventory: no such guest: %s\n", safe);
	if (o->conf != NULL)
		return;
	if (o->json) {
		struct json_object *j = json_object_new_object();
		if (j == NULL)
			return;
		json_object_object_add(j, "domid", NULL);
		json_object_object_add(j, "name", json_object_new_string(safe));
		json_object_object_add(j, "status", json_object_new_string("not-found"));
		json_object_object_add(j, "error", json_object_new_string("no such guest"));
		json_object_array_add(o->array, j);
		return;
	}
	if (!o->header_done) {
		inventory_print_table_header(stdout);
		o->header_done = 1;
	}
	printf("%5s %-16s !! not-found: no such guest\n", "-", safe);
}

/* The domid named by QUERY: a number, or a domain's name. -1 if none. */
static int inv_lookup(struct xs_handle *xs, const int *ids, size_t n, const char *query)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(query, &end, 10);
	if (*query != '\0' && *end == '\0' && errno == 0) {
		for (size_t i = 0; i < n; i++)
			if (ids[i] == v)
				return ids[i];
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char path[64];
		unsigned len = 0;
		snprintf(path, sizeof path, "/local/domain/%d/name", ids[i]);
		char *untrusted_name = xs_read(xs, XBT_NULL, path, &len);
		int match = untrusted_name != NULL && strlen(query) == len &&
			    memcmp(untrusted_name, query, len) == 0;
		free(untrusted_name);
		if (match)
			return ids[i];
	}
	return -1;
}

int main(int argc, char **argv)
{
	enum { OPT_NAGIOS = 256, OPT_ICINGA2, OPT_DOM0, OPT_TEMPLATE };
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"nagios", no_argument, NULL, OPT_NAGIOS},
	    {"icinga2", no_argument, NULL, OPT_ICINGA2},
	    {"dom0", required_argument, NULL, OPT_DOM0},
	    {"template", required_argument, NULL, OPT_TEMPLATE},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0}};
	struct inv_out out = {0, NULL, 0, NULL};
	struct invconf_opts conf = {INVCONF_NAGIOS, NULL, NULL};
	int formats = 0;
	char err[256];
	struct xs_handle *xs;
	int *ids = NULL;
	size_t nids = 0;
	int c, rc = INV_EXIT_OK;

	while ((c = getopt_long(argc, argv, "jhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			out.json = 1;
			formats++;
			break;
		case OPT_NAGIOS:
		case OPT_ICINGA2:
			conf.format = c == OPT_NAGIOS ? INVCONF_NAGIOS : INVCONF_ICINGA2;
			formats++;
			break;
		case OPT_DOM0:
			conf.dom0 = optarg;
			break;
		case OPT_TEMPLATE:
			conf.template_name = optarg;
			break;
		case 'h':
			usage(stdout);
			return INV_EXIT_OK;
		case 'V':
			printf("xenvchan-inventory %s (data tree layout %s %d.x)\n", XV_VERSION,
			       INV_PROTOCOL, INV_MAJOR);
			return INV_EXIT_OK;
		default:
			usage(stderr);
			return INV_EXIT_USAGE;
		}
	}
	if (formats > 1) {
		fprintf(stderr, "xenvchan-inventory: one of -j, --nagios, --icinga2\n");
		return INV_EXIT_USAGE;
	}
	if ((conf.dom0 != NULL || conf.template_name != NULL) && (formats == 0 || out.json)) {
		fprintf(stderr, "xenvchan-inventory: --dom0 and --template go with --nagios or "
				"--icinga2\n");
		return INV_EXIT_USAGE;
	}
	if (argc - optind > INV_MAX_ARGS) {
		fprintf(stderr, "xenvchan-inventory: at most %d guests at a time\n", INV_MAX_ARGS);
		return INV_EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		if (argv[i][0] == '\0') {
			fprintf(stderr, "xenvchan-inventory: empty guest name\n");
			return INV_EXIT_USAGE;
		}
	}

	xs = xs_open(0);
	if (xs == NULL) {
		fprintf(stderr, "xenvchan-inventory: cannot connect to xenstore: %s\n",
			strerror(errno));
		return INV_EXIT_XENSTORE;
	}
	if (inventory_domids(xs, &ids, &nids) < 0) {
		fprintf(stderr, "xenvchan-inventory: cannot list /local/domain: %s\n",
			strerror(errno));
		xs_close(xs);
		return INV_EXIT_XENSTORE;
	}
	if (formats == 1 && !out.json) {
		out.conf = invconf_new(stdout, &conf, err, sizeof err);
		if (out.conf == NULL) {
			fprintf(stderr, "xenvchan-inventory: %s\n", err);
			free(ids);
			xs_close(xs);
			return INV_EXIT_USAGE;
		}
	}
	if (out.json) {
		out.array = json_object_new_array();
		if (out.array == NULL) {
			fprintf(stderr, "xenvchan-inventory: out of memory\n");
			free(ids);
			xs_close(xs);
			return INV_EXIT_INTERNAL;
		}
	}

	if (optind == argc) {
		for (size_t i = 0; i < nids; i++) {
			struct inv_guest g;
			inventory_read_guest(xs, ids[i], &g);
			/* dom0 is listed only when something publishes there */
			if (!(ids[i] == 0 && g.status == INV_NO_TREE))
				inv_emit(&out, &g);
			inventory_guest_free(&g);
		}
	} else {
		for (int i = optind; i < argc; i++) {
			int domid = inv_lookup(xs, ids, nids, argv[i]);
			struct inv_guest g;
			if (domid < 0) {
				inv_emit_missing(&out, argv[i]);
				rc = INV_EXIT_GUEST;
				continue;
			}
			inventory_read_guest(xs, domid, &g);
			if (g.status != INV_OK)
				rc = INV_EXIT_GUEST;
			inv_emit(&out, &g);
			inventory_guest_free(&g);
		}
	}

	if (out.json) {
		struct json_object *root = json_object_new_object();
		if (root == NULL) {
			fprintf(stderr, "xenvchan-inventory: out of memory\n");
			rc = INV_EXIT_INTERNAL;
		} else {
			json_object_object_add(root, "format",
					       json_object_new_string("xenvchan-inventory"));
			json_object_object_add(root, "format_version", json_object_new_int(1));
			json_object_object_add(root, "guests", out.array);
			out.array = NULL;
			puts(json_object_to_json_string_ext(
			    root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
				      JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(root);
		}
		json_object_put(out.array);
	}
	invconf_finish(out.conf);
	free(ids);
	xs_close(xs);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "xenvchan-inventory: writing the output: %s\n", strerror(errno));
		return INV_EXIT_INTERNAL;
	}
	return rc;
}
