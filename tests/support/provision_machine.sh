#!/bin/sh
# Run as root inside a booted container (tests/support/kiosk_machine.py), from the checkout
# copied to /opt/mynapoint-kiosk: installs and provisions one machine that is both a kiosk
# and its grant service, the way docs/technician.md (sections 1, 2 and 7) tells a
# technician to. The Python packages come from the wheelhouse mounted at /wheels
# (PIP_NO_INDEX, PIP_FIND_LINKS in the environment): the container has no network.
set -eu
cd /opt/mynapoint-kiosk
bin=/opt/mynapoint-kiosk/.venv/bin

# 1. Install: the Debian packages are in the root already; the venv, the kiosk's units
#    and user. Then the service's units and user (a service host would run only this).
./scripts/install-kiosk
$bin/kiosk-provision install-units --which grant-service --which grant-service-audit-checkpoint \
    --which grant-service-crl-import

# A test CA and a virtual My Number Card (PIN 4827), the kiosk's: the card file is
# written on every PIN try, by the kiosk's user.
card_home=/var/lib/mynapoint-kiosk/card
install -d -o mynapoint-kiosk -g mynapoint-kiosk -m 0700 "$card_home"
# setpriv, not runuser: no PAM session journaling the command line (it holds the PIN).
as_kiosk() {
    setpriv --reuid=mynapoint-kiosk --regid=mynapoint-kiosk --init-groups -- \
        env HOME=/var/lib/mynapoint-kiosk XDG_DATA_HOME="$card_home" "$@"
}
as_kiosk $bin/kiosk-card-sim make-ca >/dev/null
as_kiosk $bin/kiosk-card-sim issue --pin 4827 >/dev/null
ca_dir="$card_home/mynapoint-kiosk/test-ca"

# The service trusts that CA, and knows its CRL. Its settings: the environment file its
# unit reads (the JSON list quoted whole: systemd and sh both take the quotes off).
install -m 0644 "$ca_dir/ca-cert.pem" /etc/mynapoint-grant/test-ca.pem
cat > /etc/mynapoint-grant/grant-service.env <<'EOF'
GRANT_SERVICE_TRUSTED_CA_FILES='["/etc/mynapoint-grant/test-ca.pem"]'
GRANT_SERVICE_APPLICATION_DEADLINE=2099-12-31
EOF
as_grant() {
    setpriv --reuid=mynapoint-grant --regid=mynapoint-grant --init-groups -- \
        env HOME=/var/lib/mynapoint-grant \
        GRANT_SERVICE_DATA_DIR=/var/lib/mynapoint-grant \
        sh -c 'set -a; . /etc/mynapoint-grant/grant-service.env; set +a; exec "$@"' as-grant "$@"
}
install -o mynapoint-grant -m 0600 "$ca_dir/crl.der" /var/lib/mynapoint-grant/crl.der
as_grant $bin/grant-service migrate >/dev/null
as_grant $bin/grant-service import-crl /var/lib/mynapoint-grant/crl.der >/dev/null
systemctl start grant-service
for _ in $(seq 60); do
    $bin/python -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:8700/healthz")' \
        2>/dev/null && break
    sleep 0.5
done

# 2. Enroll with a one-time token, a technician PIN, the virtual card and a file printer.
token=$(as_grant $bin/grant-service enrollment-token --kiosk-id nspawn-1 --channel convenience_store)
printf '%s\n%s\n' "$token" 24681357 | $bin/kiosk-provision enroll \
    --service http://127.0.0.1:8700 --token-stdin --technician-pin-stdin \
    --store-id NSPAWN-1 --store-name "試験店" \
    --reader "virtual:$card_home/mynapoint-kiosk/virtual-card.json" \
    --printer file:/var/lib/mynapoint-kiosk/slips.bin >/dev/null
systemctl stop grant-service
