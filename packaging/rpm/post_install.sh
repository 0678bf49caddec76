# otklik .rpm: after install ($1 = 1) or upgrade ($1 = 2). A first install starts nothing;
# an upgrade restarts a running service once the new version accepts the config.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
if [ "$1" -eq 1 ]; then
    echo "otklik is installed but not started: edit /etc/otklik/otklik.toml, put the IMAP password in /etc/otklik/imap-password (mode 0600), run otklik check-config, then systemctl enable --now otklik"
elif [ -d /run/systemd/system ] && systemctl is-active --quiet otklik.service; then
    if /usr/bin/otklik check-config --config /etc/otklik/otklik.toml >/dev/null; then
        systemctl restart otklik.service || :
    else
        echo "otklik: the new version refuses /etc/otklik/otklik.toml; the old process keeps running until it is fixed and restarted" >&2
    fi
fi
