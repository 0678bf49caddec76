# otklik .rpm: before erase ($1 = 0; not on upgrade). The state in /var/lib/otklik stays.
if [ "$1" -eq 0 ]; then
    if [ -d /run/systemd/system ]; then
        systemctl stop otklik.service >/dev/null 2>&1 || :
    fi
    systemctl disable otklik.service >/dev/null 2>&1 || :
fi
