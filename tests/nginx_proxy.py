"""Debian's nginx running docs/deploy/nginx.conf as-is: only its documented placeholders
(ports, node addresses, certificate paths) are filled in, in a copy under a tmp dir.

nginx runs as a child in the foreground (`daemon off`) with its own prefix, pid file,
logs and temp dirs in that tmp dir, on free loopback ports, with a throwaway
self-signed certificate for 127.0.0.1. A small main config of the test's own supplies
what the file leaves to the system's nginx.conf (`events`, the `http` block).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

from tests.beckon_process import free_port
from tests.waiting import wait_until

NGINX = os.environ.get("BECKON_TEST_NGINX", "/usr/sbin/nginx")
CONFIG = Path(__file__).resolve().parents[1] / "docs" / "deploy" / "nginx.conf"
PLACEHOLDERS = (
    "BECKON_LISTEN",
    "BECKON_REDIRECT_LISTEN",
    "BECKON_TLS_CERT",
    "BECKON_TLS_KEY",
    "BECKON_NODE_1",
    "BECKON_NODE_2",
)
MAIN = """\
worker_processes 1;
daemon off;
{user}pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/beckon.conf;
}}
"""


def render(template: str, values: dict[str, str]) -> str:
    """`${NAME}` → value for the documented names only, as `envsubst '${NAME} …'`
    would; nginx's own `$variables` stay. Raises KeyError for a name not given."""
    text = template
    for name in PLACEHOLDERS:
        text = text.replace("${" + name + "}", values[name])
    left = re.findall(r"\$\{\w+\}", text)
    if left:
        raise KeyError(f"undocumented placeholders in {CONFIG.name}: {left}")
    return text


class NginxProxy:
    """`docs/deploy/nginx.conf` in front of `nodes` (host:port), serving
    https://127.0.0.1:`port` (and http on `redirect_port`, redirecting)."""

    def __init__(self, directory: Path, nodes: list[str]) -> None:
        self.dir = directory / "nginx"
        self.nodes = nodes
        self.port = free_port()
        self.redirect_port = free_port()
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def start(self) -> None:
        if shutil.which(NGINX) is None:
            raise RuntimeError(f"{NGINX} is missing: apt-get install nginx (scripts/test does)")
        self.dir.mkdir(parents=True, exist_ok=True)
        cert, key = self.dir / "cert.pem", self.dir / "key.pem"
        await _run(
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        )  # fmt: skip
        values = {
            "BECKON_LISTEN": f"127.0.0.1:{self.port}",
            "BECKON_REDIRECT_LISTEN": f"127.0.0.1:{self.redirect_port}",
            "BECKON_TLS_CERT": str(cert),
            "BECKON_TLS_KEY": str(key),
            **{f"BECKON_NODE_{i}": node for i, node in enumerate(self.nodes, 1)},
        }
        (self.dir / "beckon.conf").write_text(render(CONFIG.read_text(), values))
        # As root, nginx would hand the workers to `nobody`, who cannot enter pytest's
        # private tmp dirs.
        user = "user root;\n" if os.geteuid() == 0 else ""
        main = self.dir / "nginx-test.conf"
        main.write_text(MAIN.format(dir=self.dir, user=user))
        await _run(NGINX, "-t", "-q", "-p", f"{self.dir}/", "-c", str(main), "-e", "stderr")
        self.proc = await asyncio.create_subprocess_exec(
            NGINX, "-p", f"{self.dir}/", "-c", str(main), "-e", str(self.dir / "error.log"),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await wait_until(self._accepting, bool, timeout=10, what="nginx to listen")

    async def _accepting(self) -> bool:
        if self.proc is not None and self.proc.returncode is not None:
            raise RuntimeError(f"nginx exited: {self.log()}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        writer.close()
        return True

    def log(self) -> str:
        path = self.dir / "error.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()  # fast shutdown
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def _run(*command: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    if proc.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({proc.returncode}): {out.decode()[-2000:]}")
