#!/bin/sh
# Secrets in the system tree's /etc do not enter the sandbox. A --system
# tree is built here with a TLS private key in etc/ssl/private (mode 0600 in
# a 0710 directory, as Debian's ssl-cert keeps them) next to a public
# certificate in etc/ssl/certs; /etc/ssl is one of the entries doppel gives
# every sandbox. The key must be absent inside (ENOENT): in root mode the
# sandbox's uid 0 passes every permission check on a host file, so only
# absence protects it. The certificate stays readable (control). Rootless,
# the sandbox's root is the caller, who owns the fixture: there the host's
# own /etc/ssl/private, if the caller cannot read it, must stay unreadable.
. "$DOPPEL_SRC/tests/lib/common.sh"
. "$DOPPEL_SRC/tests/security/lib.sh"

if ! is_root; then
	[ -d /etc/ssl/private ] && ! ls /etc/ssl/private >/dev/null 2>&1 ||
		skip "rootless: the caller owns any fixture it can build, and the host's /etc/ssl/private is absent or readable to it"
	run_attack etc-secrets "" secret:/etc/ssl/private/. public:/etc/ssl/openssl.cnf
	attack_held etc-secrets 2
	pass "rootless: the host's unreadable /etc/ssl/private stays unreadable"
	exit 0
fi

# a minimal system tree: the dynamic loader, libc and the loader cache
S="$T/sys"
mkdir -p "$S/usr/lib/x86_64-linux-gnu" "$S/usr/lib64" "$S/usr/bin" "$S/etc/ssl/private" "$S/etc/ssl/certs"
ldso=$(readlink -f /lib64/ld-linux-x86-64.so.2) && libc=$(readlink -f /lib/x86_64-linux-gnu/libc.so.6) ||
	skip "not a glibc x86_64 host"
cp "$ldso" "$S/usr/lib64/ld-linux-x86-64.so.2"
cp "$libc" "$S/usr/lib/x86_64-linux-gnu/libc.so.6"
cp /etc/ld.so.cache "$S/etc/" 2>/dev/null || true
ln -s usr/lib "$S/lib"
ln -s usr/lib64 "$S/lib64"
ln -s usr/bin "$S/bin"
echo "-----BEGIN PRIVATE KEY----- production-tls-key" > "$S/etc/ssl/private/production.key"
chmod 600 "$S/etc/ssl/private/production.key"
chmod 710 "$S/etc/ssl/private"
echo "-----BEGIN CERTIFICATE----- public" > "$S/etc/ssl/certs/production.pem"
chmod -R a+rX "$S/usr" "$S/lib" "$S/etc/ssl/certs"
chmod 755 "$S" "$S/etc" "$S/etc/ssl"

run_attack etc-secrets "--system $S" secret:/etc/ssl/private/production.key secret:/etc/ssl/private/. \
	public:/etc/ssl/certs/production.pem
attack_held etc-secrets 3
pass "/etc/ssl/private of the system tree is not in the sandbox; certificates are"
