# Gonsters images (Debian bookworm, like the machines we test on).
#
#   docker build -t gonsters .
#   docker run -p 8080:8080 gonsters                        # nginx + module
#   docker run -v gonsters-spool:/var/lib/gonsters/worker gonsters \
#       gonsters-worker -c /etc/gonsters/worker.conf
#     (the spool must be a volume: it holds acknowledged messages that
#     InfluxDB does not have yet)
#
# The build stage runs the same `make module worker` as a developer machine,
# against Debian's nginx-dev, so the module matches Debian's /usr/sbin/nginx.

FROM debian:bookworm AS build

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        build-essential ca-certificates dpkg-dev nginx nginx-dev \
        libpq-dev libhiredis-dev libcjson-dev libpaho-mqtt-dev \
        libcurl4-openssl-dev libcrypt-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
RUN make clean && make module worker


FROM debian:bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        nginx ca-certificates \
        libpq5 libhiredis0.14 libssl3 libcrypt1 libcjson1 libpaho-mqtt1.3 \
        libcurl4 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin gonsters \
 && mkdir -p /var/cache/gonsters/nginx /var/lib/gonsters/worker \
 && chown gonsters:gonsters /var/cache/gonsters/nginx /var/lib/gonsters/worker

COPY --from=build /src/build/nginx/ngx_http_gonsters_module.so /usr/lib/nginx/modules/
COPY --from=build /src/build/gonsters-worker /usr/local/bin/
COPY docker/nginx.conf /etc/gonsters/nginx.conf
COPY worker/worker.conf.example /etc/gonsters/worker.conf

USER gonsters
EXPOSE 8080

# perl-base is in every Debian image; curl is not.
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
    CMD ["perl", "-MIO::Socket::INET", "-e", "$s = IO::Socket::INET->new('127.0.0.1:8080') or exit 1; print $s qq{GET /health HTTP/1.0\\r\\n\\r\\n}; exit((<$s> // '') !~ m{^HTTP/1\\.\\d 200})"]

CMD ["nginx", "-c", "/etc/gonsters/nginx.conf", "-e", "stderr", "-g", "daemon off;"]
