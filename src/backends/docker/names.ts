/** Engine names of one bottle's resources. Identities are unique, so names are too. */
export interface BottleNames {
  readonly agent: string;
  readonly bundle: string;
  readonly internalNetwork: string;
  readonly egressNetwork: string;
  readonly workspaceVolume: string;
}

export function bottleNames(identity: string): BottleNames {
  const p = `bot-bottle-${identity}`;
  return {
    agent: `${p}-agent`,
    bundle: `${p}-bundle`,
    internalNetwork: `${p}-internal`,
    egressNetwork: `${p}-egress`,
    workspaceVolume: `${p}-workspace`,
  };
}
