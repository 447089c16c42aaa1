# The API image: the API, the worker and the migrations from one release tree (infra/release),
# chosen by the command (entrypoint.sh). wg talks to the hub's control socket; openssl makes the
# proxy's private CA in the proxy-setup step.
ARG BASE=xspectre/base:latest
FROM ${BASE}
RUN apt-get update && apt-get install -y libstdc++6 wireguard-tools openssl \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/*.log \
 && groupadd --system --gid 10001 xspectre && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/xspectre --shell /usr/sbin/nologin xspectre \
 && groupadd --system --gid 10002 caddy && useradd --system --uid 10002 --gid 10002 --no-create-home --shell /usr/sbin/nologin caddy \
 && install -d -o xspectre -g xspectre -m 0700 /var/lib/xspectre /var/lib/xspectre/keys /var/lib/xspectre/audit-anchors
COPY --chown=root:root tree/runtime /opt/xspectre/runtime
COPY --chown=root:root tree/node_modules /opt/xspectre/node_modules
COPY --chown=root:root tree/package.json tree/RELEASE.json /opt/xspectre/
COPY --chown=root:root tree/contracts /opt/xspectre/contracts
COPY --chown=root:root tree/wireguard /opt/xspectre/wireguard
COPY --chown=root:root tree/api /opt/xspectre/api
COPY --chown=root:root tree/agent /opt/xspectre/agent
COPY --chown=root:root tree/infra/proxy /opt/xspectre/infra/proxy
COPY entrypoint.sh /usr/local/bin/xspectre
COPY proxy-setup.sh /usr/local/bin/xspectre-proxy-setup
# Writable state lives in volumes under /var/lib/xspectre, never in the release tree.
RUN install -d -o xspectre -g xspectre -m 0700 /var/lib/xspectre/recordings
ENV NODE_ENV=production API_KEY_STORE_DIR=/var/lib/xspectre/keys API_AUDIT_ANCHOR_DIR=/var/lib/xspectre/audit-anchors \
    API_TERMINAL_RECORDINGS_DIR=/var/lib/xspectre/recordings
USER xspectre
WORKDIR /opt/xspectre
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/xspectre"]
CMD ["api"]
