# PostgreSQL 15 from Debian's own package, for deploy/docker-compose.postgres.yml on a machine
# that cannot pull postgres:15 (scripts/images --postgres makes the base with debootstrap). It
# takes the same settings as the official image: POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB,
# data in /var/lib/postgresql/data, pg_isready on the PATH.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN if ! dpkg -s postgresql-15 >/dev/null 2>&1; then \
      apt-get update && apt-get install -y --no-install-recommends postgresql-15 && rm -rf /var/lib/apt/lists/*; \
    fi \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["postgres-entrypoint"]
