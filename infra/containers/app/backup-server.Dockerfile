# The file-backup server (backup-server/: rclone's restic REST front) from a release tree; its
# store is a plain directory volume here (ZFS needs the host).
ARG BASE=xspectre/base:latest
FROM ${BASE}
RUN apt-get update && apt-get install -y libstdc++6 rclone \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/*.log \
 && groupadd --system --gid 10001 xspectre && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin xspectre \
 && install -d -o xspectre -g xspectre -m 0700 /srv/backups
COPY --chown=root:root tree/runtime /opt/xspectre/runtime
COPY --chown=root:root tree/node_modules /opt/xspectre/node_modules
COPY --chown=root:root tree/package.json tree/RELEASE.json /opt/xspectre/
COPY --chown=root:root tree/contracts /opt/xspectre/contracts
COPY --chown=root:root tree/backup-server /opt/xspectre/backup-server
COPY entrypoint.sh /usr/local/bin/xspectre
ENV NODE_ENV=production BACKUP_STORAGE_DIR=/srv/backups
USER xspectre
WORKDIR /opt/xspectre/backup-server
VOLUME /srv/backups
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/xspectre"]
CMD ["backup-server"]
