// Types of scripts/provision.mjs for the TypeScript that imports it (its unit test).

export const ONNX_NODE_DIR: string;
export const PYTHON: string;

export interface Need {
  id: string;
  /** Debian/Ubuntu packages that provide it. */
  packages: string[];
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
  present: Readonly<Record<string, boolean>>;
  installAttempted?: boolean;
}

export interface Plan {
  missing: Need[];
  commands: { cmd: string; args: string[]; env: Record<string, string> }[];
  advice: string[];
}

export function provisionPlan(machine: Machine): Plan;
