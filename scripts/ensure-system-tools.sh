#!/usr/bin/env bash
# Installs the system tools the tests use when they are missing (Debian packages, as root or with sudo).
set -euo pipefail
need=()
command -v xmlsec1 >/dev/null 2>&1 || need+=(xmlsec1)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The AWS CLI v2 from Debian, at its Debian path: an `aws` elsewhere on PATH (pip's v1) is not it.
[ -x /usr/bin/aws ] || need+=(awscli)
# PostgreSQL's server binaries (the tests start a private cluster with initdb and pg_ctl; no service is used).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# OpenLDAP's slapd and its tools, started by the LDAP tests on loopback.
[ -x /usr/sbin/slapd ] || need+=(slapd)
command -v ldapadd >/dev/null 2>&1 || need+=(ldap-utils)
# SoftHSM2: a PKCS#11 token in software, for keys that never enter the process.
[ -e /usr/lib/softhsm/libsofthsm2.so ] || need+=(softhsm2)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "ensure-system-tools: need ${need[*]} but cannot install without root; install them with apt-get" >&2; exit 1
  fi
fi
echo "ensure-system-tools: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
