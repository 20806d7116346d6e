# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# A throw-away certificate authority for the FTPS tests, made with the
# openssl command line.  Source this file, then:
#
#   tlsca_make DIR     in DIR: ca.pem (the test CA, the only thing a mount
#                      is told to trust), and for the servers, each as
#                      NAME.crt + NAME.key and NAME.pem (both, for
#                      pure-ftpd):
#                        good     CA-signed for IP 127.0.0.1, ::1 and localhost
#                        wrongname  CA-signed for wrong.invalid only
#                        expired  CA-signed for 127.0.0.1, valid in 2020
#                        self     self-signed for 127.0.0.1
#   tlsca_fingerprint CERT   "sha256:<hex>" as ftpfs prints and pins it
#
# Keys are RSA: vsftpd's default TLS 1.2 ciphers (ECDHE-RSA-...) need them.

tlsca_make() {
	local d=$1 n
	mkdir -p "$d"
	(
		set -e
		cd "$d"
		openssl req -x509 -newkey rsa:2048 \
			-nodes -keyout ca.key -out ca.pem -days 30 \
			-subj "/CN=ftpfs test CA" \
			-addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign
		# openssl ca, for the dates an expired certificate needs.
		mkdir -p db
		: >db/index.txt
		printf '1000\n' >db/serial
		cat >ca.cnf <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $d
database = \$dir/db/index.txt
serial = \$dir/db/serial
new_certs_dir = \$dir/db
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = copy
[ any ]
commonName = supplied
CNF
		for n in good wrongname expired; do
			case $n in
			wrongname) san=DNS:wrong.invalid ;;
			*) san=IP:127.0.0.1,IP:::1,DNS:localhost ;;
			esac
			openssl req -newkey rsa:2048 \
				-nodes -keyout "$n.key" -out "$n.csr" \
				-subj "/CN=ftpfs test $n" -addext "subjectAltName=$san"
			if [ "$n" = expired ]; then
				dates=(-startdate 20200101000000Z -enddate 20200201000000Z)
			else
				dates=(-days 30)
			fi
			openssl ca -batch -config ca.cnf -notext "${dates[@]}" \
				-in "$n.csr" -out "$n.crt"
		done
		openssl req -x509 -newkey rsa:2048 \
			-nodes -keyout self.key -out self.crt -days 30 \
			-subj "/CN=ftpfs test self-signed" \
			-addext subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost
		for n in good wrongname expired self; do
			cat "$n.key" "$n.crt" >"$n.pem"
		done
		chmod 644 ./*.pem ./*.crt
		chmod 600 ./*.key
	) >"$d/make.log" 2>&1
}

tlsca_fingerprint() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 |
		sed 's/.*=//; s/://g' | tr 'A-F' 'a-f' | sed 's/^/sha256:/'
}
