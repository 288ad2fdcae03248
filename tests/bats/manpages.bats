#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-or-later
# The man pages (docs/man/*.scd, rendered with scdoc and groff) against what
# they describe, so that the documentation cannot drift silently:
#   - every program has a page, and every page renders without a warning;
#   - every option a program's --help lists is in its page's OPTIONS, and
#     every option in OPTIONS is in --help (nothing stale);
#   - every configuration key of docs/agent.cfg.md and of the agent's parser
#     table (config_keys[] in guest-agent/config.c) is in
#     xenvchan-agent.cfg(5), and every key that page describes is in the
#     parser's table; likewise for the bridge: the key headings of
#     docs/bridge.cfg.md and bconfig_keys[] in host-bridge/bconfig.c against
#     xenvchan-bridge.cfg(5).

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

# program -> page
declare -gA PAGE=(
	[xenvchan-agent]=xenvchan-agent.8
	[xenvchan-bridge]=xenvchan-bridge.8
	[xenvchan-inventory]=xenvchan-inventory.1
	[check_xenvchan]=check_xenvchan.8
	[check_mem]=check_mem.8
)

setup_file() {
	export MT=$BATS_FILE_TMPDIR/man
	mkdir -p "$MT"
	local f n
	for f in "$XV_TOP"/docs/man/*.scd; do
		n=$(basename "$f" .scd)
		sed 's/@VERSION@/test/' "$f" | scdoc >"$MT/$n" 2>"$MT/$n.scdoc-err" || true
	done
}

# page as plain text: wide lines, no hyphenation, no overstriking
page_text() {
	groff -man -t -Tascii -rHY=0 -rLL=500n -P-cbou "$MT/$1" 2>/dev/null
}

# the OPTIONS section of a page, as text
page_options() {
	page_text "$1" | awk '/^[A-Z]/ { on = ($0 == "OPTIONS") } on'
}

# "-c, --config" / "--channel" / "-x" for each option line of a --help text:
# lines that start with blanks and a dash
help_options() {
	sed -nE 's/^[[:space:]]+(-[A-Za-z0-9](, --[A-Za-z0-9-]+)?|--[A-Za-z0-9-]+).*/\1/p'
}

# the same, from the item lines of a page's OPTIONS section
page_option_items() {
	page_options "$1" | sed -nE 's/^ {7}(-[A-Za-z0-9](, --[A-Za-z0-9-]+)?|--[A-Za-z0-9-]+).*/\1/p'
}

program_help() {
	"$XV_BIN/$1" --help 2>&1 || true
}

# configuration keys named in the first column of the tables of a markdown
# file, between the heading matching $2 and the next heading of that level
md_table_keys() {
	local file=$1 from=$2
	awk -v from="$from" '
		/^#+ / { if (on && substr($0, 1, lvl + 1) == substr(hdr, 1, lvl + 1)) on = 0 }
		$0 ~ from { on = 1; hdr = $0; lvl = index($0, " ") - 1; next }
		on && /^\| *`/ { split($0, c, "|"); print c[2] }' "$file" |
		grep -oE '`[a-z_][a-z0-9_]*`' | tr -d '`' | sort -u
}

# configuration keys named in "### key, key2 (default ...)" headings
md_heading_keys() {
	sed -nE 's/^### +([a-z_][a-z0-9_]*(, *[a-z_][a-z0-9_]*)*)( .*)?$/\1/p' "$1" | tr ', ' '\n\n' |
		grep -v '^$' | sort -u
}

# key names of a parser table: lines such as {"name", BK_UINT, ...}
c_table_keys() {
	local file=$1 table=$2
	awk -v t="$table" '$0 ~ t { on = 1 } on && /^};/ { on = 0 } on' "$file" |
		grep -oE '^[[:space:]]*\{"[a-z_][a-z0-9_]*",' | grep -oE '[a-z_][a-z0-9_]*' | sort -u
}

# every key of $@ must be a word of page $1; prints the missing ones
missing_keys() {
	local page=$1 k text
	shift
	text=$(page_text "$page")
	for k in "$@"; do
		grep -qE "(^|[^a-z0-9_])${k}([^a-z0-9_]|\$)" <<<"$text" || echo "$k"
	done
}

@test "every program has a man page, and every page renders without warnings" {
	local p n
	for p in "${!PAGE[@]}"; do
		[ -s "$XV_TOP/docs/man/${PAGE[$p]}.scd" ] || fail "$p: no docs/man/${PAGE[$p]}.scd"
	done
	for n in "$MT"/*; do
		case $n in *.scdoc-err) continue ;; esac
		[ ! -s "$n.scdoc-err" ] || fail "$(basename "$n"): scdoc: $(cat "$n.scdoc-err")"
		[ -s "$n" ] || fail "$(basename "$n"): empty"
		run groff -man -t -Tutf8 -ww -z "$n"
		assert_success
		assert_output ''
	done
}

@test "each page names itself and its section in its title line" {
	local n
	for n in "$MT"/*; do
		case $n in *.scdoc-err) continue ;; esac
		n=$(basename "$n")
		grep -q "^\.TH \"${n%.*}\" \"${n##*.}\"" "$MT/$n" || fail "$n: wrong .TH line"
	done
}

check_options_both_ways() {
	local prog=$1 page=${PAGE[$1]} help o missing=() stale=()
	[ -x "$XV_BIN/$prog" ] || fail "$XV_BIN/$prog is not built"
	help=$(program_help "$prog")
	[ -n "$(help_options <<<"$help")" ] || fail "$prog --help lists no options"
	while read -r o; do
		page_options "$page" | grep -qF -- "$o" || missing+=("$o")
	done < <(help_options <<<"$help")
	while read -r o; do
		help_options <<<"$help" | grep -qxF -- "$o" || stale+=("$o")
	done < <(page_option_items "$page")
	[ ${#missing[@]} -eq 0 ] || fail "$prog: in --help, not in $page OPTIONS: ${missing[*]}"
	[ ${#stale[@]} -eq 0 ] || fail "$prog: in $page OPTIONS, not in --help: ${stale[*]}"
}

@test "xenvchan-agent: --help and xenvchan-agent(8) list the same options" {
	check_options_both_ways xenvchan-agent
}

@test "xenvchan-bridge: --help and xenvchan-bridge(8) list the same options" {
	check_options_both_ways xenvchan-bridge
}

@test "xenvchan-inventory: --help and xenvchan-inventory(1) list the same options" {
	check_options_both_ways xenvchan-inventory
}

@test "check_xenvchan: --help and check_xenvchan(8) list the same options" {
	check_options_both_ways check_xenvchan
}

@test "check_mem: --help and check_mem(8) list the same options" {
	check_options_both_ways check_mem
}

# the keys a configuration page describes: the item lines of its KEYS
# section ("       name (default ...)", "       a, b (...)")
page_keys() {
	page_text "$1" | awk '/^[A-Z]/ { on = ($0 == "KEYS") } on' |
		sed -nE 's/^ {7}([a-z_][a-z0-9_]*(, [a-z_][a-z0-9_]*)*)( .*)?$/\1/p' | tr ', ' '\n\n' |
		grep -v '^$' | sort -u
}

# keys of $2... (a parser's table) that page $1 describes and the parser
# does not know: stale documentation
stale_keys() {
	local page=$1 k
	shift
	for k in $(page_keys "$page"); do
		grep -qxF "$k" <(printf '%s\n' "$@") || echo "$k"
	done
}

@test "every agent configuration key is in xenvchan-agent.cfg(5), and no other" {
	local doc code
	doc=$(md_table_keys "$XV_TOP/docs/agent.cfg.md" '^## Keys')
	code=$(c_table_keys "$XV_TOP/guest-agent/config.c" 'config_keys\[\] = \{')
	[ "$(wc -w <<<"$doc")" -gt 30 ] || fail "found only: $doc (docs/agent.cfg.md layout changed?)"
	[ "$(wc -w <<<"$code")" -gt 30 ] || fail "found only: $code (config_keys[] layout changed?)"
	run missing_keys xenvchan-agent.cfg.5 $doc $code
	assert_output ''
	[ "$(page_keys xenvchan-agent.cfg.5 | wc -l)" -gt 30 ] || fail "no KEYS items found in the page"
	run stale_keys xenvchan-agent.cfg.5 $code
	assert_output ''
}

@test "every bridge configuration key is in xenvchan-bridge.cfg(5), and no other" {
	local doc code
	[ -e "$XV_TOP/docs/bridge.cfg.md" ] || fail "docs/bridge.cfg.md is missing"
	doc=$(md_heading_keys "$XV_TOP/docs/bridge.cfg.md")
	code=$(c_table_keys "$XV_TOP/host-bridge/bconfig.c" 'bconfig_keys\[\] = \{')
	[ "$(wc -w <<<"$doc")" -gt 10 ] || fail "found only: $doc (docs/bridge.cfg.md layout changed?)"
	[ "$(wc -w <<<"$code")" -gt 10 ] || fail "found only: $code (bconfig_keys[] layout changed?)"
	run missing_keys xenvchan-bridge.cfg.5 $doc $code
	assert_output ''
	[ "$(page_keys xenvchan-bridge.cfg.5 | wc -l)" -gt 20 ] || fail "no KEYS items found in the page"
	run stale_keys xenvchan-bridge.cfg.5 $code
	assert_output ''
}

@test "the key checks can fail: a missing key, a stale key" {
	run missing_keys xenvchan-agent.cfg.5 command_timeout no_such_key_xyz
	assert_output 'no_such_key_xyz'
	run stale_keys xenvchan-agent.cfg.5 $(page_keys xenvchan-agent.cfg.5 | grep -vx command_timeout)
	assert_output 'command_timeout'
}
