# Offline equivalent of the official postgres:15-bookworm image, built from
# the mirrored Debian base and Debian's own postgresql-15 package. It honours
# the same interface: POSTGRES_USER, POSTGRES_PASSWORD (or _FILE), POSTGRES_DB,
# POSTGRES_HOST_AUTH_METHOD, PGDATA, /docker-entrypoint-initdb.d, port 5432.
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}

ENV PG_MAJOR=15
ENV PATH=$PATH:/usr/lib/postgresql/${PG_MAJOR}/bin \
    PGDATA=/var/lib/postgresql/data \
    LANG=C.UTF-8

# The package would create and start a cluster of its own; the entrypoint
# creates ours in $PGDATA on first start instead.
RUN set -eux; \
    mkdir -p /etc/postgresql-common/createcluster.d; \
    printf 'create_main_cluster = false\n' > /etc/postgresql-common/createcluster.d/no-main-cluster.conf; \
    apt-get update; \
    apt-get install -y --no-install-recommends "postgresql-$PG_MAJOR"; \
    rm -rf /var/lib/apt/lists/*; \
    mkdir -p /var/run/postgresql "$PGDATA" /docker-entrypoint-initdb.d; \
    chown -R postgres:postgres /var/run/postgresql /var/lib/postgresql; \
    chmod 3777 /var/run/postgresql; \
    chmod 1777 "$PGDATA"; \
    postgres --version; pg_isready --version

COPY --chmod=755 postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh

VOLUME /var/lib/postgresql/data
ENTRYPOINT ["docker-entrypoint.sh"]
# Fast shutdown: the server disconnects clients and stops cleanly.
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
