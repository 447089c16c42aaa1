/**
 * gvmd releases the stand-in imitates, by what a GMP client can observe of them (from gvmd's
 * own GMP documentation and change notes):
 * - 22.4: GMP 22.4; report counts named hole/warning/info; no get_features (an unknown command:
 *   gvmd answers 400 "Bogus command name" and ends the session).
 * - 23.10: GMP 22.5; still hole/warning/info; get_features with CVSS3_RATINGS and OPENVASD.
 * - 24.2: GMP still 22.5, but get_tasks counts named high/medium/low, the old names still sent,
 *   marked deprecated, with the same numbers; no critical on a build without CVSS 3 ratings.
 * - current (26.x): GMP 22.7; critical added; features with `compiled_in`.
 */
export type GvmdProfileId = '22.4' | '23.10' | '24.2' | 'current';

export interface GvmdProfile {
  id: GvmdProfileId;
  gvmdVersion: string;
  gmpVersion: string;
  /** Result counts in get_tasks: the old names only, or new and deprecated old side by side. */
  severityNames: 'hole-warning-info' | 'both';
  hasCritical: boolean;
  features: 'none' | 'v23' | 'current';
}

export const GVMD_PROFILES: Record<GvmdProfileId, GvmdProfile> = {
  '22.4': {
    id: '22.4',
    gvmdVersion: '22.4.1',
    gmpVersion: '22.4',
    severityNames: 'hole-warning-info',
    hasCritical: false,
    features: 'none',
  },
  '23.10': {
    id: '23.10',
    gvmdVersion: '23.10.0',
    gmpVersion: '22.5',
    severityNames: 'hole-warning-info',
    hasCritical: false,
    features: 'v23',
  },
  '24.2': { id: '24.2', gvmdVersion: '24.2.0', gmpVersion: '22.5', severityNames: 'both', hasCritical: false, features: 'v23' },
  current: { id: 'current', gvmdVersion: '26.36.1', gmpVersion: '22.7', severityNames: 'both', hasCritical: true, features: 'current' },
};
