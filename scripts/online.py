"""Serve Réseaux as in production, on this machine (`make online`): N app processes on loopback
ports behind Caddy, with HTTPS from Caddy's own authority (``tls internal``), all kept alive by
supervisord.

    python scripts/online.py [--processes 2] [--https-port 8443] [--first-port 8601] [--run-dir build/online]

What it writes in ``--run-dir`` (rewritten at each start): the ``Caddyfile``, ``supervisord.conf``,
a log per process, Caddy's certificates (``caddy/``: its local authority, never installed in the
system's trust store). Then it runs supervisord in the foreground until Ctrl-C (or SIGTERM), which
stops every process and Caddy.

- Caddy: the only listener on the network side. It sends each browser to one process and keeps it
  there with a cookie (``lb_policy cookie``: a Streamlit session lives in one process), carries the
  websocket of /_stcore/stream, asks each process /_stcore/health every 2 s and sends nobody to a
  process that fails, and adds HSTS. It does not compress: the app already does (serve.py, gzip
  level 1, measured there), and compressing twice costs processor time for nothing.
- The processes listen on 127.0.0.1 only, and trust X-Forwarded-For/-Proto from the loopback
  alone (RESEAUX_TRUSTED_PROXY for Réseaux's own reading, FORWARDED_ALLOW_IPS for uvicorn, which
  serves st.App and rewrites the request's scheme and client from those headers — loopback by
  default, said here so that both read the same list): the sign-in cookie is ``Secure`` because
  Caddy says the person's connection is HTTPS, and nobody else can say it.
- supervisord restarts a process that dies (``autorestart``); meanwhile Caddy sends its browsers
  to the others.

On a server the same roles are played by systemd units and Caddy's Debian service: see
docs/mettre-en-ligne.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The proxy's addresses, as the processes see them: Caddy runs on the same host.
LOOPBACK = "127.0.0.1,::1"
#: The name of Caddy's routing cookie (its value is an HMAC-SHA256 of the process's address).
ROUTING_COOKIE = "reseaux_processus"


def caddyfile(https_port: int, app_ports: list[int], storage: Path) -> str:
    """The Caddy configuration: https://localhost:<https_port> to the processes on ``app_ports``."""
    upstreams = " ".join(f"127.0.0.1:{port}" for port in app_ports)
    return f"""{{
	admin off
	# Local run: no redirect listener on port 80, no change to the system's trust store.
	auto_https disable_redirects
	skip_install_trust
	storage file_system {{
		root {storage}
	}}
}}

https://localhost:{https_port} {{
	bind 127.0.0.1 [::1]
	tls internal
	header Strict-Transport-Security "max-age=31536000"
	# Caddy 2.6 sets its routing cookie without these flags; it holds no secret, but no cookie
	# of this site travels over plain http or is read by a script.
	header {{
		Set-Cookie "^({ROUTING_COOKIE}=[0-9a-f]+; Path=/)$" "$1; Secure; HttpOnly; SameSite=Lax"
		defer
	}}
	reverse_proxy {upstreams} {{
		lb_policy cookie {ROUTING_COOKIE}
		# A process that does not answer: try another one for up to 5 s.
		lb_try_duration 5s
		fail_duration 10s
		health_uri /_stcore/health
		health_interval 2s
		health_timeout 2s
	}}
}}
"""


def supervisord_conf(run_dir: Path, app_ports: list[int], python: str, caddy: str) -> str:
    """supervisord's configuration: one program per app process, plus Caddy."""
    parts = [
        f"""[supervisord]
nodaemon=true
logfile={run_dir}/supervisord.log
pidfile={run_dir}/supervisord.pid
childlogdir={run_dir}

[unix_http_server]
file={run_dir}/supervisor.sock
chmod=0700

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{run_dir}/supervisor.sock
"""
    ]
    for index, port in enumerate(app_ports):
        parts.append(f"""
[program:reseaux-{index}]
command={python} -m streamlit run serve.py --server.port {port} --server.address 127.0.0.1 --server.headless true --browser.gatherUsageStats false
directory={ROOT}
environment=RESEAUX_TRUSTED_PROXY="{LOOPBACK}",FORWARDED_ALLOW_IPS="{LOOPBACK}"
autorestart=true
startsecs=3
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile={run_dir}/reseaux-{index}.log
""")
    parts.append(f"""
[program:caddy]
command={caddy} run --config {run_dir}/Caddyfile --adapter caddyfile
autorestart=true
stopasgroup=true
redirect_stderr=true
stdout_logfile={run_dir}/caddy.log
""")
    return "".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--processes",
        type=int,
        default=int(os.environ.get("PROCESSES", "2")),
        help="nombre de processus de l'application (défaut 2)",
    )
    parser.add_argument("--https-port", type=int, default=8443, help="port HTTPS de Caddy (défaut 8443)")
    parser.add_argument(
        "--first-port",
        type=int,
        default=8601,
        help="port du premier processus sur 127.0.0.1, les suivants à la suite (défaut 8601)",
    )
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=ROOT / "build" / "online",
        help="dossier des configurations, journaux et certificats (défaut build/online)",
    )
    args = parser.parse_args(argv)
    if args.processes < 1:
        parser.error(f"--processes {args.processes} : il faut au moins 1 processus.")
    caddy = shutil.which("caddy")
    if caddy is None:
        parser.error(
            "Caddy est absent : installez le paquet Debian « caddy » (apt-get install caddy), "
            "ou lancez `make online`, qui l'installe."
        )
    supervisord = Path(sys.executable).with_name("supervisord")
    if not supervisord.exists():
        parser.error(f"supervisord est absent de {supervisord.parent} : `make setup` l'installe (requirements.txt).")

    run_dir = args.run_dir.resolve()
    run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # Caddy keeps its authority's key there
    app_ports = [args.first_port + i for i in range(args.processes)]
    (run_dir / "Caddyfile").write_text(caddyfile(args.https_port, app_ports, run_dir / "caddy"), encoding="utf-8")
    (run_dir / "supervisord.conf").write_text(
        supervisord_conf(run_dir, app_ports, sys.executable, caddy), encoding="utf-8"
    )
    print(
        f"Réseaux en ligne sur https://localhost:{args.https_port} ({args.processes} processus, "
        f"ports {', '.join(map(str, app_ports))} sur 127.0.0.1) ; journaux dans {run_dir}. Ctrl-C arrête tout.",
        flush=True,
    )
    # supervisord in the foreground, in place of this process: its pid is the one to stop.
    os.execv(str(supervisord), [str(supervisord), "--configuration", str(run_dir / "supervisord.conf")])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
