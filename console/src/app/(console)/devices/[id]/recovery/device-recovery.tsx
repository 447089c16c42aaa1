'use client';

import { canMutateResource } from '@xspectre/contracts';
import { Forbidden } from '../../../../../components/ui';
import { useSession } from '../../../../../lib/session';
import { useDeviceFrame } from '../device-frame';
import styles from './device-recovery.module.css';
import { DiskImagesCard } from './disk-images-card';
import { RecoveryMediaCard } from './recovery-media-card';

/**
 * The Recovery tab (issue 16): the device's recovery stick (create, download, revoke) and its
 * full-disk images (take, restore, the job's live progress). The RECOVERY MODE banner above the
 * tabs comes from the frame, which keeps the media live (device-frame.tsx, recovery-mode.tsx).
 * Every action needs devices.critical_actions (and the owner's write access) and a step-up.
 */
export function DeviceRecovery() {
  const { device, org, recovery, version, bumpVersion } = useDeviceFrame();
  const { can, me } = useSession();
  if (!can('devices.view')) return <Forbidden permission="devices.view" what="see the device's recovery media" />;
  const canAct = can('devices.critical_actions') && org !== undefined && canMutateResource(me.role, org.kind);
  return (
    <div className={styles.layout}>
      <RecoveryMediaCard deviceId={device.id} deviceName={device.name} state={recovery} canAct={canAct} onChanged={bumpVersion} />
      {can('backups.view') ? (
        <DiskImagesCard deviceId={device.id} deviceName={device.name} state={recovery} canAct={canAct} version={version} />
      ) : (
        <Forbidden permission="backups.view" what="see full-disk images" />
      )}
    </div>
  );
}
