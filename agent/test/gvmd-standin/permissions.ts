import { randomUUID } from 'node:crypto';
import { el, ok, statusOnly } from './responses.js';
import type { GvmdStandin, GvmdUser } from './server.js';

/**
 * The part of gvmd's access control the monitor account's provisioning meets, modelled after
 * gvmd's manage_sql.c / manage_acl.c / manage_sql_permissions.c:
 * - roles' command permissions: an `Observer` may run get_* but not get_users, get_roles or any
 *   create/modify/delete; `Admin` and `Super Admin` may run everything;
 * - visibility: an Observer sees the fixture's tasks (owned by `admin`, role Admin) only with a
 *   `Super` permission on the role Admin or on the user admin (gvmd's SUPER_CLAUSE);
 * - create_permission `Super` needs a resource and a Super Admin (or the resource's owner);
 * - `gvmd --delete-user=X --inheritor=Y` hands X's permissions to Y; without an inheritor they go.
 * A user without a role (the tests' own default users) may do and see everything, as before.
 *
 * What it cannot prove: everything else of gvmd's permission model (groups, per-resource
 * permissions, observers of a task, Super on everyone).
 */
export const ROLE_IDS: Record<string, string> = {
  Admin: '7a8cb5b4-b74d-11e2-8187-406186ea4fc5',
  User: '8d453140-b74d-11e2-b0be-406186ea4fc5',
  Observer: '87a7ebce-b74d-11e2-a81f-406186ea4fc5',
  'Super Admin': '9c5a6ec6-6fe2-11e4-8cb6-406186ea4fc5',
};

export interface StandinPermission {
  id: string;
  name: string;
  subjectType: 'user';
  subjectId: string;
  resourceType: 'user' | 'role';
  resourceId: string;
  /** User id of the owner (who created it, or inherited it). */
  owner: string;
}

const permissionsOf = new WeakMap<GvmdStandin, StandinPermission[]>();
export function standinPermissions(standin: GvmdStandin): StandinPermission[] {
  let list = permissionsOf.get(standin);
  if (!list) permissionsOf.set(standin, (list = []));
  return list;
}

export function userId(user: GvmdUser): string {
  user.id ??= randomUUID();
  return user.id;
}

const OBSERVER_DENIED = new Set(['get_users', 'get_roles', 'get_groups']);
/** Whether the user's role lets it run `command` at all (gvmd's user_may). */
export function roleMay(user: GvmdUser, command: string): boolean {
  if (user.role === undefined || user.role === 'Admin' || user.role === 'Super Admin') return true;
  if (user.role === 'Observer') return (command.startsWith('get_') && !OBSERVER_DENIED.has(command)) || command === 'help';
  return !command.startsWith('create_user') && !command.startsWith('modify_user');
}

/** Whether the user sees the fixture's tasks and reports (owned by admin, who has the role Admin). */
export function seesAdminObjects(standin: GvmdStandin, user: GvmdUser): boolean {
  if (user.role === undefined || user.role === 'Admin' || user.role === 'Super Admin' || user.username === 'admin') return true;
  const admin = standin.users.find((u) => u.username === 'admin');
  const me = userId(user);
  return standinPermissions(standin).some(
    (p) =>
      p.name === 'Super' &&
      p.subjectId === me &&
      ((p.resourceType === 'role' && p.resourceId === ROLE_IDS.Admin) ||
        (admin !== undefined && p.resourceType === 'user' && p.resourceId === userId(admin))),
  );
}

const t = (name: string, text: string) => el(name, {}, text.replace(/&/g, '&amp;').replace(/</g, '&lt;'));
type Body = Record<string, unknown>;
const textOf = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'object' && v !== null ? String((v as Body)['#text'] ?? '') : '';

/** get_users, get_permissions, create_permission; null for any other command. */
export function permissionCommand(
  standin: GvmdStandin,
  user: GvmdUser,
  command: string,
  attributes: Record<string, string>,
  body: Body,
): string | null {
  if (command === 'get_users') {
    const name = /(?:^|\s)name=("?)([^"\s]+)\1/.exec(attributes.filter ?? '')?.[2];
    const list = standin.users.filter((u) => name === undefined || u.username === name);
    return ok(
      'get_users',
      list
        .map((u) =>
          el(
            'user',
            { id: userId(u) },
            t('name', u.username) + el('role', { id: ROLE_IDS[u.role ?? 'Admin'] ?? '' }, t('name', u.role ?? 'Admin')),
          ),
        )
        .join('') + el('user_count', {}, `${list.length}${t('filtered', String(list.length))}${t('page', String(list.length))}`),
    );
  }
  if (command === 'get_permissions') {
    const list = standinPermissions(standin);
    return ok(
      'get_permissions',
      list
        .map((p) =>
          el(
            'permission',
            { id: p.id },
            t('name', p.name) +
              el('resource', { id: p.resourceId }, t('type', p.resourceType)) +
              el('subject', { id: p.subjectId }, t('type', p.subjectType)),
          ),
        )
        .join('') + el('permission_count', {}, `${list.length}${t('filtered', String(list.length))}${t('page', String(list.length))}`),
    );
  }
  if (command === 'create_permission') {
    const name = textOf(body.name);
    const subject = (body.subject ?? {}) as Body;
    const resource = (body.resource ?? {}) as Body;
    const subjectId = String(((subject['@'] ?? {}) as Body).id ?? '');
    const resourceId = String(((resource['@'] ?? {}) as Body).id ?? '');
    const resourceType = textOf(resource.type);
    if (name !== 'Super') return statusOnly(command, '400', 'Error in name');
    if (textOf(subject.type) !== 'user' || !standin.users.some((u) => userId(u) === subjectId))
      return statusOnly(command, '404', 'Failed to find subject');
    if (resourceId === '' || (resourceType !== 'role' && resourceType !== 'user')) return statusOnly(command, '400', 'Error in resource');
    if (user.role !== undefined && user.role !== 'Super Admin') return statusOnly(command, '400', 'Permission denied');
    const permission: StandinPermission = {
      id: randomUUID(),
      name,
      subjectType: 'user',
      subjectId,
      resourceType,
      resourceId,
      owner: userId(user),
    };
    standinPermissions(standin).push(permission);
    return el('create_permission_response', { status: '201', status_text: 'OK, resource created', id: permission.id });
  }
  return null;
}

/** `gvmd --delete-user`: the user goes; its permissions go to the inheritor, or are deleted (with those given to it). */
export function deleteUser(standin: GvmdStandin, name: string, inheritorName: string | undefined): string | null {
  const index = standin.users.findIndex((u) => u.username === name);
  if (index < 0) return 'Failed to find user.';
  const inheritor = inheritorName === undefined ? undefined : standin.users.find((u) => u.username === inheritorName);
  if (inheritorName !== undefined && !inheritor) return 'Inheritor not found.';
  const gone = userId(standin.users[index]!);
  const list = standinPermissions(standin);
  for (let i = list.length - 1; i >= 0; i--) {
    const p = list[i]!;
    if (p.subjectId === gone || (p.resourceType === 'user' && p.resourceId === gone)) list.splice(i, 1);
    else if (p.owner === gone) {
      if (inheritor) p.owner = userId(inheritor);
      else list.splice(i, 1);
    }
  }
  standin.users.splice(index, 1);
  return null;
}
