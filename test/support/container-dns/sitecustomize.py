"""Name resolution for a Python process that stands in for a container (test/support/localRuntime.ts).

Docker's embedded DNS resolves the aliases of the containers on a user-defined network; a process started outside
Docker has no such DNS. When EMULATED_HOSTS_FILE is set, this module (loaded by Python's `site` because its folder is
first on PYTHONPATH) resolves names only from that file, built from the aliases the program declared: a name the
program did not declare fails to resolve, as it would in Docker. IP literals pass through. JVMs get the same file
through -Djdk.net.hosts.file.
"""
import os
import socket

_PATH = os.environ.get("EMULATED_HOSTS_FILE")

if _PATH:
    _TABLE = {}
    with open(_PATH, encoding="utf-8") as _f:
        for _line in _f:
            _parts = _line.split("#", 1)[0].split()
            for _name in _parts[1:]:
                _TABLE.setdefault(_name.lower(), _parts[0])

    _getaddrinfo = socket.getaddrinfo
    _gethostbyname = socket.gethostbyname

    def _is_ip(name):
        for family in (socket.AF_INET, socket.AF_INET6):
            try:
                socket.inet_pton(family, name)
                return True
            except (OSError, ValueError):
                pass
        return False

    def _resolve(host):
        name = host.decode() if isinstance(host, bytes) else host
        if name is None or _is_ip(name):
            return host
        ip = _TABLE.get(name.lower())
        if ip is None:
            raise socket.gaierror(socket.EAI_NONAME, f"{name}: no container on the emulated network has this alias")
        return ip

    def getaddrinfo(host, *args, **kwargs):
        return _getaddrinfo(_resolve(host), *args, **kwargs)

    def gethostbyname(host):
        return _gethostbyname(_resolve(host))

    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
