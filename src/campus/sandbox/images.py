"""Container images for the sandbox's real nodes, built from Debian packages without a Docker
engine or a registry: mmdebstrap makes the root filesystem, umoci wraps it as an OCI image, and
the result is an OCI archive that `ctr -n k8s.io images import` loads under its full name.

Images are cached under cache_root()/images by a key of everything that went into them, so a
cold build happens once and a warm one is a file lookup."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from campus.errors import CampusError
from campus.sandbox.node_config import PAUSE_IMAGE
from campus.sandbox.paths import cache_root
from campus.sandbox.versions import CADDY as CADDY_VERSION
from campus.sandbox.versions import TRAEFIK as TRAEFIK_VERSION
from campus.sandbox.versions import VERSITYGW as VERSITYGW_VERSION

DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# A fixed epoch makes file and config timestamps the same on every build (mmdebstrap and umoci
# honour it), so two builds from the same mirror content differ only where Debian changed.
SOURCE_DATE_EPOCH = 1704067200  # 2024-01-01T00:00:00Z
REF_NAME = "org.opencontainers.image.ref.name"
# containerd's importer takes this one as the image's name as it is; ref.name alone is used
# only with `ctr images import --base-name` (a full name there must match the base name).
CONTAINERD_NAME = "io.containerd.image.name"
DESCRIPTION = "org.opencontainers.image.description"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
INSTALL_HINT = "apt-get install mmdebstrap umoci"
# Documentation, manuals and translations are a third of a minimal Debian: never unpacked.
DPKG_EXCLUDES = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
)


class ImageError(CampusError):
    """A sandbox image could not be built: a tool is missing or a build step failed."""


@dataclass(frozen=True)
class ImageSpec:
    name: str
    tag: str
    packages: tuple[str, ...]
    description: str
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    user: str = ""
    workdir: str = ""
    env: tuple[tuple[str, str], ...] = ()
    ports: tuple[str, ...] = ()
    # (path in the image, content, mode): small scripts and configuration files.
    files: tuple[tuple[str, str, int], ...] = ()
    # Shell commands run in the finished root filesystem (chroot), after `files` are written.
    setup: tuple[str, ...] = ()

    @property
    def reference(self) -> str:
        return f"{self.name}:{self.tag}"

    @property
    def short_name(self) -> str:
        return self.name.rsplit("/", 1)[-1]


@functools.cache
def tool_version(tool: str) -> str:
    """The tool's version line, part of the cache key: a new mmdebstrap or umoci may build a
    different image from the same spec. Empty when the tool is missing (build() says so)."""
    if shutil.which(tool) is None:
        return ""
    result = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)
    return (result.stdout + result.stderr).strip()


def cache_key(spec: ImageSpec) -> str:
    digest = hashlib.sha256()
    fields = (
        repr(spec),
        tool_version("mmdebstrap"),
        tool_version("umoci"),
        DEBIAN_SUITE,
        DEBIAN_MIRROR,
        str(SOURCE_DATE_EPOCH),
        repr(DPKG_EXCLUDES),
    )
    for field in fields:
        digest.update(field.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def image_path(spec: ImageSpec) -> Path:
    return cache_root() / "images" / f"{spec.short_name}-{cache_key(spec)}.tar"


def build(spec: ImageSpec, progress: Callable[[str], None] = lambda message: None) -> Path:
    """The OCI archive of `spec`, built once; later calls return the cached file."""
    target = image_path(spec)
    if target.exists():
        return target
    for tool in ("mmdebstrap", "umoci"):
        if shutil.which(tool) is None:
            raise ImageError(f"{tool} is not installed: {INSTALL_HINT}")
    building = target.parent / ".building"
    building.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(building)
    # Same filesystem as the target, so the final rename is atomic: an interrupted build
    # leaves only this directory, never a half-written archive under the cached name.
    staging = Path(tempfile.mkdtemp(dir=building, prefix=f"{os.getpid()}-{spec.short_name}-"))
    try:
        started = time.monotonic()
        progress(f"building image {spec.reference} from Debian {DEBIAN_SUITE}: {spec.packages}")
        rootfs = staging / "rootfs.tar"
        _run("mmdebstrap", _mmdebstrap_command(spec, staging, rootfs), staging)
        _add_dev_directory(rootfs)
        progress(f"packing {spec.reference} as an OCI image")
        layout = staging / "layout"
        _pack(spec, rootfs, layout, staging)
        rootfs.unlink()
        archive = staging / "image.tar"
        _write_archive(layout, archive)
        _verify(spec, archive)
        archive.replace(target)
        size = target.stat().st_size / 2**20
        progress(f"built {spec.reference} in {time.monotonic() - started:.0f}s ({size:.0f} MiB)")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def build_static(
    spec: ImageSpec,
    binary: Path,
    path: str,
    directories: tuple[str, ...] = (),
    progress: Callable[[str], None] = lambda message: None,
) -> Path:
    """An image of one static binary at `path` and empty `directories` (mount points a
    read-only root filesystem cannot make), nothing else: no Debian packages. Cached by
    the spec and the binary's content."""
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()[:8]
    target = image_path(spec).with_suffix(f".{digest}.tar")
    if target.exists():
        return target
    if shutil.which("umoci") is None:
        raise ImageError(f"umoci is not installed: {INSTALL_HINT}")
    building = target.parent / ".building"
    building.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=building, prefix=f"{os.getpid()}-{spec.short_name}-"))
    try:
        progress(f"packing {binary.name} as the image {spec.reference}")
        rootfs = staging / "rootfs.tar"
        with tarfile.open(rootfs, "w", format=tarfile.PAX_FORMAT) as tar:
            for directory in ("/tmp", *directories):
                folder = tarfile.TarInfo("." + directory.rstrip("/") + "/")
                folder.type = tarfile.DIRTYPE
                folder.mode = 0o1777 if directory == "/tmp" else 0o755
                folder.mtime = SOURCE_DATE_EPOCH
                tar.addfile(folder)
            entry = tar.gettarinfo(binary, arcname="." + path)
            entry.uid = entry.gid = 0
            entry.uname = entry.gname = ""
            entry.mode = 0o755
            entry.mtime = SOURCE_DATE_EPOCH
            with binary.open("rb") as stream:
                tar.addfile(entry, stream)
        _add_dev_directory(rootfs)
        layout = staging / "layout"
        _pack(spec, rootfs, layout, staging)
        archive = staging / "image.tar"
        _write_archive(layout, archive)
        _verify(spec, archive)
        archive.replace(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _remove_abandoned(building: Path) -> None:
    """Staging directories of builds whose process is gone (killed, machine rebooted)."""
    for entry in building.iterdir():
        pid = entry.name.split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(entry, ignore_errors=True)


def _mmdebstrap_command(spec: ImageSpec, staging: Path, rootfs: Path) -> list[str]:
    hooks: list[str] = []
    for number, (path, content, mode) in enumerate(spec.files):
        source = staging / "files" / str(number)
        source.parent.mkdir(exist_ok=True)
        source.write_text(content)
        inside = '"$1"' + shlex.quote(path)
        hooks.append(
            f'mkdir -p "$(dirname {inside})" && cp {shlex.quote(str(source))} {inside}'
            f" && chmod {mode:o} {inside}"
        )
    hooks += [f'chroot "$1" sh -ec {shlex.quote(command)}' for command in spec.setup]
    # mmdebstrap drops apt's lists and cache itself; these are the rest of the build's traces.
    # resolv.conf and hostname come from this machine (the runtime mounts its own over them).
    hooks.append(
        'rm -rf "$1"/var/cache/debconf/*-old "$1"/var/lib/dpkg/*-old'
        ' && find "$1"/var/log -type f -delete'
        ' && : > "$1"/etc/resolv.conf && echo localhost > "$1"/etc/hostname'
    )
    # Root mode needs root; unshare mode does the same in a user namespace for anyone else.
    build_mode = "root" if os.geteuid() == 0 else "unshare"
    return [
        "mmdebstrap",
        "--variant=minbase",
        f"--mode={build_mode}",
        "--format=tar",
        f"--include={','.join(spec.packages)}",
        '--aptopt=Acquire::Languages "none"',
        *(f"--dpkgopt={option}" for option in DPKG_EXCLUDES),
        # The runtime provides /dev; device nodes in a layer only break unprivileged unpacking.
        "--skip=output/dev",
        *(f"--customize-hook={hook}" for hook in hooks),
        DEBIAN_SUITE,
        str(rootfs),
        DEBIAN_MIRROR,
    ]


def _add_dev_directory(rootfs: Path) -> None:
    """An empty /dev (mmdebstrap left it out with its nodes): the runtime mounts its own
    there, and a mount point that exists works with a read-only root filesystem too."""
    entry = tarfile.TarInfo("./dev/")
    entry.type = tarfile.DIRTYPE
    entry.mode = 0o755
    entry.mtime = SOURCE_DATE_EPOCH
    with tarfile.open(rootfs, "a", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(entry)


def _pack(spec: ImageSpec, rootfs: Path, layout: Path, staging: Path) -> None:
    image = f"{layout}:{spec.tag}"
    created = datetime.fromtimestamp(SOURCE_DATE_EPOCH, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    _run("umoci init", ["umoci", "init", "--layout", str(layout)], staging)
    _run("umoci new", ["umoci", "new", "--image", image], staging)
    _run(
        "umoci raw add-layer",
        [
            "umoci", "raw", "add-layer", "--image", image,
            f"--history.created={created}",
            f"--history.created_by=mmdebstrap {DEBIAN_SUITE} {' '.join(spec.packages)}",
            str(rootfs),
        ],
        staging,
    )  # fmt: skip
    config = ["umoci", "config", "--image", image, f"--created={created}", "--no-history"]
    config += [f"--config.entrypoint={part}" for part in spec.entrypoint]
    config += [f"--config.cmd={part}" for part in spec.cmd]
    # Without a PATH the runtime may find no program at all (Docker's images all set one).
    env = dict((("PATH", DEFAULT_PATH), *spec.env))
    config += [f"--config.env={key}={value}" for key, value in env.items()]
    config += [f"--config.exposedports={port}" for port in spec.ports]
    if spec.user:
        config.append(f"--config.user={spec.user}")
    if spec.workdir:
        config.append(f"--config.workingdir={spec.workdir}")
    config += [
        f"--config.label={DESCRIPTION}={spec.description}",
        f"--manifest.annotation={DESCRIPTION}={spec.description}",
    ]
    _run("umoci config", config, staging)
    _run("umoci stat", ["umoci", "stat", "--image", image], staging)
    # Each config step left an unreferenced manifest and config blob behind.
    _run("umoci gc", ["umoci", "gc", "--layout", str(layout)], staging)
    # umoci tags are bare tags; the importer needs the full name, and a platform saves it
    # reading the config to match this machine.
    index_file = layout / "index.json"
    index = json.loads(index_file.read_text())
    (manifest,) = index["manifests"]
    manifest["annotations"] = {REF_NAME: spec.reference, CONTAINERD_NAME: spec.reference}
    config_blob = _blob(layout, _read_json(layout, manifest["digest"])["config"]["digest"])
    platform = json.loads(config_blob.read_text())
    manifest["platform"] = {"architecture": platform["architecture"], "os": platform["os"]}
    index_file.write_text(json.dumps(index, separators=(",", ":")))


def _blob(layout: Path, digest: str) -> Path:
    algorithm, value = digest.split(":", 1)
    return layout / "blobs" / algorithm / value


def _read_json(layout: Path, digest: str) -> Any:
    return json.loads(_blob(layout, digest).read_text())


def _write_archive(layout: Path, archive: Path) -> None:
    """A tar of the layout with fixed owners and times: the same blobs make the same archive."""

    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = SOURCE_DATE_EPOCH
        return info

    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(layout.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(layout)), recursive=False, filter=normalise)


def read_archive(archive: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The index.json and image config in an OCI archive (for checks and tests)."""
    with tarfile.open(archive) as tar:

        def member(name: str) -> Any:
            file = tar.extractfile(name)
            if file is None:
                raise ImageError(f"{archive}: {name} is missing")
            return json.load(file)

        def blob(digest: str) -> Any:
            return member("blobs/" + digest.replace(":", "/", 1))

        index = member("index.json")
        manifest = blob(index["manifests"][0]["digest"])
        return index, blob(manifest["config"]["digest"])


def _verify(spec: ImageSpec, archive: Path) -> None:
    """Reads the archive back as the importer will: a wrong name would load an unnamed image."""
    index, config = read_archive(archive)
    names = index["manifests"][0].get("annotations", {})
    if names.get(CONTAINERD_NAME) != spec.reference or names.get(REF_NAME) != spec.reference:
        raise ImageError(f"{archive}: index.json does not name the image {spec.reference}")
    if config.get("config", {}).get("User", "") != spec.user:
        raise ImageError(f"{archive}: the image's user is not {spec.user!r}")


def _run(step: str, command: Sequence[str], staging: Path) -> None:
    env = {
        **os.environ,
        "SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH),
        # mmdebstrap assembles the root filesystem in TMPDIR: keep it beside the output.
        "TMPDIR": str(staging),
        "LC_ALL": "C.UTF-8",
    }
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    except OSError as error:
        raise ImageError(f"{step} could not start: {error}") from error
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        raise ImageError(f"{step} failed (exit {result.returncode}):\n{tail}")


# --- The catalogue ------------------------------------------------------------------------


def _renumber(user: str, uid: int) -> str:
    """Give a Debian system user (created with the next free low UID) the fixed UID Tutor's
    manifests run as, and move its files along, so the name and the UID agree."""
    return (
        f"old_uid=$(id -u {user}); old_gid=$(id -g {user});"
        f" groupmod -g {uid} {user}; usermod -u {uid} -g {uid} {user};"
        f' find / -xdev \\( -uid "$old_uid" -o -gid "$old_gid" \\)'
        f" -exec chown -h {uid}:{uid} {{}} +"
    )


MYSQL_ENTRYPOINT = "/usr/local/bin/mysql-standin-entrypoint"
MYSQL_DATADIR = "/var/lib/mysql"

# The root filesystem is read-only in the sandbox: the socket and pid file go to the data
# volume (always writable), not /run. The server listens on every address for its Service.
MYSQL_CONFIG = f"""\
# campus sandbox: MariaDB standing in for MySQL.
[mysqld]
bind-address = 0.0.0.0
port = 3306
datadir = {MYSQL_DATADIR}
socket = {MYSQL_DATADIR}/mysqld.sock
pid-file = {MYSQL_DATADIR}/mysqld.pid
skip-name-resolve

[client]
socket = {MYSQL_DATADIR}/mysqld.sock
"""

# Takes the arguments of the official MySQL image's entrypoint, as Tutor passes them.
MYSQL_ENTRYPOINT_SCRIPT = r"""#!/bin/sh
# MariaDB standing in for MySQL (campus sandbox). Accepts the official MySQL image's
# arguments: `mysqld [options]` initialises an empty data directory, sets the root password
# from MYSQL_ROOT_PASSWORD, and runs mariadbd; anything else is run as it is.
set -eu

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
    set -- mysqld "$@"
fi
case "$1" in
    mysqld | mariadbd) shift ;;
    *) exec "$@" ;;
esac

# MySQL 8 options MariaDB 10.11 refuses to start with ("unknown variable"). Each is dropped:
# --mysql-native-password enables a plugin MariaDB has built in and enabled; MariaDB has no
# X protocol (mysqlx) and no authentication_policy (its default plugin is already native).
datadir=/var/lib/mysql
for arg do
    shift
    case "$arg" in
        --datadir=*) datadir=${arg#--datadir=} && set -- "$@" "$arg" ;;
        --mysql-native-password | --mysql-native-password=* | --skip-mysql-native-password) ;;
        --mysqlx | --mysqlx=* | --skip-mysqlx | --mysqlx-* | --mysqlx_*) ;;
        --authentication-policy=* | --authentication_policy=*) ;;
        *) set -- "$@" "$arg" ;;
    esac
done

if [ ! -d "$datadir/mysql" ]; then
    if [ -z "${MYSQL_ROOT_PASSWORD:-}" ] && [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ]; then
        echo "mysql-standin: the data directory is empty; set MYSQL_ROOT_PASSWORD" >&2
        exit 1
    fi
    echo "mysql-standin: initialising $datadir" >&2
    # --force: a container may have no resolvable hostname (accounts use addresses anyway).
    mariadb-install-db --datadir="$datadir" --auth-root-authentication-method=normal \
        --skip-test-db --skip-name-resolve --force >&2
    # A server no client can reach over the network until root has its password.
    mariadbd "$@" --skip-networking &
    pid=$!
    tries=0
    until mariadb -uroot -e 'SELECT 1' >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [ "$tries" -gt 60 ] || ! kill -0 "$pid" 2>/dev/null; then
            echo "mysql-standin: the initialising server did not start" >&2
            exit 1
        fi
        sleep 1
    done
    password=$(printf '%s' "${MYSQL_ROOT_PASSWORD:-}" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")
    # As the official MySQL image does: root from anywhere (other pods) and locally, with the
    # password. install-db also made password-less root@127.0.0.1, @::1 and @<hostname>,
    # which would win over root@'%' for connections from those addresses.
    mariadb -uroot <<SQL
DELETE FROM mysql.global_priv WHERE User = 'root' AND Host NOT IN ('localhost', '%');
DELETE FROM mysql.proxies_priv WHERE Host NOT IN ('localhost', '%');
ALTER USER 'root'@'localhost' IDENTIFIED BY '$password';
CREATE USER 'root'@'%' IDENTIFIED BY '$password';
GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
    kill "$pid"
    wait "$pid" || true
    echo "mysql-standin: initialised" >&2
fi

exec mariadbd "$@"
"""

OPENEDX_STANDIN = "/usr/local/bin/openedx-standin"

# python3-minimal has no http.server nor json: a few lines of sockets instead.
OPENEDX_STANDIN_SCRIPT = r'''#!/usr/bin/python3
"""A stand-in for the Open edX application images in the campus sandbox: NOT Open edX.
Answers 200 with a JSON body naming itself on every path, and logs requests to stdout.
Usage: openedx-standin [--port N] [anything the real image would have been given]."""

import os
import socket
import sys
import threading
import time


def quoted(text):
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20:
            out.append("\\u%04x" % ord(char))
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


args = sys.argv[1:]
if args[:1] == ["--job"]:
    # A Job's container: the real image would have run this; the stand-in cannot.
    print("openedx-standin (not Open edX): a Job's command, not run: %s" % " ".join(args[1:]))
    sys.exit(0)
port = int(os.environ.get("PORT", "8000"))
if "--port" in args[:-1]:
    port = int(args[args.index("--port") + 1])
service = (
    os.environ.get("STANDIN_SERVICE") or os.environ.get("SERVICE_VARIANT") or socket.gethostname()
)


def answer(connection, address):
    with connection:
        connection.settimeout(30)
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = connection.recv(4096)
            if not chunk:
                break
            data += chunk
        line = data.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ")
        method, path = (parts[0], parts[1]) if len(parts) >= 2 else ("", "")
        body = "{%s}\n" % ", ".join([
            '"standin": true',
            '"service": ' + quoted(service),
            '"path": ' + quoted(path),
            '"args": [' + ", ".join(quoted(arg) for arg in args) + "]",
            '"note": "a stand-in for an Open edX image, not Open edX"',
        ])
        payload = body.encode()
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % len(payload)
        )
        connection.sendall(head.encode() + (b"" if method == "HEAD" else payload))
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        print('%s %s "%s" 200 %d' % (stamp, address[0], line, len(payload)), flush=True)


server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
server.bind(("::", port))
server.listen(64)
print("openedx-standin (not Open edX) for %s listening on port %d" % (service, port), flush=True)
while True:
    connection, address = server.accept()
    threading.Thread(target=answer, args=(connection, address), daemon=True).start()
'''

NGINX_CONFIG = """\
worker_processes 1;
pid /tmp/nginx.pid;
error_log /dev/stderr notice;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    client_body_temp_path /tmp/client_temp;
    proxy_temp_path /tmp/proxy_temp;
    fastcgi_temp_path /tmp/fastcgi_temp;
    uwsgi_temp_path /tmp/uwsgi_temp;
    scgi_temp_path /tmp/scgi_temp;
    include /etc/nginx/conf.d/*.conf;
}
"""

SANDBOX_IMAGES: dict[str, ImageSpec] = {
    "redis": ImageSpec(
        name="campus.local/sandbox/redis",
        tag=DEBIAN_SUITE,
        packages=("redis-server",),
        description="Debian's Redis server, run as UID 1000 as Tutor's redis Deployment does.",
        cmd=("redis-server",),
        user="1000:1000",
        workdir="/openedx/redis/data",
        ports=("6379/tcp",),
        setup=(
            _renumber("redis", 1000),
            "mkdir -p /openedx/redis/config /openedx/redis/data"
            " && chown 1000:1000 /openedx/redis/data",
        ),
    ),
    "mysql": ImageSpec(
        name="campus.local/sandbox/mariadb-standing-in-for-mysql",
        tag=DEBIAN_SUITE,
        packages=("mariadb-server", "mariadb-client"),
        description=(
            "MariaDB standing in for MySQL (Debian has no MySQL server): a stand-in that takes "
            "the official MySQL image's arguments and MYSQL_ROOT_PASSWORD, run as UID 999."
        ),
        entrypoint=(MYSQL_ENTRYPOINT,),
        cmd=("mysqld",),
        user="999:999",
        ports=("3306/tcp",),
        files=(
            (MYSQL_ENTRYPOINT, MYSQL_ENTRYPOINT_SCRIPT, 0o755),
            ("/etc/mysql/mariadb.conf.d/99-campus-sandbox.cnf", MYSQL_CONFIG, 0o644),
        ),
        setup=(
            _renumber("mysql", 999),
            # The package initialised a data directory; the image starts empty so the
            # entrypoint initialises the volume with the pod's root password.
            f"rm -rf {MYSQL_DATADIR} && mkdir -p {MYSQL_DATADIR} && chown 999:999 {MYSQL_DATADIR}",
        ),
    ),
    # The maintenance page (`campus.deploy.maintenance`): Debian's nginx laid out as the
    # nginx-unprivileged image is (UID 101, pid and temporary files under /tmp, the
    # server blocks of /etc/nginx/conf.d only, its log files links to stdout and stderr:
    # Debian's /var/log/nginx is root's, and the root filesystem is read-only).
    "nginx-unprivileged": ImageSpec(
        name="campus.local/sandbox/nginx-unprivileged",
        tag=DEBIAN_SUITE,
        packages=("nginx-light",),
        description=(
            "Debian's nginx run as UID 101 as the nginx-unprivileged image is: the sandbox's "
            "maintenance page server."
        ),
        cmd=("nginx", "-g", "daemon off;"),
        user="101:101",
        ports=("8080/tcp",),
        files=(("/etc/nginx/nginx.conf", NGINX_CONFIG, 0o644),),
        setup=(
            _renumber("www-data", 101),
            "rm -rf /etc/nginx/sites-enabled /var/www/html && mkdir -p /etc/nginx/conf.d",
            "ln -sf /dev/stdout /var/log/nginx/access.log"
            " && ln -sf /dev/stderr /var/log/nginx/error.log",
        ),
    ),
    # Backups (docs/backups.md): Debian's restic (0.14: repository format 2, compression),
    # run with a shell as the official restic image is; the backup pod sets its own user.
    "restic": ImageSpec(
        name="campus.local/sandbox/restic",
        tag=DEBIAN_SUITE,
        packages=("restic", "ca-certificates"),
        description="Debian's restic: the sandbox's backup client.",
        entrypoint=("/usr/bin/restic",),
    ),
    "openedx-standin": ImageSpec(
        name="campus.local/sandbox/openedx-standin",
        tag=DEBIAN_SUITE,
        packages=("python3-minimal",),
        description=(
            "A stand-in for the Open edX application images, not Open edX: a tiny Python HTTP "
            "server answering 200 with JSON naming itself a stand-in, run as UID 1000."
        ),
        entrypoint=(OPENEDX_STANDIN,),
        user="1000:1000",
        workdir="/openedx",
        env=(("PORT", "8000"),),
        ports=("8000/tcp",),
        files=((OPENEDX_STANDIN, OPENEDX_STANDIN_SCRIPT, 0o755),),
        setup=(
            # Tutor's openedx image user: app, UID 1000, home /openedx.
            "groupadd -g 1000 app && useradd -u 1000 -g 1000 -d /openedx -M -s /bin/sh app"
            " && mkdir -p /openedx && chown 1000:1000 /openedx",
        ),
    ),
}


# Every real pod's sandbox process (`tools/pause`), campus's own: registry.k8s.io's
# pause image cannot be pulled here.
PAUSE = ImageSpec(
    name=PAUSE_IMAGE.rsplit(":", 1)[0],
    tag=PAUSE_IMAGE.rsplit(":", 1)[1],
    packages=(),
    description="The pod sandbox process of the campus sandbox's real nodes.",
    entrypoint=("/pause",),
)


# Tutor's Caddy release, from its Go module (`versions.CADDY`), laid out as the official
# image is: /usr/bin/caddy, its command, XDG directories under /config and /data.
CADDY = ImageSpec(
    name="campus.local/sandbox/caddy",
    tag=CADDY_VERSION.removeprefix("v"),
    packages=(),
    description=(
        "Caddy built from its Go module at the release Tutor's image has, laid out as the "
        "official caddy image; runs as root as in Tutor."
    ),
    cmd=("caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"),
    workdir="/srv",
    env=(("XDG_CONFIG_HOME", "/config"), ("XDG_DATA_HOME", "/data")),
    ports=("80/tcp", "443/tcp", "443/udp", "2019/tcp"),
)
CADDY_DIRECTORIES = ("/etc/caddy", "/config", "/data", "/srv")

# The real nodes' ingress controller (`versions.TRAEFIK`), laid out as the official image.
TRAEFIK = ImageSpec(
    name="campus.local/sandbox/traefik",
    tag=TRAEFIK_VERSION.removeprefix("v"),
    packages=(),
    description="Traefik built from its Go module: the sandbox's ingress controller.",
    entrypoint=("/usr/local/bin/traefik",),
    ports=("8000/tcp", "9000/tcp"),
)

# The backup store (`campus.sandbox.object_store`), from its Go module (`versions.VERSITYGW`).
VERSITYGW = ImageSpec(
    name="campus.local/sandbox/versitygw",
    tag=VERSITYGW_VERSION.removeprefix("v"),
    packages=(),
    description="versitygw built from its Go module: the sandbox's S3 store for backups.",
    entrypoint=("/usr/local/bin/versitygw",),
    ports=("7070/tcp",),
)


def build_all(progress: Callable[[str], None] = lambda message: None) -> dict[str, Path]:
    return {key: build(spec, progress) for key, spec in SANDBOX_IMAGES.items()}
