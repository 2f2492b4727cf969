# Stand-ins for the redis:7 and postgres:16 images where no registry answers (the deploy test): Debian's
# redis-server and PostgreSQL on a local base, behind an entrypoint that reads the official postgres image's
# POSTGRES_USER, POSTGRES_DB and POSTGRES_PASSWORD_FILE. Not for production: use the official images there.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
USER root
RUN apt-get update && apt-get install -y --no-install-recommends redis-server postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /run/postgresql && chmod 0700 /var/lib/postgresql/data
COPY services-entrypoint.sh /usr/local/bin/services-entrypoint
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data LANG=C.UTF-8
ENTRYPOINT ["/usr/local/bin/services-entrypoint"]
CMD ["postgres"]
