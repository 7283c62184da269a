#!/bin/sh
# Secrets in the caller's environment do not enter the sandbox: only an
# allowlist (TERM, LANG, LANGUAGE, LC_*, TZ, COLORTERM, NO_COLOR) passes, plus
# PATH, HOME, USER, LOGNAME and --env values; init's environment (the
# caller's, unfiltered) cannot be read (EACCES).
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

out=$(env AWS_SECRET_ACCESS_KEY=leak-aws-123 DATABASE_URL=postgres://u:leak-db-456@prod/db \
	LD_PRELOAD= SSH_AUTH_SOCK=/tmp/leak-agent TERM=xterm LANG=C.UTF-8 \
	"$DOPPEL" isolate --env GIVEN=yes -- /bin/sh -c '
	echo "--- env"; env | sort
	echo "--- self"; tr "\0" "\n" < /proc/$$/environ | sort
	echo "--- init"; cat /proc/1/environ; echo "init-environ-status=$?"' 2>&1); st=$?
echo "$out" | sed 's/^/    /'
[ "$st" = 0 ] || fail "the run failed ($st)"
echo "$out" | grep -qx -- "--- env" || fail "the command never ran"
! echo "$out" | grep -q "leak-" || fail "ESCAPE: a secret of the caller's environment is visible inside"
! echo "$out" | grep -q "^SSH_AUTH_SOCK=" || fail "SSH_AUTH_SOCK was passed in"
echo "$out" | grep -qx "init-environ-status=1" || fail "init's environment was readable"
echo "$out" | grep -q "Permission denied" || fail "reading init's environment did not fail with EACCES"
names=$(echo "$out" | sed -n '/^--- env$/,/^--- self$/p' | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' | sort -u | tr '\n' ' ')
for n in $names; do
	case $n in
	TERM | LANG | LANGUAGE | LC_* | TZ | COLORTERM | NO_COLOR | PATH | HOME | USER | LOGNAME | GIVEN | PWD | SHLVL) ;;
	*) fail "unexpected variable inside: $n (all: $names)" ;;
	esac
done
echo "$out" | grep -qx "GIVEN=yes" || fail "--env GIVEN=yes did not arrive"
echo "$out" | grep -qx "TERM=xterm" || fail "TERM (allowlisted) did not arrive"
pass "only allowlisted variables enter; init's environment is unreadable"
