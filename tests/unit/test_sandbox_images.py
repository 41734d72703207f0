"""The sandbox image catalogue and cache keys, and the MariaDB entrypoint run against fakes."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest

from campus.sandbox import images
from campus.sandbox.images import SANDBOX_IMAGES, ImageSpec, cache_key

SPEC = ImageSpec(
    name="campus.local/sandbox/example",
    tag="bookworm",
    packages=("redis-server",),
    description="An example.",
    entrypoint=("/bin/example",),
)


def test_cache_key_is_stable_and_short() -> None:
    same = dataclasses.replace(SPEC)
    assert cache_key(SPEC) == cache_key(same)
    assert len(cache_key(SPEC)) == 16
    int(cache_key(SPEC), 16)


@pytest.mark.parametrize(
    "change",
    [
        {"packages": ("redis-server", "procps")},
        {"entrypoint": ("/bin/other",)},
        {"cmd": ("serve",)},
        {"user": "1000:1000"},
        {"files": (("/etc/x", "y", 0o644),)},
        {"files": (("/etc/x", "y", 0o755),)},
        {"setup": ("true",)},
        {"tag": "other"},
    ],
)
def test_cache_key_changes_with_the_spec(change: dict[str, object]) -> None:
    assert cache_key(dataclasses.replace(SPEC, **change)) != cache_key(SPEC)  # type: ignore[arg-type]


def test_cache_key_changes_with_the_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    before = cache_key(SPEC)
    monkeypatch.setattr(images, "tool_version", lambda tool: f"{tool} 99")
    assert cache_key(SPEC) != before


def test_archive_path_is_under_the_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = images.image_path(SANDBOX_IMAGES["redis"])
    assert path.parent == tmp_path / "campus" / "images"
    assert path.name == f"redis-{cache_key(SANDBOX_IMAGES['redis'])}.tar"


def test_missing_tool_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(images.shutil, "which", lambda tool: None)
    with pytest.raises(images.ImageError, match="mmdebstrap is not installed: apt-get install"):
        images.build(SPEC)


def test_catalogue() -> None:
    assert set(SANDBOX_IMAGES) == {
        "redis",
        "mysql",
        "openedx-standin",
        "nginx-unprivileged",
        "restic",
    }
    for spec in SANDBOX_IMAGES.values():
        assert spec.name.startswith("campus.local/sandbox/")
        assert spec.description.endswith(".")
    mysql = SANDBOX_IMAGES["mysql"]
    assert "MariaDB standing in for MySQL" in mysql.description
    assert "mariadb" in mysql.name and "mysql" in mysql.name
    assert mysql.user == "999:999"
    standin = SANDBOX_IMAGES["openedx-standin"]
    assert "standin" in standin.name
    assert "stand-in" in standin.description and "not Open edX" in standin.description
    assert SANDBOX_IMAGES["redis"].user == "1000:1000"
    assert standin.user == "1000:1000"
    # The maintenance page's server, as the nginx-unprivileged image runs it.
    nginx = SANDBOX_IMAGES["nginx-unprivileged"]
    assert nginx.user == "101:101" and "pid /tmp/nginx.pid;" in images.NGINX_CONFIG
    # Debian's /var/log/nginx is root's: its log files link to stdout and stderr, as upstream.
    assert "ln -sf /dev/stderr /var/log/nginx/error.log" in " ".join(nginx.setup)
    assert images.TRAEFIK.entrypoint == ("/usr/local/bin/traefik",)
    # Caddy is Tutor's own release, from its Go module: Debian's cannot read its Caddyfile.
    assert images.CADDY.cmd[0] == "caddy" and images.CADDY.tag == "2.11.7"


def test_placement_names_the_images_the_catalogue_builds() -> None:
    from campus.sandbox import placement

    built = {key: spec.reference for key, spec in SANDBOX_IMAGES.items()}
    built["caddy"] = images.CADDY.reference
    assert built == placement.IMAGES


def fake(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


def run_entrypoint(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The script with fakes of the MariaDB programs first on PATH."""
    entrypoint = tmp_path / "entrypoint"
    entrypoint.write_text(images.MYSQL_ENTRYPOINT_SCRIPT)
    entrypoint.chmod(0o755)
    env = {
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "MYSQL_ROOT_PASSWORD": "it's a \\secret",
        # The fake install-db learns the data directory from here.
        "D": str(tmp_path / "data"),
    }
    return subprocess.run(
        [str(entrypoint), *args], capture_output=True, text=True, env=env, timeout=30, check=True
    )


# Tutor's mysql Deployment args.
TUTOR_ARGS = (
    "mysqld",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_unicode_ci",
    "--binlog-expire-logs-seconds=259200",
    "--mysql-native-password=ON",
)


def test_entrypoint_drops_what_mariadb_refuses(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "data" / "mysql").mkdir(parents=True)  # already initialised
    fake(tmp_path / "bin", "mariadbd", 'for a in "$@"; do echo "arg: $a"; done\n')
    result = run_entrypoint(
        tmp_path, *TUTOR_ARGS, "--mysqlx=OFF", "--skip-mysqlx", f"--datadir={tmp_path / 'data'}"
    )
    assert result.stdout.splitlines() == [
        "arg: --character-set-server=utf8mb4",
        "arg: --collation-server=utf8mb4_unicode_ci",
        "arg: --binlog-expire-logs-seconds=259200",
        f"arg: --datadir={tmp_path / 'data'}",
    ]


def test_entrypoint_options_alone_mean_mysqld_and_other_commands_run(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    (tmp_path / "data" / "mysql").mkdir(parents=True)
    fake(tmp_path / "bin", "mariadbd", 'echo "mariadbd $*"\n')
    datadir = f"--datadir={tmp_path / 'data'}"
    assert run_entrypoint(tmp_path, "--mysql-native-password", datadir).stdout == (
        f"mariadbd {datadir}\n"
    )
    assert run_entrypoint(tmp_path, "echo", "hello").stdout == "hello\n"


def test_entrypoint_initialises_an_empty_data_directory(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "data").mkdir()
    log = tmp_path / "log"
    fake(bin_dir, "mariadb-install-db", f'echo "install $*" >> {log}; mkdir "$D/mysql"\n')
    fake(
        bin_dir,
        "mariadbd",
        f'echo "mariadbd $*" >> {log}\ncase "$*" in *--skip-networking*) exec sleep 30 ;; esac\n',
    )
    fake(bin_dir, "mariadb", f'echo "client $*" >> {log}; cat >> {log}\n')
    run_entrypoint(tmp_path, *TUTOR_ARGS, f"--datadir={tmp_path / 'data'}")
    lines = log.read_text().splitlines()
    assert lines[0].startswith(f"install --datadir={tmp_path / 'data'}")
    # The initialising server runs in the background: its line may come after the client's.
    assert any(line.startswith("mariadbd ") and "--skip-networking" in line for line in lines)
    sql = "\n".join(lines)
    assert "ALTER USER 'root'@'localhost' IDENTIFIED BY 'it\\'s a \\\\secret';" in sql
    assert "CREATE USER 'root'@'%'" in sql and "GRANT ALL ON *.* TO 'root'@'%'" in sql
    assert "--mysql-native-password" not in sql
    assert "DELETE FROM mysql.global_priv WHERE User = 'root'" in sql
    final = lines[-1]
    assert final.startswith("mariadbd ") and "--skip-networking" not in final
