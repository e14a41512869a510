// Types of scripts/provision.mjs for the TypeScript that imports it (its unit test).

export const ONNX_NODE_DIR: string;
export const PYTHON: string;
export const LAVAPIPE_DIR: string;
export const LAVAPIPE_ICD: string;
export const SWIFTSHADER_ICD: string;
export function lavapipeIcd(env?: NodeJS.ProcessEnv): string;

export interface Need {
  id: string;
  /** Debian/Ubuntu packages that provide it (none for a fetched need). */
  packages: string[];
  /** Instead of packages: a script that fetches it (on Debian 12, root or not). */
  fetch?: string;
  what: string;
  /** The tests that need it. */
  usedBy: string;
  /** What to install on a system without apt. */
  elsewhere: string;
}

export const NEEDS: readonly Need[];
export const PACKAGES: readonly string[];

export interface Machine {
  root: boolean;
  apt: boolean;
  /** Debian 12, where the fetch scripts work. */
  bookworm?: boolean;
  present: Readonly<Record<string, boolean>>;
  installAttempted?: boolean;
}

export interface Plan {
  missing: Need[];
  commands: { cmd: string; args: string[]; env: Record<string, string> }[];
  advice: string[];
}

export function provisionPlan(machine: Machine): Plan;
