import { describe, expect, it } from 'vitest';
import { parseServingPort, rcloneLineLevel } from './rclone-log.js';

describe('rclone log lines', () => {
  it('finds the port rclone chose', () => {
    expect(
      parseServingPort('2026/12/04 03:57:48 NOTICE: Local file system at /tmp/s: Serving restic REST API on http://127.0.0.1:44019/'),
    ).toBe(44019);
    expect(parseServingPort('2026/12/04 03:57:48 NOTICE: Config file "/root/.config/rclone/rclone.conf" not found')).toBeUndefined();
    expect(parseServingPort('Serving restic REST API on http://0.0.0.0:8080/')).toBeUndefined();
    expect(parseServingPort('Serving restic REST API on http://127.0.0.1:99999/')).toBeUndefined();
  });

  it('maps levels', () => {
    expect(rcloneLineLevel('2026/12/04 03:55:08 ERROR : dev1/config: Post request: file already exists')).toBe('error');
    expect(rcloneLineLevel('2026/12/04 03:55:08 NOTICE: x')).toBe('info');
  });
});
