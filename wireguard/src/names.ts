import { check } from './validate.js';

/** Linux interface names: at most 15 characters; no leading '-' so a name is never an option. */
export function checkInterfaceName(name: string): void {
  check(
    typeof name === 'string' && /^[A-Za-z0-9_=+.][A-Za-z0-9_=+.-]{0,14}$/.test(name),
    `interface name '${name}' is not valid (1-15 of A-Z a-z 0-9 _ = + . -)`,
  );
}

export function checkNetnsName(name: string | undefined): void {
  if (name === undefined) return;
  check(
    typeof name === 'string' && /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}$/.test(name) && name !== '.' && name !== '..',
    `netns name '${name}' is not valid`,
  );
}
