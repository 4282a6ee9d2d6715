# cartrover-bot as a container image: `docker build -t cartrover-bot .`
#
# Two stages: `build` installs the locked dependencies (requirements.txt) and then the bot into a
# virtual environment; the final image is the same slim Python with that environment copied in,
# no pip cache and no build tools, running as an unprivileged user. The entry point is the command
# line, so the command is the argument: `serve` (the default), `clock`, `socket`, `migrate`, `check`.
# The Python here is the one in .python-version (a test keeps them the same).

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/cartrover-bot
WORKDIR /src
# The dependencies first, exactly as locked (the lock names every one, so --no-deps): this layer
# is rebuilt only when requirements.txt changes. The lock's `.` line is the bot, installed next.
COPY requirements.txt ./
RUN grep -v '^\.$' requirements.txt > /tmp/dependencies.txt \
    && /opt/cartrover-bot/bin/pip install --no-deps --requirement /tmp/dependencies.txt
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY handlers ./handlers
RUN /opt/cartrover-bot/bin/pip install --no-deps . \
    && /opt/cartrover-bot/bin/pip check

FROM python:3.11-slim-bookworm
ENV PATH=/opt/cartrover-bot/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=3000 \
    DATABASE_URL=sqlite:////var/lib/cartrover-bot/cartrover-bot.db
RUN groupadd --system --gid 10001 cartrover \
    && useradd --system --uid 10001 --gid cartrover --home-dir /var/lib/cartrover-bot \
       --shell /usr/sbin/nologin cartrover \
    && install -d -o cartrover -g cartrover -m 0700 /var/lib/cartrover-bot
COPY --from=build /opt/cartrover-bot /opt/cartrover-bot
# Numeric, so that a platform enforcing "run as non-root" can tell without reading /etc/passwd.
USER 10001:10001
WORKDIR /var/lib/cartrover-bot
# The SQLite default lives here; mount a volume to keep it, or set DATABASE_URL to PostgreSQL.
VOLUME ["/var/lib/cartrover-bot"]
EXPOSE 3000
# Liveness: `GET /livez` answers while the process serves, on HEALTH_PORT when it is set (`clock`,
# `socket`), else on PORT (`serve`). Readiness (`/readyz`: database, Slack, scheduler) is for the
# platform's traffic routing, not for restarts.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + (os.environ.get('HEALTH_PORT') or os.environ.get('PORT', '3000')) + '/livez', timeout=4)"]
ENTRYPOINT ["cartrover-bot"]
CMD ["serve"]
