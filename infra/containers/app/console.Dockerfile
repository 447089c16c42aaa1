# The console (console/server.mjs: Next.js and its API pass-through) from a release tree.
ARG BASE=xspectre/base:latest
FROM ${BASE}
RUN apt-get update && apt-get install -y libstdc++6 \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/*.log \
 && groupadd --system --gid 10001 xspectre && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin xspectre
COPY --chown=root:root tree/runtime /opt/xspectre/runtime
COPY --chown=root:root tree/node_modules /opt/xspectre/node_modules
COPY --chown=root:root tree/package.json tree/RELEASE.json /opt/xspectre/
COPY --chown=root:root tree/contracts /opt/xspectre/contracts
COPY --chown=root:root tree/console /opt/xspectre/console
COPY entrypoint.sh /usr/local/bin/xspectre
ENV NODE_ENV=production CONSOLE_HOST=0.0.0.0 PORT=3001
USER xspectre
WORKDIR /opt/xspectre/console
EXPOSE 3001
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/xspectre"]
CMD ["console"]
